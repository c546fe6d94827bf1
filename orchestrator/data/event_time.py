"""Event time as the platform partitions it, and the window a replay ingests.

The ingestion pipeline (pipelines/ingest_events.json) copies hour partitions named by the events'
time (yyyy/MM/dd/HH, UTC). A replay runs it over [the recovered data timestamp less
INGEST_LOOKBACK_HOURS, now): the same window whoever runs the pipeline, the factory on Azure
(orchestrator/targets/azure/stores/replay.py) or the local pipeline runner in a drill
(orchestrator/targets/local/stores/lake.py), so both compute it here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from components.data_factory_triggers import INGEST_LOOKBACK_HOURS, WINDOW_END, WINDOW_START
from orchestrator.model import PermanentError

HOUR = timedelta(hours=1)


def as_utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso_z(value: datetime | str) -> str:
    return as_utc(value).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def hour_of(moment: datetime) -> datetime:
    return as_utc(moment).astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_path(moment: datetime) -> str:
    """The partition folder of the hour holding `moment`: yyyy/MM/dd/HH, UTC."""
    return hour_of(moment).strftime("%Y/%m/%d/%H")


@dataclass(frozen=True)
class ReplayWindow:
    """The event time a run ingests: [start's hour, end), ISO 8601 UTC."""

    start: str
    end: str

    def parameters(self) -> dict[str, str]:
        return {WINDOW_START: self.start, WINDOW_END: self.end}

    def hours(self) -> list[datetime]:
        """The hours the pipeline's description promises to copy: from the start's hour, each hour
        that begins before the end."""
        hour, end, hours = hour_of(as_utc(self.start)), as_utc(self.end), []
        while hour < end:
            hours.append(hour)
            hour += HOUR
        return hours


def replay_window(recovered: datetime | str, now: datetime) -> ReplayWindow:
    if as_utc(now) <= as_utc(recovered):
        raise PermanentError(f"the recovered data timestamp {iso_z(recovered)} is not before now ({iso_z(now)}): "
                             "there is no event time to replay, and drctl will not guess one")
    return ReplayWindow(iso_z(as_utc(recovered) - timedelta(hours=INGEST_LOOKBACK_HOURS)), iso_z(now))


# Where event files live in the lake's raw container: producers drop them in the landing zone, the
# ingestion pipeline copies each hour to the raw zone under the same name (pipelines/datasets/).
LANDING_EVENTS, RAW_EVENTS = "landing/events", "events"
_BATCH_FILE = re.compile(r"batch-(\d{6,})-[A-Za-z0-9-]+\.jsonl")


def event_file(batch: int, start: datetime, device: str) -> str:
    """One device's file of a batch under the batch's hour partition (the hour of the batch's start):
    yyyy/MM/dd/HH/batch-NNNNNN-<device>.jsonl. Each device's gateway drops its own file, as telemetry
    producers do; zero-padded, so listings sort in batch order, then by device."""
    return f"{hour_path(start)}/batch-{batch:06d}-{device}.jsonl"


def landing_name(batch: int, start: datetime, device: str) -> str:
    return f"{LANDING_EVENTS}/{event_file(batch, start, device)}"


def raw_event_name(batch: int, start: datetime, device: str) -> str:
    return f"{RAW_EVENTS}/{event_file(batch, start, device)}"


def batch_of(name: str) -> int | None:
    """The batch number an event file's name carries, or None for any other blob."""
    found = _BATCH_FILE.fullmatch(name.rsplit("/", 1)[-1])
    return int(found.group(1)) if found else None
