"""The system of record: upstream of the platform, so it survives the disaster.

Events are produced in numbered batches; batch k covers simulated time
[T0 + k*interval, T0 + (k+1)*interval). Every batch is generated from (seed, k) alone, so a batch
reads the same however and whenever it is produced or replayed; only the number of batches that
exist is persisted. The reference dataset (devices) is derived from the seed the same way.
"""

from __future__ import annotations

import json
import os
import random
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from orchestrator.atomic import write_atomic
from orchestrator.model import PermanentError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STATE_FILE = "source.json"

# kind -> (typical value, spread): plausible telemetry, and a band that defines an anomaly
KINDS: dict[str, tuple[float, float]] = {
    "temperature": (21.0, 3.0),
    "humidity": (45.0, 10.0),
    "pressure": (1013.0, 8.0),
    "vibration": (0.5, 0.2),
}
SITES = ("amsterdam", "dublin", "frankfurt", "paris", "stockholm")
MODELS = ("th-100", "th-200", "px-9", "vb-3")


def iso(ts: datetime) -> str:
    """Timestamps as UTC ISO 8601 with milliseconds and a Z, one form everywhere."""
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def batch_window(k: int, interval_s: int) -> tuple[datetime, datetime]:
    if k < 0:
        raise ValueError("batch numbers start at 0")
    start = T0 + timedelta(seconds=k * interval_s)
    return start, start + timedelta(seconds=interval_s)


@dataclass(frozen=True)
class Batch:
    index: int
    start: datetime
    end: datetime
    events: tuple[dict, ...]  # {"id", "ts" (iso), "device_id", "kind", "value"} sorted by ts
    # what is derived from the events alone (the lake's event files), kept with the batch: a drill
    # renders each batch's files several times, and they are the same bytes every time
    memo: dict = field(default_factory=dict, compare=False, repr=False)


class SourceSystem:
    """Deterministic events in numbered batches under `root_dir`.

    `scale` multiplies sizes: events per batch = batch_size * scale, devices = devices * scale.
    Reopening a root with different parameters is refused: a system of record does not change
    its history.
    """

    def __init__(self, root_dir: str | os.PathLike, batch_size: int = 100, seed: int = 7,
                 scale: int = 1, interval_s: int = 3600, devices: int = 10) -> None:
        if batch_size < 1 or scale < 1 or interval_s < 1 or devices < 1:
            raise ValueError("batch_size, scale, interval_s and devices must be positive")
        self.root = Path(root_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        self.seed, self.scale, self.interval_s = seed, scale, interval_s
        self.events_per_batch = batch_size * scale
        self.n_devices = devices * scale
        params = {"seed": seed, "events_per_batch": self.events_per_batch,
                  "n_devices": self.n_devices, "interval_s": interval_s}
        state = self._read_state()
        if state is None:
            self._write_state({**params, "batches": 0})
        elif {k: state.get(k) for k in params} != params:
            raise PermanentError(f"the source in {self.root} was created with {state}, not {params}")

    # -- persistence ----------------------------------------------------------------------------
    def _read_state(self) -> dict | None:
        try:
            return json.loads((self.root / STATE_FILE).read_text())
        except FileNotFoundError:
            return None

    def _state(self) -> dict:
        """The state the constructor made sure exists."""
        state = self._read_state()
        if state is None:
            raise PermanentError(f"the source in {self.root} has lost its {STATE_FILE}")
        return state

    def _write_state(self, state: dict) -> None:
        write_atomic(self.root / STATE_FILE, json.dumps(state, indent=2))

    @property
    def count(self) -> int:
        return int(self._state()["batches"])

    def produce(self, n_batches: int) -> list[int]:
        """Make `n_batches` more batches exist. Returns their numbers."""
        if n_batches < 0:
            raise ValueError("n_batches must be >= 0")
        state = self._state()
        first = int(state["batches"])
        state["batches"] = first + n_batches
        self._write_state(state)
        return list(range(first, first + n_batches))

    # -- reading --------------------------------------------------------------------------------
    def latest(self) -> int | None:
        """The newest batch number, or None before the first batch."""
        n = self.count
        return n - 1 if n else None

    def latest_end(self) -> datetime:
        """The end of the newest batch's window: how far the system of record has data."""
        latest = self.latest()
        return T0 if latest is None else self.window(latest)[1]

    def window(self, k: int) -> tuple[datetime, datetime]:
        return batch_window(k, self.interval_s)

    def batch(self, k: int) -> Batch:
        if not 0 <= k < self.count:
            raise KeyError(f"batch {k} does not exist (the source has {self.count})")
        return generate_batch(self.seed, k, self.events_per_batch, self.n_devices, self.interval_s)

    def batches(self, after: int | None = None) -> Iterator[Batch]:
        """Batches strictly after the watermark `after` (all of them when None)."""
        first = 0 if after is None else after + 1
        for k in range(max(first, 0), self.count):
            yield self.batch(k)

    def devices(self) -> list[dict]:
        """The curated reference dataset: one row per device, sorted by device_id."""
        rng = random.Random(f"devices/{self.seed}")
        rows = []
        for n in range(self.n_devices):
            installed = date(2024, 1, 1) + timedelta(days=rng.randrange(700))
            rows.append({"device_id": device_id(n), "site": SITES[rng.randrange(len(SITES))],
                         "model": MODELS[rng.randrange(len(MODELS))],
                         "installed_on": installed.isoformat()})
        return rows


# Batches kept in memory, newest used last, up to this many events in all (a few hundred MB): a
# drill reads each batch many times (ingestion, the producers' delivery, the raw zone's watermark,
# replay), and at a large --scale the batches of a run would not all fit.
CACHED_EVENTS = 500_000
_cache: OrderedDict[tuple[int, ...], Batch] = OrderedDict()
_cache_lock = threading.Lock()


def generate_batch(seed: int, k: int, events_per_batch: int, n_devices: int, interval_s: int) -> Batch:
    """Batch k from its parameters alone, from the cache when it holds it (CACHED_EVENTS). Callers
    must not mutate the events they get."""
    key = (seed, k, events_per_batch, n_devices, interval_s)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    batch = _generate(*key)
    with _cache_lock:
        _cache[key] = batch
        while len(_cache) > 1 and sum(len(b.events) for b in _cache.values()) > CACHED_EVENTS:
            _cache.popitem(last=False)
    return batch


def clear_batch_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _generate(seed: int, k: int, events_per_batch: int, n_devices: int, interval_s: int) -> Batch:
    start, end = batch_window(k, interval_s)
    rng = random.Random(f"events/{seed}/{k}")  # str seeds are stable across runs
    interval_ms = interval_s * 1000
    offsets = sorted(rng.randrange(interval_ms) for _ in range(events_per_batch))
    kinds = list(KINDS)
    events = []
    for i, offset in enumerate(offsets):
        kind = kinds[rng.randrange(len(kinds))]
        typical, spread = KINDS[kind]
        value = rng.gauss(typical, spread)
        if rng.random() < 0.02:  # rare spikes, so anomalies exist downstream
            value += 6 * spread * (1 if rng.random() < 0.5 else -1)
        events.append({
            "id": k * events_per_batch + i,
            "ts": iso(start + timedelta(milliseconds=offset)),
            "device_id": device_id(rng.randrange(n_devices)),
            "kind": kind,
            "value": round(value, 3),
        })
    return Batch(index=k, start=start, end=end, events=tuple(events))


def device_id(n: int) -> str:
    return f"dev-{n:04d}"
