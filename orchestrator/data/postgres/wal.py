"""PostgreSQL's WAL archive in the backup store, and the index that maps the drill's data clock to WAL.

The primary server archives each completed WAL segment into `<backup store>/postgres/wal/` with
`archive_command` (settings below): a shell command run by the server as its own user, which copies
the segment under a temporary name and renames it, so a segment is either whole in the archive or
absent; one already there is left alone when identical and refused (a failure, which PostgreSQL
retries and logs) when it differs, so nothing ever overwrites archived history.

`archive_timeout` forces a segment switch after ARCHIVE_TIMEOUT_S seconds with writes: without it a
segment is archived only when full, and the archive lag (what a restore loses before replay) would
be unbounded on a quiet server. A drill compresses hours of data into seconds of wall time, so one
second: the lag stays a second or two at that pace (the goal is a minute), at the cost of one 1 MB
segment (servers/postgres.py WAL_SEGMENT_MB) per second of writing; an idle server does not switch.
PostgreSQL's documentation suggests a minute or so for 16 MB segments on a real server; Azure's
flexible server archives on its own schedule into geo-redundant backup storage, and its geo-restore
RPO is Azure's to state, not this setting's.

A drill's wall clock runs seconds while its data clock runs hours (batch k covers [T0 + k*interval,
+interval), orchestrator/data/source.py), so a recovery point on the data clock is mapped to WAL by
what the primary recorded as it ingested: after each batch's commit, the WAL index gets (batch,
data_end, the WAL insert LSN after the commit, the server's clock). A point TIME is the LSN of the
newest batch whose data_end <= TIME.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from orchestrator.atomic import write_atomic
from orchestrator.data.connect import pg_connect
from orchestrator.data.errors import pg_errors
from orchestrator.data.ingest import PostgresSink
from orchestrator.data.rows import one_row
from orchestrator.data.source import Batch, iso
from orchestrator.model import PermanentError

ARCHIVE_TIMEOUT_S = 1
WAL_INDEX = "wal-index.json"
SEGMENT_NAME = re.compile(r"^[0-9A-F]{24}$")
_UNQUOTABLE = re.compile(r"['\n\r\x00]")


def wal_archive_dir(backup_dir: Path) -> Path:
    return Path(backup_dir) / "postgres" / "wal"


def wal_index_path(backup_dir: Path) -> Path:
    return Path(backup_dir) / "postgres" / WAL_INDEX


def _conf_path(path: Path) -> str:
    # the command goes into a GUC value: no quote or newline may end it early
    if _UNQUOTABLE.search(str(path)):
        raise ValueError(f"the WAL archive path {path} holds a quote or a newline")
    return shlex.quote(str(path))


def archive_command(archive: Path) -> str:
    """Copy %p to <archive>/%f atomically; identical already there: success; different: refused."""
    dest = f"{_conf_path(archive)}/%f"
    return (f'if [ -f {dest} ]; then cmp -s %p {dest}; '
            f'else cp %p {dest}.tmp.$$ && mv {dest}.tmp.$$ {dest}; fi')


def restore_command(archive: Path) -> str:
    """Fetch %f from the archive into %p (a missing segment fails: the end of the archive)."""
    return f"cp {_conf_path(archive)}/%f %p"


def archive_settings(archive: Path) -> list[str]:
    """The primary server's command-line settings for archiving into `archive`."""
    return ["-c", "wal_level=replica", "-c", "archive_mode=on",
            "-c", f"archive_command={archive_command(archive)}",
            "-c", f"archive_timeout={ARCHIVE_TIMEOUT_S}s"]


