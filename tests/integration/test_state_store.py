"""Run state off the executor's machine (--state-url), against a real Azurite.

Unit tests drive RunStateStore, the lease and the resume against one Azurite holding the state
container: journal appends conditioned on ETag and append position, a lease that refuses a
second executor, lapses when its holder dies (a SIGKILLed process) and is broken on request with a
record in the evidence. The integration test kills a drill mid-failover and resumes it from a
second, empty working folder through the container only.

Folders come from tempfile.mkdtemp (see tests/integration/test_drill.py for why).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from orchestrator.engine.journal import Journal
from orchestrator.errors import BadInput
from orchestrator.run.remote.lease import LeaseHeld, StateConflict
from orchestrator.run.remote.resume import open_for_resume, resume_into
from orchestrator.run.remote.store import EVIDENCE_KEY, RunStateStore
from orchestrator.run.remote.url import KEY_ENV, parse_state_url
from orchestrator.run.rundir import RunDir
from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key
from reliability.leftovers import cleanup_case, describe, processes_of
from tests.integration.test_drill import (
    PAUSE_STEP,
    check_journal_recovered,
    check_recovered_summary,
    journal,
    succeeded,
)

REPO = Path(__file__).resolve().parents[2]
DRCTL = [sys.executable, "-m", "orchestrator.cli"]
ACCOUNT = "drstate"
LEASE_S = 15  # Azure's shortest lease, so the expiry test waits as little as it can


@pytest.fixture(scope="module")
def azurite():
    folder = Path(tempfile.mkdtemp(prefix="drctl-state-az-"))
    key = generate_account_key()
    server = AzuriteServer(folder, {ACCOUNT: key}).start()
    try:
        yield server, key
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def state(azurite, monkeypatch):
    """(url of a fresh container, key); the key is in the environment as drctl expects it."""
    server, key = azurite
    monkeypatch.setenv(KEY_ENV, key)
    name = f"runs{time.monotonic_ns() % 10**12}"
    return f"http://127.0.0.1:{server.port}/{ACCOUNT}/{name}", key


@pytest.fixture
def folders():
    made = []

    def make() -> Path:
        made.append(Path(tempfile.mkdtemp(prefix="drctl-state-wd-")).resolve())
        return made[-1]

    yield make
    for path in made:
        cleanup_case(path)


def new_run(workdir: Path, run_id: str = "drill-20250101T000000Z-abc123") -> tuple[Path, dict]:
    run_dir = workdir / "runs" / "secondary" / run_id
    (run_dir / "evidence").mkdir(parents=True)
    run = {"run_id": run_id, "kind": "drill-local", "stack": "secondary"}
    (run_dir / "run.json").write_text(json.dumps(run))
    return run_dir, run


def blobs(url: str, key: str) -> dict[str, bytes]:
    location = parse_state_url(url)
    service = BlobServiceClient(location.account_url, credential={"account_name": ACCOUNT, "account_key": key})
    container = service.get_container_client(location.container)
    return {b.name: container.get_blob_client(b.name).download_blob().readall() for b in container.list_blobs()}


def acquired(path: Path) -> list[dict]:
    """The state lease's acquisitions recorded in a run's lease evidence."""
    return json.loads(path.read_text())[EVIDENCE_KEY]["acquisitions"]


def lines(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines()]


# -- the URL ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url, says", [
    ("ftp://127.0.0.1:1/acct/runs", "scheme"),
    ("http://10.0.0.5:10000/acct/runs", "127.0.0.1"),
    ("http://127.0.0.1/acct/runs", "127.0.0.1:<port>"),
    ("http://127.0.0.1:10000/acct", "<account>/<container>"),
    ("http://127.0.0.1:10000/Bad_Account/runs", "storage account name"),
    ("http://127.0.0.1:10000/acct/Runs", "container name"),
    ("https://example.com/runs", "blob.core.windows.net"),
    ("https://acct.blob.core.windows.net/", "one path segment"),
    ("https://acct.blob.core.windows.net/runs?sv=2024&sig=SECRETSIGNATURE", "no query string"),
    ("http://user:hunter22@127.0.0.1:1/acct/runs", "no query string"),
    ("http://127.0.0.1:notaport/acct/runs", "not a URL"),
])
def test_a_bad_state_url_is_one_line_that_never_echoes_a_secret(url, says):
    with pytest.raises(BadInput) as raised:
        parse_state_url(url)
    message = str(raised.value)
    assert says in message and "\n" not in message
    assert "SECRETSIGNATURE" not in message and "hunter22" not in message


def test_the_two_url_forms():
    azure = parse_state_url("https://drstate.blob.core.windows.net/runs")
    assert (azure.account, azure.container, azure.local) == ("drstate", "runs", False)
    local = parse_state_url("http://127.0.0.1:10000/drstate/runs/")
    assert (local.account_url, local.container, local.local) == ("http://127.0.0.1:10000/drstate", "runs", True)


def test_drctl_with_a_bad_state_url_or_no_key_exits_2_with_one_line(folders, azurite):
    workdir = folders()
    server, _ = azurite
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    cases = [
        (["drill", "--local", "--state-url", "http://192.168.1.1:1/acct/runs"], "plain http only to 127.0.0.1"),
        (["resume", "drill-x", "--state-url", "ftp://nowhere/a/b"], "the scheme must be"),
        # a good URL, but the key is not in the environment
        (["resume", "drill-x", "--state-url", f"http://127.0.0.1:{server.port}/{ACCOUNT}/runs"],
         f"{KEY_ENV} is not set"),
    ]
    for args, says in cases:
        result = subprocess.run([*DRCTL, *args, "--workdir", str(workdir)], cwd=REPO, env=env, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr
    assert list(workdir.iterdir()) == [], "bad input touched the working folder"


def test_a_wrong_key_is_one_line(state, monkeypatch):
    url, _ = state
    monkeypatch.setenv(KEY_ENV, generate_account_key())
    with pytest.raises(BadInput, match="refused the credential"):
        RunStateStore.connect(url)


# -- the journal: ETag and append position --------------------------------------------------------


def test_the_journal_is_mirrored_line_by_line_and_files_when_they_change(state, folders):
    url, key = state
    run_dir, run = new_run(folders())
    store = RunStateStore.connect(url, lease_s=LEASE_S)
    store.start_run(run_dir, run)
    try:
        with Journal.open(run_dir, mirror=store.journal_mirror) as journal:
            journal.append("run_started", plan=None)
            (run_dir / "evidence" / "a.json").write_text("{}")
            journal.append("step_succeeded", step="a")  # a step's end also sends the files it wrote
        prefix = "secondary/" + run["run_id"]
        held = blobs(url, key)
        assert held[f"{prefix}/{RunDir.JOURNAL}"] == (run_dir / RunDir.JOURNAL).read_bytes()
        assert held[f"{prefix}/evidence/a.json"] == b"{}"
        assert held[f"{prefix}/run.json"] == (run_dir / "run.json").read_bytes()
        assert json.loads(held[f"{prefix}/lease"])["pid"] == os.getpid()
    finally:
        store.close()
    released = json.loads(blobs(url, key)[f"secondary/{run['run_id']}/lease"])
    assert "released_at" in released


def test_a_writer_with_a_stale_view_of_the_journal_is_refused(state, folders):
    url, key = state
    run_dir, run = new_run(folders())
    first = RunStateStore.connect(url, lease_s=LEASE_S)
    first.start_run(run_dir, run)
    try:
        first.journal_mirror(b'{"seq":1,"event":"run_started"}\n')
        # A second writer that read the blob at the same point (its ETag and length) ...
        second = RunStateStore.connect(url, lease_s=LEASE_S)
        second.bind(run_dir, "secondary", run["run_id"], run_dir.parents[2])
        second._etag, second._length, second._token = first._etag, first._length, first._token
        first.journal_mirror(b'{"seq":2,"event":"step_started","step":"a"}\n')
        # ... appends after the first one did: refused, and nothing of it lands.
        with pytest.raises(StateConflict, match="another executor"):
            second.journal_mirror(b'{"seq":2,"event":"step_started","step":"b"}\n')
        held = lines(blobs(url, key)[f"secondary/{run['run_id']}/{RunDir.JOURNAL}"])
        assert [r.get("step") for r in held] == [None, "a"]
    finally:
        first.close()


# -- the lease -------------------------------------------------------------------------------------


def test_the_lease_blocks_a_second_executor_naming_the_holder(state, folders):
    url, _ = state
    run_dir, run = new_run(folders())
    first = RunStateStore.connect(url, lease_s=LEASE_S)
    first.start_run(run_dir, run)
    try:
        elsewhere = folders()
        with pytest.raises(LeaseHeld) as raised:
            open_for_resume(run["run_id"], elsewhere, url)
        message = str(raised.value)
        assert run["run_id"] in message and f"pid {os.getpid()}" in message and str(run_dir.parents[2]) in message
        assert "--break-lease" in message and "\n" not in message
        assert list(elsewhere.iterdir()) == [], "a refused executor downloaded or wrote something"
    finally:
        first.close()


HOLDER = """
import json, sys, time
from pathlib import Path
from orchestrator.engine.journal import Journal
from orchestrator.run.remote.store import RunStateStore
run_dir = Path(sys.argv[2])
store = RunStateStore.connect(sys.argv[1], lease_s=15)
store.start_run(run_dir, json.loads((run_dir / "run.json").read_text()))
Journal.open(run_dir, mirror=store.journal_mirror).append("run_started", plan=None)
print("holding", flush=True)
time.sleep(600)
"""


def killed_holder(url: str, run_dir: Path) -> int:
    """A process that takes the run and is SIGKILLed while holding it: no release, no last word."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, url, str(run_dir)], cwd=REPO, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "holding"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    return proc.pid


