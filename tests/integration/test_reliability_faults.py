"""Fault injection (orchestrator/data/faults.py): the quick suite, and the injector on its own.

The suite runs three seeded drills at a 20% fault rate (reliability/suite_faults.py); the other
tests use one real Azurite and one real PostgreSQL (a secondary region started alone) and the
real engine, with its retry policy's bounds but without its sleeps.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import BlobServiceClient, LinearRetry
from requests.adapters import HTTPAdapter

from orchestrator.cli.main import main as drctl
from orchestrator.data import faults
from orchestrator.data.connect import CONNECT_RETRY, pg_connect
from orchestrator.data.errors import map_azure_error, pg_errors
from orchestrator.data.ingest import LakeSink, PostgresSink
from orchestrator.engine.journal import Journal
from orchestrator.engine.retry import RetryPolicy
from orchestrator.engine.scheduler import Engine
from orchestrator.errors import BadInput
from orchestrator.model import Plan, Step, StepKind, StepOutcome, TransientError
from orchestrator.report.run_summary import records_from_journal, write_step_evidence
from orchestrator.targets.local.region import LocalRegionPair
from reliability import suite_faults
from reliability.leftovers import describe, processes_of
from smoke_tests.postgres import PostgresProbe, select_1

pytestmark = pytest.mark.integration


def test_the_quick_suite_recovers_every_drill_under_faults_of_every_kind_with_retries_in_the_evidence():
    workdir = Path(tempfile.mkdtemp(prefix="drctl-faults-suite-"))
    try:
        result = suite_faults.run(full=False, workdir=workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    figures = result["figures"]
    assert result["outcome"] == "passed", result["notes"]
    assert figures["drills"] == suite_faults.QUICK_DRILLS
    assert figures["recovered, validation exact"] == suite_faults.QUICK_DRILLS
    for kind in faults.KINDS:
        assert figures[f"faults injected: {kind}"] > 0, kind
    # counted from evidence/<step>.json, each checked against the journal by the suite
    assert figures["step retries"] > 0
    assert 1 < figures["attempts, most of one step"] <= RetryPolicy().max_attempts


# -- the injector, on its own --------------------------------------------------------------------

CALLS = [(f"site {n % 3}", f"call {n % 17}") for n in range(400)]


def _decisions(injector: faults.FaultInjector, calls) -> list:
    return [injector.draw(site, call) for site, call in calls]


def test_the_same_seed_injects_the_same_faults_on_the_same_calls_whatever_their_order():
    settings = faults.FaultSettings(rate=0.3, seed=11)
    first, second = faults.FaultInjector(settings), faults.FaultInjector(settings)
    assert _decisions(first, CALLS) == _decisions(second, CALLS)
    assert first.summary() == second.summary()
    assert 0 < first.summary()["injected"] < len(CALLS)
    assert set(first.summary()["by_kind"]) == set(faults.KINDS)
    # the n-th occurrence of a call meets the same fault even when other calls interleave differently
    # (copies run in parallel): decisions are per call, not drawn from one shared sequence
    shuffled = faults.FaultInjector(settings)
    by_call = {}
    for site, call in sorted(CALLS, key=lambda c: c[1]):
        by_call.setdefault(call, []).append(shuffled.draw(site, call))
    in_order = {}
    for (_site, call), kind in zip(CALLS, _decisions(faults.FaultInjector(settings), CALLS), strict=False):
        in_order.setdefault(call, []).append(kind)
    assert by_call == in_order
    other = faults.FaultInjector(faults.FaultSettings(rate=0.3, seed=12))
    assert _decisions(other, CALLS) != _decisions(faults.FaultInjector(settings), CALLS)


def test_rate_zero_injects_nothing_and_only_the_chosen_kinds_are_injected():
    none = faults.FaultInjector(faults.FaultSettings(rate=0.0, seed=1))
    assert set(_decisions(none, CALLS)) == {None}
    assert none.summary()["injected"] == 0 and none.summary()["calls"] == len(CALLS)
    resets = faults.FaultInjector(faults.FaultSettings(rate=1.0, seed=1, kinds=("reset",)))
    assert set(_decisions(resets, CALLS)) == {"reset"}


def test_off_by_default_clients_and_connections_are_left_as_they_are():
    retry, adapter = LinearRetry(), HTTPAdapter()
    assert faults.for_blob_client(retry, adapter) == (retry, adapter)
    assert faults.start(Path("/nonexistent"), {"run_id": "r"}) is None


def test_settings_round_trip_through_run_json_so_resume_injects_alike():
    settings = faults.parse_settings("0.25", 9, "throttle,reset")
    assert faults.settings_from_run(json.loads(json.dumps({"faults": settings.to_json()}))) == settings
    for bad in ({"faults": "often"}, {"faults": {"rate": 2}}, {"faults": {"rate": 0.1, "kinds": ["flood"]}},
                {"faults": {"rate": 0.1, "seed": "x"}}):
        with pytest.raises(BadInput):
            faults.settings_from_run(bad)


@pytest.mark.parametrize("args, says", [
    (["--inject-faults", "1.5"], "--inject-faults: 1.5 is outside 0..1"),
    (["--inject-faults", "-0.1"], "--inject-faults: -0.1 is outside 0..1"),
    (["--inject-faults", "often"], "--inject-faults: 'often' is not a number"),
    (["--inject-faults", "0.2", "--fault-kinds", "throttle,flood"], "--fault-kinds: unknown kind 'flood'"),
    (["--inject-faults", "0.2", "--fault-kinds", ","], "--fault-kinds: no kind given"),
    (["--fault-seed", "3"], "--fault-seed: only with --inject-faults"),
    (["--inject-faults", "0.2", "--fault-seed", "x"], "--fault-seed"),
])
def test_bad_fault_options_are_one_line_and_exit_2_with_nothing_touched(args, says, capsys, tmp_path):
    workdir = tmp_path / "drill"
    with pytest.raises(SystemExit) as exit_:
        drctl(["drill", "--local", "--workdir", str(workdir), *args])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.count("\n") == 1 and says in err and "Traceback" not in err
    assert not workdir.exists()


# -- against a real Azurite and PostgreSQL ----------------------------------------------------------

@pytest.fixture(scope="module")
def region():
    workdir = Path(tempfile.mkdtemp(prefix="drctl-faults-unit-"))  # not tmp_path: postgres runs as another user
    pair = LocalRegionPair(workdir, "faultsgeo", "faultslake")
    try:
        pair.start_secondary()
        pair.secondary_postgres.create_database("app")
        yield pair
    finally:
        pair.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    assert describe(processes_of(workdir)) == []


def _injecting(rate: float, kinds=faults.KINDS, seed: int = 5) -> faults.FaultInjector:
    return faults.FaultInjector(faults.FaultSettings(rate=rate, seed=seed, kinds=tuple(kinds)))


def test_at_rate_zero_real_calls_are_counted_and_none_fails(region):
    injector = _injecting(0.0)
    with faults.injecting(injector):
        lake = LakeSink(region.secondary_lake())
        lake.ensure_containers()
        assert lake.watermark() is None
        dsn = region.secondary_postgres.dsn("app")
        assert select_1(PostgresProbe(lambda: pg_connect(dsn, site="postgres: smoke test")))["checks"][0]["ok"]
    summary = injector.summary()
    assert summary["injected"] == 0
    assert summary["calls_by_site"]["faultslake: Create Container"] == 4
    assert summary["calls_by_site"]["postgres: smoke test"] == 1


def test_an_injected_429_reaches_drctl_as_a_transient_error_asking_its_retry_after(region):
    server = region.secondary_azurite
    injector = _injecting(1.0, ["throttle"])
    # a client without any retry: what the service answered, as the SDK raises it
    session = requests.Session()
    session.mount("http://", faults.FaultyAdapter(HTTPAdapter(), injector))
    client = BlobServiceClient(server.blob_endpoint("faultslake"),
                               credential={"account_name": "faultslake", "account_key": server.account_key("faultslake")},
                               transport=RequestsTransport(session=session, session_owner=True),
                               retry_policy=LinearRetry(retry_total=0))
    with pytest.raises(Exception) as raised:
        client.get_blob_client("raw", "x").download_blob()
    assert raised.value.status_code == 429 and raised.value.response.headers["Retry-After"] == "1"
    mapped = map_azure_error(raised.value)
    assert isinstance(mapped, TransientError) and mapped.retry_after_s == faults.RETRY_AFTER_S


def test_the_local_clients_retry_a_throttled_call_a_bounded_number_of_times(region):
    injector = _injecting(1.0, ["throttle"])
    with faults.injecting(injector):
        service = region.secondary_lake()
    with pytest.raises(Exception) as raised:
        service.get_container_client("raw").get_container_properties()
    assert raised.value.status_code == 429
    assert injector.summary()["calls"] == 4  # the call and 3 retries as Retry-After asked (data/connect.py)


def _run_failing_steps(run_dir: Path, region: LocalRegionPair) -> dict:
    """Two independent steps at rate 1: every blob request and connection fails."""
    steps = (Step("lake.deploy", "lake", StepKind.DEPLOY, (), 1.0), Step("postgres.smoke", "postgres", StepKind.SMOKE, (), 1.0))
    plan = Plan(stack="secondary", steps=steps, rto_target_s=3600, rpo_target_s=900)
    dsn = region.secondary_postgres.dsn("app")

    def runner(step, context):
        if step.component == "lake":
            LakeSink(region.secondary_lake()).ensure_containers()
        else:  # as the local target runs the smoke check: its errors become the engine's kinds
            with pg_errors("postgres smoke test"):
                select_1(PostgresProbe(lambda: pg_connect(dsn, site="postgres: smoke test")))
        return StepOutcome()

    journal = Journal.open(run_dir)
    try:
        # the SDK-retried kinds for the lake: a 429 waits its Retry-After at each call (the test above)
        injector = _injecting(1.0, ["unavailable", "timeout", "reset"])
        with faults.injecting(injector):
            Engine(plan, runner, journal, max_workers=2, retry=RetryPolicy().without_sleep()).run()
    finally:
        journal.close()
    write_step_evidence(run_dir, records_from_journal(plan, run_dir))
    return {"injector": injector, "lake": json.loads((run_dir / "evidence" / "lake.deploy.json").read_text()),
            "postgres": json.loads((run_dir / "evidence" / "postgres.smoke.json").read_text())}


def test_at_rate_one_retries_are_bounded_and_the_step_fails_with_the_error_in_its_evidence(region):
    run_dir = Path(tempfile.mkdtemp(prefix="drctl-faults-run-"))
    try:
        seen = _run_failing_steps(run_dir, region)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    bound = RetryPolicy().max_attempts
    for store in ("lake", "postgres"):
        evidence = seen[store]
        assert evidence["state"] == "failed"
        assert evidence["attempts"] == bound
        assert len(evidence["retries"]) == bound - 1
        # ours say so; a reset connection fails with libpq's own words
        for error in [evidence["error"], *(retry["error"] for retry in evidence["retries"])]:
            assert error.startswith("TransientError")
            assert "injected fault" in error or "server closed the connection unexpectedly" in error
    calls = seen["injector"].summary()["calls_by_site"]
    # per step attempt: the first Create Container and its 2 SDK retries; at most 3 connection attempts
    assert calls["faultslake: Create Container"] == bound * 3
    assert bound <= calls["postgres: smoke test"] <= bound * CONNECT_RETRY.max_attempts


def test_a_connection_reset_is_libpqs_own_error_on_the_first_statement(region):
    dsn = region.secondary_postgres.dsn("app")
    with faults.injecting(_injecting(1.0, ["reset"])), pytest.raises(TransientError) as raised:
        PostgresSink(dsn).watermark()
    assert "server closed the connection unexpectedly" in str(raised.value)
