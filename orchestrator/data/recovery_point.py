"""`--recovery-point TIME`: the point in time a recovery restores to, and the one way it is read.

A restore takes the newest backup generation (or blob snapshot) at or before TIME instead of the
newest of all: "before the anomaly", as a ransomware recovery needs. TIME is ISO 8601 with a
timezone (`Z` or an offset); a naive time would be read in whatever zone the runner happens to
be in, so it is refused, as is a time still to come (nothing can have been backed up then).

Which clock TIME is read on depends on the target:
- a local drill: its simulated data clock (batch k covers [T0 + k*15min, +15min),
  orchestrator/data/source.py); a generation's point is its `data_end`, the end of the newest
  batch it holds, which the drill prints as it takes each generation;
- Azure (`drctl failover`): wall-clock UTC, compared with blob snapshot ids (which are the
  snapshots' UTC creation times) and last-modified times.
"""

from __future__ import annotations

from datetime import UTC, datetime

OPTION = "--recovery-point"


def parse_recovery_point(text: str, now: datetime | None = None) -> datetime:
    """TIME as an aware UTC datetime; ValueError saying what is wrong with it (one line)."""
    value = text.strip()
    try:
        # Python 3.11+ reads a trailing Z; replaced anyway so the message below never depends on it
        point = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time (e.g. 2026-01-01T01:15:00Z)") from None
    if point.tzinfo is None or point.utcoffset() is None:
        raise ValueError(f"{text!r} has no timezone: add Z for UTC or an offset such as +01:00")
    point = point.astimezone(UTC)
    current = now or datetime.now(UTC)
    if point > current:
        raise ValueError(f"{text!r} is in the future (now is {as_text(current)}): nothing was backed up then")
    return point


def as_text(point: datetime) -> str:
    """One form everywhere (run.json, outputs, reports): UTC, milliseconds, Z; as orchestrator/data/source.iso."""
    return point.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_record(value: str | None) -> datetime | None:
    """A point as run.json or a catalogue keeps it (as_text), back to a datetime; None stays None."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