def test_a_dead_holders_lease_lapses_and_another_executor_takes_over(state, folders):
    url, _key = state
    run_dir, run = new_run(folders())
    dead = killed_holder(url, run_dir)
    second = RunStateStore.connect(url, lease_s=LEASE_S)
    with pytest.raises(LeaseHeld, match=f"pid {dead}"):  # not yet: its lease has not lapsed
        resume_into(second, folders() / "runs" / "secondary" / run["run_id"], "secondary", run["run_id"],
                    run_dir.parents[2], break_lease=False)
    time.sleep(LEASE_S + 1)
    workdir = folders()
    run_dir_2, store = open_for_resume(run["run_id"], workdir, url)
    try:
        assert run_dir_2 == workdir / "runs" / "secondary" / run["run_id"]
        assert (run_dir_2 / RunDir.JOURNAL).read_bytes() == (run_dir / RunDir.JOURNAL).read_bytes()
        acquisitions = acquired(run_dir_2 / RunDir.LEASE)
        assert [a["how"] for a in acquisitions] == ["new", "expired"]
        assert acquisitions[0]["took_over"] is None and acquisitions[0]["pid"] == dead
        took_over = acquisitions[-1]["took_over"]
        assert took_over["previous"]["pid"] == dead and "expired" in took_over["reason"]
        assert acquisitions[-1]["workdir"] == str(workdir) and took_over["by"]["pid"] == os.getpid()
    finally:
        store.close()


