"""Stack leases (orchestrator/run/lease.py): one failover, drill or fallback per stack at a time.

The file lease against real processes and threads (a live holder, a dead one, one on "another
host", a race for a stale lease), the failover and fallback commands refusing a held stack before
anything is created, and end to end: two concurrent drills on one workdir, a drill killed with
SIGKILL whose lease `drctl resume` takes over, and `--break-lease`, each with its record.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from fake_pulumi import scenario as fake

from orchestrator.errors import BadInput
from orchestrator.run.lease import FileLease, LeaseHeld, StackLease, _iso
from orchestrator.run.ownership import owner_fields
from orchestrator.run.rundir import RunDir
from orchestrator.stack import load_stack
from orchestrator.targets.azure.preconditions import Preconditions

REPO = Path(__file__).resolve().parents[2]
DRCTL = [sys.executable, "-m", "orchestrator.cli"]


def holder(run_id: str, **overrides) -> dict:
    return {**owner_fields(), "user": "tester", "kind": "drill", "stack": "secondary", "run_id": run_id,
            "token": os.urandom(8).hex(), **overrides}


def dead_pid() -> tuple[int, float]:
    """The pid and start time of a process that has ended (and been reaped)."""
    import psutil

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    started = psutil.Process(proc.pid).create_time()
    proc.wait()
    return proc.pid, started


def never(*_args, **_kwargs):
    raise AssertionError("must not be called")


# -- the file lease ---------------------------------------------------------------------------------


def test_a_live_holder_keeps_its_lease_and_the_refusal_names_its_run(tmp_path):
    first = FileLease(tmp_path, "secondary")
    assert first.acquire(holder("drill-first")) is None
    with pytest.raises(LeaseHeld) as refused:
        FileLease(tmp_path, "secondary").acquire(holder("drill-second"))
    message = str(refused.value)
    assert "\n" not in message and "run drill-first" in message and "--break-lease" in message
    assert isinstance(refused.value, BadInput)  # exit 2, one line
    assert json.loads((tmp_path / "leases" / "secondary.json").read_text())["run_id"] == "drill-first"
    first.release()
    assert not (tmp_path / "leases" / "secondary.json").exists()
    assert FileLease(tmp_path, "secondary").acquire(holder("drill-second")) is None  # free again


def test_a_lease_whose_holder_process_is_gone_is_taken_over_with_a_record(tmp_path):
    pid, started = dead_pid()
    # Not expired: the pid alone says the holder is dead, on this host.
    FileLease(tmp_path, "secondary", ttl_s=3600).acquire(holder("drill-dead", pid=pid, pid_started=started))
    new = FileLease(tmp_path, "secondary")
    record = new.acquire(holder("drill-new"))
    assert record["reason"] == f"its holder process {pid} on {owner_fields()['host']} is gone"
    assert record["previous"]["run_id"] == "drill-dead" and record["by"]["run_id"] == "drill-new"
    on_disk = json.loads(new.path.read_text())
    assert on_disk["run_id"] == "drill-new" and on_disk["took_over"]["previous"]["pid"] == pid


def test_a_recycled_pid_does_not_keep_a_dead_holders_lease(tmp_path):
    me = owner_fields()
    FileLease(tmp_path, "secondary", ttl_s=3600).acquire(holder("drill-old", pid_started=me["pid_started"] - 1000))
    assert "is gone" in FileLease(tmp_path, "secondary").acquire(holder("drill-new"))["reason"]


def test_a_lease_from_another_host_holds_until_it_expires(tmp_path):
    now = [1_000_000.0]
    clock = lambda: now[0]  # noqa: E731
    FileLease(tmp_path, "secondary", ttl_s=60, clock=clock).acquire(holder("drill-far", host="another-host"))
    now[0] += 59
    with pytest.raises(LeaseHeld, match="drill-far"):
        FileLease(tmp_path, "secondary", ttl_s=60, clock=clock).acquire(holder("drill-near"))
    now[0] += 2  # past expires_at: that host stopped renewing
    record = FileLease(tmp_path, "secondary", ttl_s=60, clock=clock).acquire(holder("drill-near"))
    assert record["reason"] == f"it expired at {_iso(1_000_060.0)} and its host another-host is not this one"


def test_break_lease_takes_a_live_lease_and_its_holder_learns_it_lost_it(tmp_path):
    said: list[str] = []
    old = StackLease(tmp_path, "secondary", "drill", renew_every_s=0.05, say=said.append)
    old.acquire("drill-old")
    breaker = FileLease(tmp_path, "secondary")
    record = breaker.acquire(holder("drill-breaker"), break_lease=True)
    assert record["reason"] == "broken with --break-lease" and record["previous"]["run_id"] == "drill-old"
    deadline = time.monotonic() + 5
    while not said and time.monotonic() < deadline:
        time.sleep(0.02)
    assert said and "run drill-breaker" in said[0] and "no longer renewed" in said[0]
    assert old.lease.renew() is False
    old.release()  # must not remove the breaker's lease
    assert json.loads(breaker.path.read_text())["run_id"] == "drill-breaker"


def test_break_alone_ends_whoever_holds_the_lease(tmp_path):
    FileLease(tmp_path, "secondary").acquire(holder("drill-held"))
    broken = FileLease(tmp_path, "secondary").break_lease()
    assert broken["run_id"] == "drill-held"
    assert FileLease(tmp_path, "secondary").acquire(holder("drill-next")) is None  # nothing left to take over


def test_a_takeover_records_the_previous_holder_not_its_history(tmp_path):
    FileLease(tmp_path, "secondary").acquire(holder("drill-1"))
    FileLease(tmp_path, "secondary").acquire(holder("drill-2"), break_lease=True)
    record = FileLease(tmp_path, "secondary").acquire(holder("drill-3"), break_lease=True)
    assert record["previous"]["run_id"] == "drill-2" and "took_over" not in record["previous"]


def test_the_heartbeat_moves_expiry_forward_and_the_end_removes_the_lease(tmp_path):
    lease = StackLease(tmp_path, "secondary", "drill", ttl_s=30, renew_every_s=0.05, say=lambda line: None)
    lease.acquire()
    path = tmp_path / "leases" / "secondary.json"
    first = json.loads(path.read_text())
    assert first["run_id"] is None  # acquired before the run directory (and its id) exists
    time.sleep(0.3)
    later = json.loads(path.read_text())
    assert later["expires_at"] > first["expires_at"] and later["acquired_at"] == first["acquired_at"]
    lease.release()
    assert not path.exists()


def test_only_one_of_many_racers_takes_a_stale_lease(tmp_path):
    pid, started = dead_pid()
    FileLease(tmp_path, "secondary").acquire(holder("drill-dead", pid=pid, pid_started=started))
    barrier, results = threading.Barrier(8), []

    def race(n: int) -> None:
        barrier.wait()
        try:
            FileLease(tmp_path, "secondary").acquire(holder(f"drill-{n}"))
            results.append(("won", n))
        except LeaseHeld:
            results.append(("refused", n))

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [n for outcome, n in results if outcome == "won"]
    assert len(winners) == 1 and len(results) == 8
    assert json.loads((tmp_path / "leases" / "secondary.json").read_text())["run_id"] == f"drill-{winners[0]}"


def test_an_unreadable_lease_file_holds_for_its_ttl_then_is_taken(tmp_path):
    path = tmp_path / "leases" / "secondary.json"
    path.parent.mkdir()
    path.write_text('{"run_id": "drill-torn", "pi')
    with pytest.raises(LeaseHeld, match="unreadable lease file"):
        FileLease(tmp_path, "secondary", ttl_s=60).acquire(holder("drill-new"))
    old = time.time() - 120
    os.utime(path, (old, old))
    record = FileLease(tmp_path, "secondary", ttl_s=60).acquire(holder("drill-new"))
    assert "unreadable" in record["reason"] and record["previous"]["unreadable"].startswith('{"run_id"')


def test_each_acquisition_of_a_run_is_recorded_in_its_evidence(tmp_path):
    run_dir = tmp_path / "runs" / "secondary" / "drill-x"
    run_dir.mkdir(parents=True)
    for _ in range(2):  # the run, then its resume
        lease = StackLease(tmp_path, "secondary", "drill", say=lambda line: None)
        lease.acquire("drill-x")
        lease.bind("drill-x", run_dir)
        lease.release()
    evidence = json.loads((run_dir / RunDir.LEASE).read_text())
    assert [a["run_id"] for a in evidence["acquisitions"]] == ["drill-x", "drill-x"]
    assert all(a["took_over"] is None for a in evidence["acquisitions"])


def test_a_stack_name_that_is_a_path_cannot_name_a_lease(tmp_path):
    with pytest.raises(BadInput, match="lease"):
        FileLease(tmp_path, "../etc")


# -- the Azure commands refuse a held stack before anything is created ------------------------------


def test_a_failover_is_refused_while_another_run_holds_the_stack(tmp_path):
    from orchestrator.verbs.failover import failover_command

    FileLease(tmp_path, "secondary").acquire(holder("drill-running"))
    lease = StackLease(tmp_path, "secondary", "failover")
    with pytest.raises(LeaseHeld, match="run drill-running"):
        failover_command(load_stack(REPO, "secondary"), workdir=tmp_path, lease=lease, preflight=never,
                         data_steps=never,
                         preconditions=Preconditions(find_pulumi=lambda: fake.FAKE_BIN, check_credentials=lambda: None))
    lease.release()
    assert not (tmp_path / "runs").exists()


def test_a_fallback_is_refused_while_another_run_holds_the_stack(tmp_path, monkeypatch):
    from orchestrator.verbs.fallback import run_azure_fallback

    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000000")
    FileLease(tmp_path, "primary").acquire(holder("fallback-azure-running", stack="primary"))
    lease = StackLease(tmp_path, "primary", "fallback")
    with pytest.raises(LeaseHeld, match="run fallback-azure-running"):
        run_azure_fallback(load_stack(REPO, "primary"), load_stack(REPO, "secondary"), workdir=tmp_path, lease=lease,
                           steps_factory=never,
                         preconditions=Preconditions(find_pulumi=lambda: fake.FAKE_BIN, check_credentials=lambda: None))
    lease.release()
    assert not (tmp_path / "runs").exists()


def test_a_local_rehearsal_is_refused_while_another_run_holds_the_stack(tmp_path):
    lease = FileLease(tmp_path, "secondary")
    lease.acquire(holder("drill-running"))  # this process: alive, on this host
    refused = drctl("rehearse", "--local", "--workdir", str(tmp_path))
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "run drill-running" in refused.stderr and "--break-lease" in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leases"]  # no run, no emulator data
    assert drctl("rehearse", "--stack", "secondary", "--break-lease", "--workdir", str(tmp_path)).returncode == 2


# -- end to end: drills on one workdir -----------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRCTL_TEST_")}
    return {**env, "NO_COLOR": "1", **extra}


def drctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*DRCTL, *args], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)


@pytest.fixture
def workdir():
    # Not pytest's tmp_path: the emulators' PostgreSQL runs as another user (tests/integration/test_drill.py).
    from reliability.leftovers import cleanup_case

    path = Path(tempfile.mkdtemp(prefix="drctl-lease-")).resolve()
    yield path
    cleanup_case(path)
    shutil.rmtree(path, ignore_errors=True)


def lease_file(workdir: Path) -> dict | None:
    path = workdir / "leases" / "secondary.json"
    return json.loads(path.read_text()) if path.exists() else None


@pytest.mark.integration
def test_a_second_drill_is_refused_and_a_killed_drills_lease_is_taken_over_by_its_resume(workdir):
    err = workdir / "first.stderr"
    with open(err, "wb") as handle:
        first = subprocess.Popen([*DRCTL, "drill", "--local", "--json", "--workdir", str(workdir)], cwd=REPO,
                                 env=_env(DRCTL_TEST_PAUSE_AFTER="lake.rehydrate"), stdout=subprocess.DEVNULL,
                                 stderr=handle)
    try:
        deadline = time.monotonic() + 200
        while "paused after lake.rehydrate" not in err.read_text():
            assert first.poll() is None and time.monotonic() < deadline, err.read_text()[-2000:]
            time.sleep(0.1)
        run_dir = Path(err.read_text().splitlines()[0].removeprefix("run: "))
        held = lease_file(workdir)
        assert held["run_id"] == run_dir.name and held["pid"] == first.pid and held["kind"] == "drill"

        second = drctl("drill", "--local", "--workdir", str(workdir))
        assert second.returncode == 2, second.stderr
        assert second.stderr.count("\n") == 1 and second.stderr.startswith("drctl: stack secondary is in use")
        assert f"run {run_dir.name} (drill, pid {first.pid}" in second.stderr
        assert [p.name for p in (workdir / "runs" / "secondary").iterdir()] == [run_dir.name]  # nothing made

        twice = drctl("resume", str(run_dir))  # the same run, while it runs
        assert twice.returncode == 2 and f"run {run_dir.name}" in twice.stderr and twice.stderr.count("\n") == 1

        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert lease_file(workdir)["pid"] == first.pid  # a SIGKILL releases nothing

    resumed = drctl("resume", str(run_dir), "--json")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed.stderr.splitlines()[0] == f"run: {run_dir}"  # the takeover is said after it
    assert f"lease: took stack secondary's lease from run {run_dir.name}" in resumed.stderr
    evidence = json.loads((run_dir / RunDir.LEASE).read_text())
    drilled, resumed_with = evidence["acquisitions"]
    assert drilled["pid"] == first.pid and drilled["took_over"] is None
    assert resumed_with["kind"] == "resume" and resumed_with["run_id"] == run_dir.name
    assert resumed_with["took_over"]["reason"] == f"its holder process {first.pid} on {drilled['host']} is gone"
    assert resumed_with["took_over"]["previous"]["pid"] == first.pid
    assert lease_file(workdir) is None  # released at the end
    assert drctl("verify-evidence", str(run_dir)).returncode == 0  # lease.json is sealed with the rest


@pytest.mark.integration
def test_break_lease_takes_a_lease_this_host_cannot_judge_and_records_whose_it_was(workdir):
    # A drill on a machine that died a moment ago: its lease has not expired, and no pid here says so.
    far = FileLease(workdir, "secondary", ttl_s=3600)
    far.acquire(holder("drill-on-a-dead-vm", host="dr-vm-7", pid=4242))

    refused = drctl("drill", "--local", "--workdir", str(workdir))
    assert refused.returncode == 2 and "run drill-on-a-dead-vm (drill, pid 4242 on dr-vm-7" in refused.stderr
    assert not (workdir / "runs").exists()

    broke = drctl("drill", "--local", "--json", "--break-lease", "--workdir", str(workdir))
    assert broke.returncode == 0, broke.stderr[-3000:]
    summary = json.loads(broke.stdout)
    assert broke.stderr.splitlines()[0] == f"run: {summary['run_dir']}"
    assert "broken with --break-lease" in broke.stderr
    record = json.loads((Path(summary["run_dir"]) / RunDir.LEASE).read_text())["acquisitions"][0]["took_over"]
    assert record["reason"] == "broken with --break-lease"
    assert record["previous"]["run_id"] == "drill-on-a-dead-vm" and record["previous"]["host"] == "dr-vm-7"
    assert record["by"]["run_id"] == summary["run_id"]
    assert far.renew() is False  # the old holder, were it alive, would see it lost the lease
    assert lease_file(workdir) is None
