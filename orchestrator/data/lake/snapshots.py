"""Walking a container listed with its snapshots, one blob name at a time, and picking a snapshot by time.

A listing with include=["snapshots"] names each blob once per snapshot (and once more for its current
state), ascending by name, a name's snapshots oldest first
(https://learn.microsoft.com/rest/api/storageservices/list-blobs: "Snapshots are listed from oldest
to newest"). So one pass, holding one name's entries at a time, can choose per blob without keeping
the listing: a lake generation (lake/generations.py) takes each blob's newest snapshot inside its
window, a recovery point on Azure (targets/azure/stores/lake_point.py) the newest at or before TIME.

A snapshot id is the UTC time the service took it (e.g. 2026-12-06T08:35:01.1234567Z): the service's
own clock, compared as `snapshot_key`s, never with drctl's clock except where a user gave the time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orchestrator.model import PermanentError

EXACT_NAME_PAGE = 5000  # the most List Blobs returns in a page: one name's snapshots fit

# (whole seconds "YYYY-MM-DDTHH:MM:SS", the fraction as 9 digits): orders snapshot ids exactly,
# whatever number of fractional digits a service writes (Azure 7; Python's datetime keeps only 6).
SnapshotKey = tuple[str, str]


def snapshot_key(value: str | datetime) -> SnapshotKey:
    """The sort key of a snapshot id, or of a point in time to compare snapshot ids with."""
    if isinstance(value, datetime):
        utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S"), f"{utc.microsecond:06d}000"
    whole, _, fraction = value.rstrip("Z").partition(".")
    if len(whole) != 19 or whole[10] != "T":
        raise PermanentError(f"{value!r} is not a blob snapshot id (an ISO 8601 UTC time)")
    return whole, fraction.ljust(9, "0")[:9]


@dataclass
class BlobEntries:
    """One blob name's entries in a listing with snapshots: its current state (None when only
    snapshots are left) and its snapshots, oldest first."""

    name: str
    base: Any | None = None
    snapshots: list[Any] = field(default_factory=list)

    def newest_snapshot(self, at_or_before: SnapshotKey, not_before: SnapshotKey | None = None) -> Any | None:
        """The newest snapshot taken at or before `at_or_before` (and not before `not_before`), or None."""
        chosen = None
        for item in self.snapshots:
            key = snapshot_key(item.snapshot)
            if key <= at_or_before and (not_before is None or key >= not_before) \
                    and (chosen is None or key >= snapshot_key(chosen.snapshot)):
                chosen = item
        return chosen


def by_name(listing: Iterable[Any], what: str) -> Iterator[BlobEntries]:
    """A listing with snapshots, grouped by blob name as it is walked, in ascending name order (refused
    otherwise: whatever relies on one pass relies on that order)."""
    current: BlobEntries | None = None
    for item in listing:
        if current is None or item.name != current.name:
            if current is not None:
                if not item.name > current.name:
                    raise PermanentError(f"{what}: the listing is not in ascending name order "
                                         f"({item.name!r} comes after {current.name!r})")
                yield current
            current = BlobEntries(item.name)
        if item.snapshot:
            current.snapshots.append(item)
        else:
            current.base = item
    if current is not None:
        yield current


def list_with_snapshots(container: Any, include: list[str], results_per_page: int) -> Iterator[Any]:
    """A container's listing with snapshots, page by page, each page's last name listed again whole.

    Azure's continuation marker can resume inside a name's snapshots; Azurite's (3.37) resumes after
    the name, so the entries of a name split by a page boundary after it are lost (measured: pages
    of 500 lost 4 of 2,403 entries, pages of 100 lost 35), which made a complete backup generation
    look damaged. Listing each page's last name by itself (its prefix, kept to that exact name)
    gives every entry on both; entries of that name on the next page are then skipped."""
    completed: str | None = None
    for page in container.list_blobs(include=include, results_per_page=results_per_page).by_page():
        items = list(page)  # one page, as the SDK holds it anyway
        if not items:
            continue
        last = items[-1].name
        for item in items:
            if item.name == last:
                break
            if item.name != completed:
                yield item
        if last != completed:
            yield from (item for item in container.list_blobs(name_starts_with=last, include=include,
                                                             results_per_page=EXACT_NAME_PAGE)
                        if item.name == last)
        completed = last