def test_break_lease_takes_over_at_once_records_it_and_fences_the_old_writer(state, folders):
    url, key = state
    run_dir, run = new_run(folders())
    first = RunStateStore.connect(url, lease_s=LEASE_S)
    first.start_run(run_dir, run)
    first.journal_mirror(b'{"seq":1,"event":"run_started"}\n')
    workdir = folders()
    run_dir_2, second = open_for_resume(run["run_id"], workdir, url, break_lease=True)
    try:
        second.journal_mirror(b'{"seq":2,"event":"run_resumed"}\n')
        # The executor that was taken over is refused on its next journal line and file upload.
        with pytest.raises(StateConflict):
            first.journal_mirror(b'{"seq":2,"event":"step_started","step":"late"}\n')
        with pytest.raises(StateConflict):
            first.sync()
        held = blobs(url, key)
        prefix = f"secondary/{run['run_id']}"
        assert [r["event"] for r in lines(held[f"{prefix}/{RunDir.JOURNAL}"])] == ["run_started", "run_resumed"]
        record = json.loads(held[f"{prefix}/{RunDir.LEASE}"])[EVIDENCE_KEY]["acquisitions"][-1]
        assert record["how"] == "broken" and record["took_over"]["reason"] == "broken with --break-lease"
        assert record["took_over"]["previous"]["workdir"] == str(run_dir.parents[2])
        assert acquired(run_dir_2 / RunDir.LEASE)[-1] == record
    finally:
        second.close()
        first.close()


def test_the_same_machine_sends_what_the_container_lacks_and_a_diverged_journal_is_refused(state, folders):
    url, key = state
    workdir = folders()
    run_dir, run = new_run(workdir)
    first = RunStateStore.connect(url, lease_s=LEASE_S)
    first.start_run(run_dir, run)
    with Journal.open(run_dir, mirror=first.journal_mirror) as journal:
        journal.append("run_started", plan=None)
    first.close()
    with Journal.open(run_dir) as journal:  # fsynced here, never sent: the machine died in between
        journal.append("run_interrupted")
    (run_dir / RunDir.JOURNAL).open("ab").write(b'{"seq":3,"ev')  # and a torn line, which is not history
    _run_dir_2, store = open_for_resume(str(run_dir), workdir, url)
    store.close()
    held = blobs(url, key)[f"secondary/{run['run_id']}/{RunDir.JOURNAL}"]
    assert [r["event"] for r in lines(held)] == ["run_started", "run_interrupted"]

    elsewhere = folders()
    other_dir, other = open_for_resume(run["run_id"], elsewhere, url)
    with Journal.open(other_dir, mirror=other.journal_mirror) as journal:
        journal.append("run_resumed")
    other.close()
    with Journal.open(run_dir) as journal:  # meanwhile the first machine wrote something else
        journal.append("step_started", step="x")
    with pytest.raises(StateConflict, match="disagree from line 3"):
        open_for_resume(str(run_dir), workdir, url)


