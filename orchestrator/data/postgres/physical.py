"""Restore PostgreSQL as Azure's geo-restore does: a base backup, then archived WAL to a point in time.

On Azure, the secondary stack's server is created with `createMode: GeoRestore`, its
`sourceServerResourceId` and a `pointInTimeUTC`: Azure takes the newest geo-redundant base backup
before that point, replays the server's archived WAL up to it, and the new server comes up writable
in the paired region, with the databases and roles the backup held. The local drill does the same
in two steps of its plan: the deploy step starts a new, empty server (targets/local/deploy.py); the
rehydrate step (this module) stops it and replaces its data directory with the newest good base
backup (checked by pg_verifybackup: postgres/basebackup.py), with `restore_command` reading the backup
store's WAL archive (postgres/wal.py), `recovery.signal`, and a recovery target: none by default, so
PostgreSQL replays every archived segment and ends recovery at the end of the archive; with a
recovery point, `recovery_target_lsn` (wal.batch_for_point) and `recovery_target_action =
promote`. It waits until recovery has ended and the server accepts writes; the store then applies
again what the deploy step declares (idempotent), as the GeoRestore create carries the server's own
settings. Azure's `pointInTimeUTC` is this restore's recovery point.

What it reached is read from the server, not assumed: pg_last_wal_replay_lsn() (the end of the last
record replayed) and pg_last_xact_replay_timestamp() (the commit time of the last transaction
recovered; both static once recovery has ended).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from orchestrator.data.backup_catalog import BadGeneration, Choice
from orchestrator.data.connect import pg_connect
from orchestrator.data.errors import pg_errors
from orchestrator.data.manifest import load_manifest
from orchestrator.data.postgres.basebackup import base_dir, verify_base_backup
from orchestrator.data.postgres.wal import (
    archive_end_lsn,
    batch_at_lsn,
    batch_for_point,
    lsn_int,
    read_wal_index,
    restore_command,
    wal_archive_dir,
    wal_index_path,
)
from orchestrator.data.rows import one_row
from orchestrator.data.source import iso
from orchestrator.model import PermanentError, TransientError

RECOVERY_TIMEOUT_S = 1800.0


class PhysicalTarget(Protocol):
    """What a physical restore needs from a server (the local PostgresServer provides it)."""

    pgdata: Path
    log_path: Path

    def stop(self, abrupt: bool = False) -> None: ...
    def start(self) -> Any: ...
    def owner(self) -> tuple[int, int] | None: ...
    def dsn(self, database: str) -> str: ...

    @property
    def pg_verifybackup(self) -> Path: ...

    @property
    def running(self) -> bool: ...


def physical_check(pg_verifybackup: Path | str, before_lsn: str | None = None) -> Callable[[Path], dict]:
    """`choose`'s check of a PostgreSQL generation: its manifest loads, its base backup ends at or
    before `before_lsn` (a recovery point) and pg_verifybackup finds it whole."""

    def check(path: Path) -> dict:
        try:
            manifest = load_manifest(path)
        except PermanentError as err:
            raise BadGeneration(str(err)) from None
        base = manifest.get("base")
        if not base:
            raise BadGeneration(f"{path} describes a dump, not a base backup")
        if before_lsn is not None and lsn_int(base["stop_lsn"]) > lsn_int(before_lsn):
            raise BadGeneration(f"its base backup ends at LSN {base['stop_lsn']}, after the recovery point's "
                                f"LSN {before_lsn}")
        try:
            verify_base_backup(pg_verifybackup, manifest)
        except PermanentError as err:
            raise BadGeneration(str(err)) from None
        return manifest

    return check


def recovery_settings(archive: Path, target_lsn: str | None) -> str:
    """The lines appended to the restored postgresql.auto.conf: where WAL comes from, and the target."""
    command = restore_command(archive).replace("'", "''")  # a quote inside a setting's value is doubled
    lines = [f"restore_command = '{command}'"]
    if target_lsn is not None:
        lines += [f"recovery_target_lsn = '{target_lsn}'", "recovery_target_inclusive = on",
                  "recovery_target_action = 'promote'"]
    return "\n# drctl: archive recovery (orchestrator/data/postgres/physical.py)\n" + "\n".join(lines) + "\n"


def _chown_tree(root: Path, owner: tuple[int, int]) -> None:
    uid, gid = owner
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            os.chown(Path(dirpath) / name, uid, gid, follow_symlinks=False)


def place_base_backup(server: PhysicalTarget, manifest: dict, archive: Path, target_lsn: str | None) -> None:
    """The base backup as the server's data directory, set to recover from `archive`. The server
    must be stopped. Copied under a scratch name and renamed: a crash never leaves half of one."""
    source = base_dir(manifest)
    scratch = server.pgdata.with_name(server.pgdata.name + ".restore")
    scratch.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(source, scratch, symlinks=True)
    with open(scratch / "postgresql.auto.conf", "a", encoding="utf-8") as conf:
        conf.write(recovery_settings(archive, target_lsn))
    (scratch / "recovery.signal").touch()
    scratch.chmod(0o700)
    owner = server.owner()
    if owner is not None:
        _chown_tree(scratch, owner)
    # the data directory it replaces (the deploy step's empty cluster, or an earlier attempt's) moved
    # aside and deleted once the restored one is in place
    replaced = server.pgdata.with_name(server.pgdata.name + ".replaced")
    shutil.rmtree(replaced, ignore_errors=True)
    if server.pgdata.exists():
        os.replace(server.pgdata, replaced)
    os.replace(scratch, server.pgdata)
    shutil.rmtree(replaced, ignore_errors=True)


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_for_promotion(server: PhysicalTarget, timeout_s: float = RECOVERY_TIMEOUT_S) -> None:
    """Until recovery has ended and the server accepts writes; PermanentError if it stops instead."""
    deadline = time.monotonic() + timeout_s
    while True:
        if not server.running:
            raise PermanentError(f"PostgreSQL stopped during archive recovery; log tail:\n{_tail(server.log_path)}")
        with pg_errors("postgres recovery"), pg_connect(server.dsn("postgres"), site="postgres: recovery",
                                                        autocommit=True) as conn:
            if not one_row(conn.execute("SELECT pg_is_in_recovery()"))[0]:
                return
        if time.monotonic() > deadline:
            raise TransientError(f"PostgreSQL still in archive recovery after {timeout_s:.0f}s")
        time.sleep(0.02)


def replayed_to(server: PhysicalTarget) -> dict[str, Any]:
    """Where recovery ended, as the server says: LSN and the last recovered commit's time."""
    with pg_errors("postgres recovery"), pg_connect(server.dsn("postgres"), site="postgres: recovery") as conn:
        lsn, committed = one_row(conn.execute(
            "SELECT pg_last_wal_replay_lsn()::text, pg_last_xact_replay_timestamp()"))
    return {"lsn": lsn, "last_commit_at": committed}


