"""PostgreSQL on the local region pair's embedded server: deploy (a new server, after the disaster),
restore the verified dump, validate, replay, and the probe its checks run against."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

from orchestrator.data.backup_catalog import postgres_check
from orchestrator.data.connect import pg_connect
from orchestrator.data.errors import pg_errors
from orchestrator.data.ingest import PostgresSink
from orchestrator.data.manifest import validated
from orchestrator.data.pg_recovery import restore_postgres, validate_postgres
from orchestrator.data.replay import replay
from orchestrator.model import StepOutcome
from orchestrator.targets.local.deploy import deploy_postgres
from orchestrator.targets.local.region import LocalRegionPair
from orchestrator.targets.local.stores.run import LocalRun
from smoke_tests.check import Check
from smoke_tests.postgres import PostgresProbe


def dsn(pair: LocalRegionPair, database: str, region: str) -> str:
    server = pair.secondary_postgres if region == "secondary" else pair.primary_postgres
    return server.dsn(database)


def probe(pair: LocalRegionPair, database: str, region: str) -> PostgresProbe:
    """What PostgreSQL's checks run against: the region's server, connected as every step connects."""
    target = dsn(pair, database, region)
    return PostgresProbe(lambda: pg_connect(target, site="postgres: smoke test"))


def errors(what: str) -> AbstractContextManager[None]:
    return pg_errors(f"postgres {what}")


class PostgresStore:
    def __init__(self, run: LocalRun) -> None:
        self.run, self.pair, self.database = run, run.pair, run.data.database

    def dsn(self) -> str:
        return dsn(self.pair, self.database, "secondary")

    def probe(self) -> PostgresProbe:
        return probe(self.pair, self.database, "secondary")

    errors = staticmethod(errors)

    def deploy(self) -> StepOutcome:
        """A new server with the graph's databases and roles (targets/local/deploy.py); on Azure this
        step is the GeoRestore create of the server."""
        return deploy_postgres(self.pair, self.run.declared.postgres, self.database)

    def rehydrate(self) -> StepOutcome:
        choice = self.run.choose("postgres", postgres_check)  # each dump's size and sha256, newest first
        evidence = restore_postgres(self.pair.secondary_postgres, choice.manifest)
        watermark = PostgresSink(self.dsn()).watermark()
        return StepOutcome(outputs={**self.run.recovered_to(watermark), **choice.outputs()},
                           evidence={**evidence, **choice.evidence()})

    def validate(self, checks: Sequence[Check]) -> StepOutcome:
        manifest = self.run.restored_manifest(f"postgres-{self.database}.json")
        return validated(validate_postgres(self.dsn(), manifest, checks).to_evidence())

    def replay(self, recovered: int | None) -> StepOutcome:
        return self.run.replayed(replay(PostgresSink(self.dsn()), self.run.source), recovered)
