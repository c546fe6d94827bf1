"""Cosmos DB in the local drill, on real Cosmos DB servers (@vercel/cosmosdb-server, run by drctl's launcher):
the account's write region and its read region in the paired region, the read region replicated up to the
disaster but for the newest writes, then the service-managed failover, validation, replay and smoke.

- The reference drill straight through, as a user runs it (`drctl drill --local --stack reference`), and a
  resume of it refused (the server keeps its documents in memory), which stops what a killed drill left.
- The store's steps on a staged account (orchestrator/targets/local/stores/cosmos.py): the read region
  refuses writes until the failover, a document lost from it fails validation naming the container, and
  the replay brings back what the replication had not carried.

Skipped where the server (or node) is not installed. Workdirs come from tempfile.mkdtemp, not pytest's
tmp_path: the drill's PostgreSQL runs as another user, and every pytest session resets
/tmp/pytest-of-<user> to 0700.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from orchestrator.model import PermanentError
from orchestrator.stack import load_stack
from orchestrator.targets.local.cosmos import cosmos_spec
from orchestrator.targets.local.cosmos_prelude import MANIFEST, NOT_CARRIED, stage_cosmos
from orchestrator.targets.local.prelude import BATCH_INTERVAL_S, DrillData
from orchestrator.targets.local.region import LocalRegionPair
from orchestrator.targets.local.runner import LocalTarget
from orchestrator.targets.local.servers.cosmos import KEY, TOKEN, package_dir
from reliability.leftovers import cleanup_case, describe, processes_of
from smoke_tests.check import Target

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(package_dir() is None, reason="the Cosmos DB local server is not installed")]

REPO = Path(__file__).resolve().parents[2]
DRCTL = [sys.executable, "-m", "orchestrator.cli"]
PAUSE_ENV = "DRCTL_TEST_PAUSE_AFTER"
BATCHES = 9  # as many as the drill's prelude ingests
WHERE = "platform/events"


def run_drctl(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*DRCTL, *args], cwd=REPO, env=env or _env(), capture_output=True, text=True,
                          timeout=timeout)


def _env(pause_after: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != PAUSE_ENV}
    env["NO_COLOR"] = "1"
    if pause_after:
        env[PAUSE_ENV] = pause_after
    return env


def evidence(run_dir: Path, step: str) -> dict:
    return json.loads((run_dir / "evidence" / f"{step}.json").read_text())


# -- the reference drill ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_drill() -> Iterator[dict]:
    workdir = Path(tempfile.mkdtemp(prefix="drctl-cosmos-")).resolve()
    try:
        # --keep-data: the servers' certificates and tokens stay for the permission checks below.
        result = run_drctl("drill", "--local", "--stack", "reference", "--json", "--keep-data",
                           "--workdir", str(workdir))
        yield {"workdir": workdir, "result": result, "left_running": describe(processes_of(workdir))}
    finally:
        cleanup_case(workdir)


def test_the_reference_drill_recovers_cosmos_db_with_its_checks_passed(reference_drill):
    result = reference_drill["result"]
    assert result.returncode == 0, result.stderr[-4000:]
    summary = json.loads(result.stdout)
    components = {c["name"]: c for c in summary["components"]}
    assert components["cosmos_db"] == {"name": "cosmos_db", "stateful": True, "exercised": True,
                                       "status": "recovered", "smoke": "passed", "validation": "exact"}
    assert summary["rpo_s_after_replay"] == 0  # every recovered store replayed, Cosmos DB's failover among them
    exercised = {name for name, c in components.items() if c["status"] != "not_exercised"}
    assert {"lake", "postgres", "cosmos_db"} <= exercised and summary["components_exercised"] == len(exercised)

    run_dir = Path(summary["run_dir"])
    baseline = json.loads((run_dir / "manifests" / MANIFEST).read_text())
    replicated = baseline["replication"]
    assert replicated["not_replicated"] == NOT_CARRIED
    assert baseline["checks"]["document-count"]["containers"] == {WHERE: replicated["replicated"]}

    failover = evidence(run_dir, "cosmos_db.deploy")["evidence"]
    assert failover["primary_region_answering"] is False
    assert failover["write_before_failover"].startswith("refused: HTTP 403")
    assert failover["write_after_failover"] == "accepted"
    assert failover["priorities_after"] == {"australiasoutheast": 0, "australiaeast": 1}
    # The database and container are found on the local server; the account, its private endpoint, its
    # diagnostic setting and the runner's data-plane role have no local counterpart (listed, not found).
    assert {g["graph"]["type"].rsplit(":", 1)[-1]: g.get("found") for g in failover["graph"]} == {
        "DatabaseAccount": None, "SqlResourceSqlDatabase": True, "SqlResourceSqlContainer": True,
        "PrivateEndpoint": None, "PrivateDnsZoneGroup": None, "SqlResourceSqlRoleAssignment": None,
        "DiagnosticSetting": None}

    validate = evidence(run_dir, "cosmos_db.validate")["evidence"]
    assert validate["exact"] is True and validate["mismatches"] == []
    assert validate["checks"]["document-count"] == {"counts": {WHERE: replicated["replicated"]},
                                                    "judged_against": "baseline"}
    assert validate["checks"]["max-ts-watermark"]["max_ts"] == baseline["checks"]["max-ts-watermark"]["containers"]

    replay = evidence(run_dir, "cosmos_db.replay")
    assert replay["outputs"]["batches_replayed"] == 1 and replay["outputs"]["rpo_after_replay_s"] == 0
    assert replay["outputs"]["rpo_before_replay_s"] == BATCH_INTERVAL_S  # the batch replicated in part

    smoke = evidence(run_dir, "cosmos_db.smoke")["evidence"]["data_plane"]
    assert set(smoke) == {"account-read", "canary-upsert-read"}
    assert smoke["account-read"]["writable_regions"] == ["australiasoutheast"]
    assert smoke["canary-upsert-read"]["read_back"] is True and smoke["canary-upsert-read"]["deleted"] is True


def test_the_drill_leaves_no_server_running_and_keeps_its_tls_key_and_token_private(reference_drill):
    assert reference_drill["left_running"] == []
    summary = json.loads(reference_drill["result"].stdout)
    local_dir = Path(json.loads((Path(summary["run_dir"]) / "run.json").read_text())["local_dir"])
    for region in ("primary", "secondary"):
        for name in (KEY, TOKEN):
            assert stat.S_IMODE((local_dir / region / "cosmos" / name).stat().st_mode) == 0o600, (region, name)
    token = (local_dir / "secondary" / "cosmos" / TOKEN).read_text().strip()
    written = [reference_drill["result"].stdout, reference_drill["result"].stderr]
    written += [p.read_text() for p in Path(summary["run_dir"]).rglob("*") if p.is_file()]
    written += [p.read_text(errors="replace") for p in local_dir.rglob("*.log")]
    assert not [text for text in written if token in text]


def _paused_reference_drill(workdir: Path, step: str) -> tuple[subprocess.Popen, Path]:
    err = workdir / "drctl.stderr"
    with open(err, "wb") as stderr:
        proc = subprocess.Popen([*DRCTL, "drill", "--local", "--stack", "reference", "--json", "--workdir",
                                 str(workdir)], cwd=REPO, env=_env(step), stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + 240
    while f"paused after {step}" not in err.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the drill did not pause after {step}:\n{err.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    run_line = next(line for line in err.read_text().splitlines() if line.startswith("run: "))
    return proc, Path(run_line.removeprefix("run: "))


def test_a_killed_reference_drill_is_not_resumed_and_its_servers_are_stopped():
    workdir = Path(tempfile.mkdtemp(prefix="drctl-cosmos-resume-")).resolve()
    try:
        proc, run_dir = _paused_reference_drill(workdir, "cosmos_db.deploy")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        orphans = [p for p in processes_of(workdir) if "cosmos" in " ".join(p.cmdline())]
        assert orphans, "the killed drill left its Cosmos DB read region running"

        result = run_drctl("resume", str(run_dir), "--workdir", str(workdir))
        assert result.returncode == 2, result.stderr[-3000:]
        assert "a drill with Cosmos DB is not resumed after its prelude" in result.stderr
        assert "server(s) it left running were stopped" in result.stderr
        psutil.wait_procs(orphans, timeout=10)
        assert describe(processes_of(workdir)) == []
    finally:
        cleanup_case(workdir)


# -- the store's steps on a staged account -----------------------------------------------------------


@pytest.fixture(scope="module")
def reference_stacks():
    secondary, primary = load_stack(REPO, "reference-secondary"), load_stack(REPO, "reference")
    return secondary, primary, cosmos_spec(secondary, primary)


@pytest.fixture
def staged(reference_stacks) -> Iterator[dict]:
    """The account staged as the prelude stages it, the primary region stopped: the store to run."""
    secondary, _, spec = reference_stacks
    workdir = Path(tempfile.mkdtemp(prefix="drctl-cosmos-store-")).resolve()
    pair = LocalRegionPair(workdir / "local", cosmos=spec)
    run_dir = workdir / "run"
    run_dir.mkdir()
    data = DrillData(local_dir=workdir / "local", database="platform", scale=1)
    try:
        source = data.source()
        source.produce(BATCHES)
        manifest = stage_cosmos(pair, source, run_dir, lambda line: None)
        pair.stop_primary(abrupt=True)  # the disaster
        target = LocalTarget(pair, data, run_dir, secondary.profiles_by_key, secondary.recovery_plan, secondary.graph)
        checks = [c for c in secondary.profiles_by_key["cosmos_db"].data_checks if c.runs_on_target(Target.LOCAL)]
        yield {"store": target.stores["cosmos_db"], "pair": pair, "spec": spec, "manifest": manifest,
               "checks": checks, "source": source}
    finally:
        pair.stop()
        cleanup_case(workdir)


def test_the_read_region_takes_writes_only_after_the_failover(staged):
    from azure.core.exceptions import HttpResponseError

    account, spec = staged["pair"].cosmos, staged["spec"]
    client_side = account.container(account.replica)
    with pytest.raises(HttpResponseError) as refused:
        client_side.upsert_item({"id": "early", "deviceId": "early"})
    assert refused.value.status_code == 403
    outcome = staged["store"].deploy()
    assert account.write_region() == spec.read_region
    assert outcome.outputs["watermark"] == BATCHES - 2  # the newest batch reached the read region only in part
    client_side.upsert_item({"id": "after", "deviceId": "after"})
    client_side.delete_item("after", partition_key="after")


def test_a_document_lost_from_the_read_region_fails_validation_naming_the_container(staged):
    store, account = staged["store"], staged["pair"].cosmos
    store.deploy()
    store.validate(staged["checks"])  # whole: passes
    container = account.container(account.replica)
    container.delete_item("dev-0001.b000002", partition_key="dev-0001")  # a device of every dataset, small too
    with pytest.raises(PermanentError) as failed:
        store.validate(staged["checks"])
    assert f"document-count: {WHERE} holds" in str(failed.value) and "(1 missing)" in str(failed.value)
    assert failed.value.evidence is not None and failed.value.evidence["exact"] is False


def test_the_replay_brings_back_what_the_replication_had_not_carried(staged):
    store, account, manifest = staged["store"], staged["pair"].cosmos, staged["manifest"]
    outcome = store.deploy()
    store.validate(staged["checks"])
    replayed = store.replay(outcome.outputs["watermark"])
    assert replayed.evidence["batches_replayed"] == [BATCHES - 1] and replayed.outputs["rpo_after_replay_s"] == 0
    assert account.facts(account.replica)["count"] == manifest["replication"]["documents_written"]

