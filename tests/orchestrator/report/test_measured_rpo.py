"""The run's measured RPO (orchestrator/report/run_summary.py): the worst exercised store's, and after
replay only once every store whose recovery was exercised has replayed, whether its data came back by a
rehydrate step or by a failover in its deploy step (Cosmos DB)."""

from __future__ import annotations

from orchestrator.model import StepKind
from orchestrator.report.handover import StepRecord
from orchestrator.report.run_summary import measured_rpo


def record(component: str, kind: StepKind, outputs: dict | None = None, state: str = "succeeded") -> StepRecord:
    return StepRecord(id=f"{component}.{kind}", component=component, kind=kind, state=state, outputs=outputs or {})


def replay(component: str, before: float, after: float, state: str = "succeeded") -> StepRecord:
    return record(component, StepKind.REPLAY, {"rpo_before_replay_s": before, "rpo_after_replay_s": after}, state)


RECOVERED_BY_FAILOVER = {"watermark": 7, "recovered_data_timestamp": "2026-01-01T02:00:00.000Z"}


def test_a_failover_store_replayed_with_the_rehydrated_ones_completes_the_after_replay_rpo():
    records = [record("lake", StepKind.REHYDRATE), replay("lake", 2700.0, 0.0),
               record("cosmos_db", StepKind.DEPLOY, RECOVERED_BY_FAILOVER), replay("cosmos_db", 900.0, 0.0)]
    assert measured_rpo(records) == {"rpo_s_before_replay": 2700.0, "rpo_s_after_replay": 0.0}


def test_a_failover_store_whose_replay_did_not_succeed_leaves_the_after_replay_rpo_unknown():
    records = [record("lake", StepKind.REHYDRATE), replay("lake", 2700.0, 0.0),
               record("cosmos_db", StepKind.DEPLOY, RECOVERED_BY_FAILOVER), replay("cosmos_db", 900.0, 0.0, "failed")]
    assert measured_rpo(records)["rpo_s_after_replay"] is None


def test_a_rehydrated_store_not_replayed_leaves_it_unknown_and_a_plain_deploy_is_no_recovery():
    records = [record("lake", StepKind.REHYDRATE), replay("lake", 2700.0, 0.0),
               record("postgres", StepKind.REHYDRATE), record("foundation", StepKind.DEPLOY, {"id": "x"})]
    assert measured_rpo(records) == {"rpo_s_before_replay": 2700.0, "rpo_s_after_replay": None}
    assert measured_rpo(records[:2] + records[3:])["rpo_s_after_replay"] == 0.0