# -- a drill killed mid-failover, resumed from another working folder ------------------------------


@pytest.mark.integration
def test_a_drill_killed_mid_run_is_resumed_from_another_working_folder_through_the_container(state, folders):
    url, key = state
    first, second = folders(), folders()
    env = {**{k: v for k, v in os.environ.items() if k != "DRCTL_TEST_PAUSE_AFTER"}, "NO_COLOR": "1", KEY_ENV: key}
    err_path = first / "drctl.stderr"
    with open(first / "drctl.stdout", "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen([*DRCTL, "drill", "--local", "--json", "--workdir", str(first), "--state-url", url],
                                cwd=REPO, env={**env, "DRCTL_TEST_PAUSE_AFTER": PAUSE_STEP}, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 150
        while f"paused after {PAUSE_STEP}" not in err_path.read_text(errors="replace"):
            assert proc.poll() is None, err_path.read_text()[-3000:]
            assert time.monotonic() < deadline, err_path.read_text()[-3000:]
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    run_dir_1 = Path(err_path.read_text().splitlines()[0].removeprefix("run: "))
    run_id = run_dir_1.name
    # The emulators' keys sign the local region's copies; their data (and this file) goes when the run recovers.
    keys = [key, *json.loads((first / "local" / run_id / "account-keys.json").read_text()).values()]
    prefix = f"secondary/{run_id}"
    before = lines(blobs(url, key)[f"{prefix}/{RunDir.JOURNAL}"])
    # Paused, nothing was in flight: the container holds exactly what the killed executor journaled.
    assert before == journal(run_dir_1), err_path.read_text()[-3000:]
    done_before = set(succeeded(before))
    assert done_before and not any(e["event"] == "run_finished" for e in before)

    def resume(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([*DRCTL, "resume", run_id, "--json", "--workdir", str(second), "--state-url", url,
                               *extra], cwd=REPO, env=env, capture_output=True, text=True, timeout=240)

    refused = resume()  # the killed executor's lease has not lapsed yet
    assert refused.returncode == 2 and run_id in refused.stderr and "--break-lease" in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not (second / "runs").exists()

    result = resume("--break-lease")
    assert result.returncode == 0, result.stderr[-4000:]
    run_dir_2 = second / "runs" / "secondary" / run_id
    assert result.stderr.splitlines()[0] == f"run: {run_dir_2}"
    assert "broken with --break-lease" in result.stderr
    summary = json.loads(result.stdout)
    check_recovered_summary(summary, second)
    events = check_journal_recovered(run_dir_2)
    assert events[: len(before)] == before
    after = events[len(before):]
    assert after[0]["event"] == "run_resumed"
    restarted = {e["step"] for e in after if e["event"] == "step_started"}
    assert not restarted & done_before, f"steps that had succeeded ran again: {sorted(restarted & done_before)}"

    held = blobs(url, key)
    assert held[f"{prefix}/{RunDir.JOURNAL}"] == (run_dir_2 / RunDir.JOURNAL).read_bytes()
    for name in ("report.json", "report.md", "SHA256SUMS", RunDir.LEASE, "manifests/lake.json"):
        assert held[f"{prefix}/{name}"] == (run_dir_2 / name).read_bytes(), name
    assert json.loads(held[f"{prefix}/report.json"])["outcome"] == "recovered"
    acquisitions = acquired(run_dir_2 / RunDir.LEASE)
    assert [a["how"] for a in acquisitions] == ["new", "broken"] and acquisitions[0]["workdir"] == str(first)
    assert acquisitions[1]["took_over"]["reason"] == "broken with --break-lease"
    assert acquisitions[1]["took_over"]["previous"]["pid"] == proc.pid
    verified = subprocess.run([*DRCTL, "verify-evidence", str(run_dir_2)], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=60)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # No account key (the state container's, or the emulators' that signed the copies) anywhere.
    written = [result.stdout, result.stderr, refused.stderr]
    written += [p.read_bytes().decode("utf-8", "replace") for root in (first, second) for p in root.rglob("*")
                if p.is_file()]
    written += [data.decode("utf-8", "replace") for data in held.values()]
    assert len(keys) > 1 and not [k for k in keys for text in written if k in text]
    assert describe(processes_of(first)) == [] and describe(processes_of(second)) == []