# -- LSNs and segments ------------------------------------------------------------------------
def lsn_int(lsn: str) -> int:
    """'16/B374D848' -> an integer that orders as the WAL does."""
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def lsn_text(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


def archived_segments(archive: Path) -> list[str]:
    """The complete segments in the archive, in WAL order (temporary copies and history files left out)."""
    try:
        return sorted(p.name for p in Path(archive).iterdir() if SEGMENT_NAME.match(p.name))
    except FileNotFoundError:
        return []


def segment_end_lsn(name: str, segment_bytes: int) -> int:
    """The LSN just past segment `name` (TTTTTTTT XXXXXXXX YYYYYYYY: timeline, then the segment
    number as a high part and a part within 4 GiB of WAL)."""
    number = int(name[8:16], 16) * (0x100000000 // segment_bytes) + int(name[16:24], 16)
    return (number + 1) * segment_bytes


def archive_end_lsn(archive: Path) -> int | None:
    """The LSN just past the newest archived segment (None when the archive is empty)."""
    segments = archived_segments(archive)
    if not segments:
        return None
    return segment_end_lsn(segments[-1], (Path(archive) / segments[-1]).stat().st_size)


def archive_end(archive: Path) -> dict[str, Any]:
    """What the archive holds: its segments and the newest one (None when empty)."""
    segments = archived_segments(archive)
    return {"segments": len(segments), "newest_segment": segments[-1] if segments else None}


# -- the WAL index ------------------------------------------------------------------------------
@dataclass(frozen=True)
class IndexedBatch:
    batch: int
    data_end: datetime
    lsn: str
    committed_at: str  # the primary's clock just after the commit (wall time)

    def to_json(self) -> dict[str, Any]:
        return {"batch": self.batch, "data_end": iso(self.data_end), "lsn": self.lsn,
                "committed_at": self.committed_at}


def read_wal_index(path: Path) -> list[IndexedBatch]:
    """The index's entries in LSN order ([] when none was written)."""
    try:
        entries = json.loads(Path(path).read_text())["batches"]
    except FileNotFoundError:
        return []
    except (ValueError, KeyError, TypeError) as err:
        raise PermanentError(f"the WAL index {path} is unreadable: {err}") from None
    found = [IndexedBatch(int(e["batch"]), datetime.fromisoformat(e["data_end"].replace("Z", "+00:00")),
                          e["lsn"], e["committed_at"]) for e in entries]
    return sorted(found, key=lambda e: lsn_int(e.lsn))


def record_batch(path: Path, entry: IndexedBatch) -> None:
    entries = [e for e in read_wal_index(path) if e.batch != entry.batch] + [entry]
    write_atomic(path, json.dumps({"batches": [e.to_json() for e in entries]}, indent=1) + "\n")


def batch_at_lsn(index: list[IndexedBatch], lsn: str) -> IndexedBatch | None:
    """The newest batch whose commit a server that replayed WAL up to `lsn` holds."""
    reached = [e for e in index if lsn_int(e.lsn) <= lsn_int(lsn)]
    return max(reached, key=lambda e: e.batch) if reached else None


def batch_for_point(index: list[IndexedBatch], point: datetime) -> IndexedBatch:
    """The newest batch whose data ends at or before `point` (the data clock); PermanentError if none."""
    eligible = [e for e in index if e.data_end <= point]
    if not eligible:
        first = min((e.data_end for e in index), default=None)
        raise PermanentError(f"recovery point {iso(point)} is before the first recorded batch's data end "
                             f"({iso(first) if first else 'no batch was recorded in the WAL index'})")
    return max(eligible, key=lambda e: e.batch)


class WalIndexedSink(PostgresSink):
    """The primary's PostgreSQL sink, which records each batch's commit in the WAL index."""

    def __init__(self, dsn: str, index_path: Path) -> None:
        super().__init__(dsn)
        self.index_path = Path(index_path)

    def write_batch(self, batch: Batch, devices: dict[str, dict]) -> None:
        super().write_batch(batch, devices)
        with pg_errors(f"postgres: WAL position of batch {batch.index}"), self._connect() as conn:
            lsn, now = one_row(conn.execute("SELECT pg_current_wal_insert_lsn()::text, clock_timestamp()"))
        record_batch(self.index_path, IndexedBatch(batch.index, batch.end, str(lsn), iso(now)))


def lsn_now(dsn: str) -> str:
    with pg_errors("postgres: WAL position"), pg_connect(dsn, site="postgres: backup") as conn:
        return str(one_row(conn.execute("SELECT pg_current_wal_insert_lsn()::text"))[0])