def restore_base_backup(server: PhysicalTarget, manifest: dict, archive: Path,
                        target_lsn: str | None = None) -> dict[str, Any]:
    """Restore `manifest`'s base backup into `server` and recover from `archive`: to `target_lsn`
    when given, else to the archive's end. Idempotent: each attempt starts again from the backup.
    Returns evidence, with `replayed_to_lsn` and `last_commit_at` (a datetime or None)."""
    began = time.monotonic()
    server.stop()
    place_base_backup(server, manifest, archive, target_lsn)
    placed = time.monotonic()
    try:
        server.start()  # ready once consistent (hot standby answers during recovery)
    except Exception as err:  # ServerStartError: the log says why (a target the archive never reaches)
        raise PermanentError(f"PostgreSQL did not start on the restored base backup: {err}") from None
    wait_for_promotion(server)
    reached = replayed_to(server)
    last_commit: datetime | None = reached["last_commit_at"]
    base = manifest["base"]
    return {"method": "physical: base backup, then the WAL archive replayed"
                      + (f" to LSN {target_lsn}" if target_lsn else " to its end"),
            "base_backup": {"generation": manifest.get("generation"), "bytes": base["bytes"],
                            "files": base["files"], "start_lsn": base["start_lsn"], "stop_lsn": base["stop_lsn"],
                            "verified": "pg_verifybackup"},
            "wal_archive": str(archive), "recovery_target_lsn": target_lsn,
            "replayed_to_lsn": reached["lsn"],
            "last_commit_at": last_commit,
            "copy_s": round(placed - began, 3), "recovery_s": round(time.monotonic() - placed, 3)}


def recover_to_point(server: PhysicalTarget, backup_dir: Path, choose: Callable[[Callable[[Path], dict]], Choice],
                     point: datetime | None = None) -> tuple[Choice, dict[str, Any]]:
    """The whole restore: the recovery point mapped to a batch's LSN through the WAL index, the
    newest good base backup before it (`choose` with physical_check), restored and recovered to it
    (to the archive's end without a point). Returns the choice and evidence, which says where it
    got: the LSN, the batch whose commit it holds (`restored_batch`) and that commit's time."""
    index = read_wal_index(wal_index_path(backup_dir))
    target = batch_for_point(index, point) if point is not None else None
    end = archive_end_lsn(wal_archive_dir(backup_dir))
    if target is not None and (end is None or lsn_int(target.lsn) >= end):
        target = None  # the point lies past what the archive holds: its end is the newest there is
    target_lsn = target.lsn if target is not None else None
    choice = choose(physical_check(server.pg_verifybackup, target_lsn))
    evidence = restore_base_backup(server, choice.manifest, wal_archive_dir(backup_dir), target_lsn)
    reached = batch_at_lsn(index, evidence["replayed_to_lsn"])
    # the last commit recovered: the server's, or (no commit replayed after the base backup's
    # checkpoint) the newest restored batch's commit, as the primary recorded it
    recorded = datetime.fromisoformat(reached.committed_at.replace("Z", "+00:00")) if reached else None
    moments = [m for m in (evidence["last_commit_at"], recorded) if m is not None]
    last_commit = max(moments) if moments else None
    return choice, {**evidence, "last_commit_at": last_commit,
                    "recovery_point": iso(point) if point is not None else None,
                    "recovery_target": f"lsn {target.lsn} (batch {target.batch})" if target else
                    "end of the WAL archive" + (" (the recovery point is past it)" if point is not None else ""),
                    "restored_lsn": evidence["replayed_to_lsn"],
                    "restored_batch": reached.batch if reached else None,
                    "restored_batch_data_end": iso(reached.data_end) if reached else None}
