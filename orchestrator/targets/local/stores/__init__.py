"""The stores the local region pair really runs, one module per service stem: the lake on Azurite,
PostgreSQL on embedded PostgreSQL, Data Factory's pipelines on the local pipeline runner. A component
with no store here is declared, not exercised locally."""
