"""`drctl resume --state-url URL RUN`: continue a run whose state is in a container, from any machine.

The order is what makes it safe: take the run's lease first (another live executor means a
refusal with nothing downloaded or written), fence the journal blob (an executor that was taken
over cannot append any more), and only then bring the local run directory level with the
container:

- no local run directory (another machine, another working folder): the container's copy is
  downloaded into `<workdir>/runs/<stack>/<run-id>/`;
- the local journal is a prefix of the container's (this machine resumed elsewhere since):
  the container's copy replaces the local one;
- the container's journal is a prefix of the local one (this machine got further than it could
  send before it died): the missing lines are sent;
- neither: two executors wrote the run; refused rather than merged.

For a local drill the emulators' data is not part of the run's state: it stays in the `local_dir`
run.json names (on the first machine's disk), which the resuming process must reach. On Azure the
data is in Azure, so the state is all another machine needs.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from orchestrator.atomic import make_dirs, make_private_dir, write_atomic
from orchestrator.engine.journal import JournalCorrupt, replay
from orchestrator.errors import BadInput
from orchestrator.run.remote.lease import LEASE_BLOB, StateConflict
from orchestrator.run.remote.store import RunStateStore
from orchestrator.run.rundir import RunDir


def open_for_resume(run: str, workdir: Path, state_url: str | None, *,
                    break_lease: bool = False) -> tuple[Path, RunStateStore | None]:
    """The run directory to resume and, when its state is in a container (`state_url`, or the one
    run.json recorded when the run started with --state-url), the store holding its lease."""
    try:
        local: Path | None = RunDir.find(run, workdir).path
    except BadInput:
        if state_url is None:
            raise
        local = None
    recorded = RunDir(local).read_run() if local is not None else {}
    state_url = state_url or recorded.get("state_url")
    if state_url is None:
        assert local is not None  # without --state-url, a run not found here raised above
        return local, None
    store = RunStateStore.connect(state_url)
    if local is not None:
        stack, run_id = recorded["stack"], recorded["run_id"]
    else:
        run_id = str(run)
        if "/" in run_id or run_id in ("", ".", ".."):
            raise BadInput(f"RUN: no run directory {run}; with --state-url, RUN may be a run id")
        stack = find_stack(store, run_id)
        if stack is None:
            raise BadInput(f"RUN: no run {run_id} in {Path(workdir) / RunDir.RUNS} nor in {store.location.url}")
    workdir = Path(workdir).resolve()
    run_dir = local or RunDir.at(workdir, stack, run_id).path
    resume_into(store, run_dir, stack, run_id, workdir, break_lease=break_lease)
    return run_dir, store


def find_stack(store: RunStateStore, run_id: str) -> str | None:
    """The stack whose folder in the container holds run `run_id`."""
    for item in store.container.walk_blobs(delimiter="/"):
        stack = item.name.rstrip("/")
        if store.container.get_blob_client(f"{stack}/{run_id}/{RunDir.RUN}").exists():
            return stack
    return None


def resume_into(store: RunStateStore, run_dir: Path, stack: str, run_id: str, workdir: Path, *,
                break_lease: bool) -> None:
    """Take the run in the container and make `run_dir` level with it (see the module docstring)."""
    store.bind(run_dir, stack, run_id, workdir)
    if not run_dir.is_dir() and not store.journal_blob.exists():
        raise BadInput(f"RUN: {run_id}: no journal under {store.prefix}/ in {store.location.url}")
    record = store.lease.acquire(break_lease=break_lease)  # LeaseHeld: nothing touched yet
    try:
        remote, local = store.fence(), _local_journal(run_dir)
        if remote is None:  # a run kept only here until now: its state goes to the container from now on
            store.create_journal(b"")
            store.take(record, pending=local or b"")
        elif local is None or (local != remote and remote.startswith(local)):
            _download(store, run_dir, remote)
            store.take(record, fetched=True)
        elif local.startswith(remote):
            store.take(record, pending=local[len(remote):])  # this machine got further than it could send
        else:
            raise StateConflict(f"RUN: {RunDir(run_dir).journal} and {store.location.url} disagree from line "
                                f"{_first_difference(local, remote)}: two executors wrote this run; "
                                "refusing to merge them")
    except BaseException:
        store.lease.release()
        raise


def _download(store: RunStateStore, run_dir: Path, journal: bytes) -> None:
    make_private_dir(run_dir)
    for blob in store.container.list_blobs(name_starts_with=store.prefix + "/"):
        relative = blob.name[len(store.prefix) + 1:]
        if relative in (LEASE_BLOB, RunDir.JOURNAL):
            continue
        _write_bytes(_inside(run_dir, relative, blob.name),
                     store.container.get_blob_client(blob.name).download_blob().readall())
    _write_bytes(RunDir(run_dir).journal, journal)  # last: a journal means the rest is there


def _local_journal(run_dir: Path) -> bytes | None:
    """The local journal's complete lines (a torn last line is not history), None without a run dir."""
    if not run_dir.is_dir():
        return None
    path = RunDir(run_dir).journal
    try:
        _, _, valid = replay(path)
    except JournalCorrupt as exc:
        raise BadInput(f"RUN: journal damaged: {exc}") from None
    return path.read_bytes()[:valid] if valid else b""


def _first_difference(a: bytes, b: bytes) -> int:
    for number, (x, y) in enumerate(zip(a.split(b"\n"), b.split(b"\n"), strict=False), start=1):
        if x != y:
            return number
    return min(a.count(b"\n"), b.count(b"\n")) + 1


def _inside(run_dir: Path, relative: str, name: str) -> Path:
    """Where blob `name` goes: under run_dir, never outside it whatever the blob is called."""
    parts = PurePosixPath(relative).parts
    if not parts or relative.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise BadInput(f"--state-url: blob {name} would land outside the run directory")
    return run_dir.joinpath(*parts)


def _write_bytes(path: Path, data: bytes) -> None:
    make_dirs(path.parent)
    write_atomic(path, data)
