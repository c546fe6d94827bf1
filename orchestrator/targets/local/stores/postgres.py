"""PostgreSQL on the local region pair's embedded server: deploy (a new server, after the disaster),
restore the newest good base backup and replay the WAL archive to the recovery point (as Azure's
GeoRestore does: orchestrator/data/postgres/physical.py), validate against the source's batches up to the
point reached, replay the rest, and the probe its checks run against."""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from orchestrator.data.connect import pg_connect
from orchestrator.data.errors import pg_errors
from orchestrator.data.ingest import PostgresSink
from orchestrator.data.manifest import validated
from orchestrator.data.postgres.expected import validate_restored_point
from orchestrator.data.postgres.physical import recover_to_point
from orchestrator.data.replay import replay
from orchestrator.data.source import iso
from orchestrator.model import PermanentError, StepOutcome
from orchestrator.run.rundir import RunDir
from orchestrator.targets.local.deploy import deploy_postgres
from orchestrator.targets.local.region import LocalRegionPair
from orchestrator.targets.local.stores.run import LocalRun
from smoke_tests.check import Check
from smoke_tests.postgres import PostgresProbe

# where the restore got, in the rehydrate step's outputs (the report's PostgreSQL figures)
RESTORED = ("recovery_point", "recovery_target", "restored_lsn", "restored_batch", "restored_batch_data_end")


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
        choice, evidence = recover_to_point(self.pair.secondary_postgres, self.pair.backup_dir,
                                            lambda check: self.run.choose("postgres", check), self.run.recovery_point)
        # what the deploy step declares, again: the restored server holds the primary's databases and roles
        redeployed = self.deploy()
        watermark = PostgresSink(self.dsn()).watermark()
        last_commit = evidence.pop("last_commit_at")
        restored = {key: evidence.pop(key) for key in RESTORED}
        restored.update({"last_recovered_commit_at": iso(last_commit) if last_commit else None,
                         # RPO before replay on the wall clock: what the archive had not received at the disaster
                         "archive_lag_s": self._archive_lag_s(last_commit)})
        return StepOutcome(outputs={**self.run.recovered_to(watermark), **choice.outputs(), **restored},
                           evidence={**evidence, **choice.evidence(), **restored,
                                     "redeployed": redeployed.evidence.get("created")})

    def _archive_lag_s(self, last_commit: datetime | None) -> float | None:
        try:
            disaster = float(json.loads(RunDir(self.run.run_dir).prelude_json.read_text())["disaster_epoch_s"])
        except (OSError, ValueError, KeyError):
            return None
        return None if last_commit is None else round(max(0.0, disaster - last_commit.timestamp()), 3)

    def validate(self, checks: Sequence[Check]) -> StepOutcome:
        recovered: dict[str, Any] = getattr(self.run.current, "recovered", {}) or {}
        if "restored_lsn" not in recovered:
            raise PermanentError("postgres validation: the rehydrate step's outputs name no restored LSN")
        result = validate_restored_point(self.pair.secondary_postgres, self.database, self.run.source,
                                         recovered.get("restored_batch"), checks)
        return validated({**result.to_evidence(), "expected_from": "the source's batches 0.."
                          f"{recovered.get('restored_batch')}, ingested into a reference database"})

    def replay(self, recovered: int | None) -> StepOutcome:
        return self.run.replayed(replay(PostgresSink(self.dsn()), self.run.source), recovered)
