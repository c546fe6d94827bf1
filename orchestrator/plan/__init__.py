"""The recovery and fallback plans: DAGs of steps built from the DR profiles, their order, the
estimates history gives them, and the levers when the critical path is over the RTO."""
