"""The backup store's catalogue of backup generations, and choosing which one to restore.

The backup store (locally a directory that survives the primary) holds generations, oldest first
in its index:

    catalog.json                                   the index: per generation and store, its manifest
    generations/<id>/lake/manifest.json            a lake generation (orchestrator/data/lake/generations.py)
    generations/<id>/postgres/manifest.json        a PostgreSQL generation: its manifest and the server's
    generations/<id>/postgres/base/                physical base backup (orchestrator/data/postgres/basebackup.py)
    postgres/wal/, postgres/wal-index.json         the server's WAL archive, shared by every generation,
                                                   and what each batch's commit LSN was (postgres/wal.py)

(A generation may also hold a pg_dump instead, generations/<id>/postgres/<db>/<db>.dump: `postgres_check`
and `damage_postgres_generation` still read one; the drill takes base backups.)

A backup can be damaged or lost after it was taken, so a restore does not trust the newest one
blindly: `choose` checks each generation against its manifest newest first, before anything is
restored, skips a bad one with the reason, and returns the newest good one (whose older watermark
replay then starts from). With no good generation it fails permanently, naming each one and why.
With a recovery point (`--recovery-point`, orchestrator/data/recovery_point.py) only generations
whose point, their `data_end`, is at or before it are candidates; the same fallback works among them.

A run directory keeps its own copy (`copy_to_run`): manifests/catalog.json, the newest
generation's manifests where a single backup's always were (manifests/lake.json,
manifests/postgres-<db>.json) and older ones under manifests/generations/<id>/. The copies name
the store's directories, where the dumps and snapshots stay.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from azure.storage.blob import BlobServiceClient

from orchestrator.atomic import write_atomic
from orchestrator.data.lake.generations import check_lake_generation, damage_lake_generation
from orchestrator.data.manifest import load_manifest, write_manifest
from orchestrator.data.postgres.basebackup import (
    damage_base_backup,
    invert_middle,
    postgres_generation_dir,
    take_base_backup,
)
from orchestrator.data.recovery_point import as_text, from_record
from orchestrator.model import PermanentError

INDEX = "catalog.json"
CATALOG_VERSION = 1
STORES = ("lake", "postgres")
# --corrupt-latest-backup STORE[:HOW]: which store's newest generation a rehearsal damages, and how
# (`corrupt` by default; `missing`; or `every-generation`, every generation corrupted).
DAMAGE_HOWS = ("corrupt", "missing", "every-generation")
DAMAGE_CHOICES = tuple(f"{store}{'' if how == 'corrupt' else ':' + how}"
                       for store in ("postgres", "lake", "all") for how in DAMAGE_HOWS)


class BadGeneration(PermanentError):
    """The verdict that a generation is not fit to restore (and why). Only this makes `choose` move
    on to an older generation: any other error is about reaching the backup, not about the backup."""


def generation_dir(backup_dir: Path, generation: str) -> Path:
    return Path(backup_dir) / "generations" / generation


def next_generation(backup_dir: Path) -> str:
    """The next generation's id: g001, g002... in the order taken (ids sort as they were taken)."""
    index = Path(backup_dir) / INDEX
    taken = read_catalog(index)["generations"] if index.exists() else []
    return f"g{len(taken) + 1:03d}"


def read_catalog(path: Path) -> dict:
    """A catalogue (the store's index or a run's copy); PermanentError when unusable."""
    try:
        catalog = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise PermanentError(f"backup catalogue {path} not found") from None
    except ValueError as err:
        raise PermanentError(f"backup catalogue {path} is not valid JSON: {err}") from None
    if not isinstance(catalog, dict) or catalog.get("version") != CATALOG_VERSION \
            or not isinstance(catalog.get("generations"), list):
        raise PermanentError(f"backup catalogue {path} has an unknown version or no generations list")
    return catalog


def _write_catalog(path: Path, catalog: dict) -> None:
    write_atomic(path, json.dumps(catalog, indent=2, sort_keys=True) + "\n")


def backup_postgres_generation(dsn: str, database: str, backup_dir: Path, pg_basebackup: Path | str,
                               generation: str) -> dict:
    """A physical base backup of the server into the generation's directory, its manifest saying
    which generation it is and holding `database`'s facts."""
    return take_base_backup(pg_basebackup, dsn, database,
                            postgres_generation_dir(generation_dir(backup_dir, generation)), generation)


def record_generation(backup_dir: Path, generation: str, manifests: dict[str, dict]) -> dict:
    """Add a generation (store -> its manifest as loaded) to the store's index. Written only once
    every store's backup of the generation is complete, so the index never names half a backup."""
    index = Path(backup_dir) / INDEX
    catalog: dict[str, Any] = read_catalog(index) if index.exists() else {"version": CATALOG_VERSION, "generations": []}
    if any(g["id"] == generation for g in catalog["generations"]):
        raise ValueError(f"generation {generation} is already in {index}")
    stores = {}
    for store, manifest in manifests.items():
        path = Path(manifest["manifest_dir"]) / "manifest.json"
        stores[store] = {"manifest": str(path.relative_to(Path(backup_dir).resolve())),
                         "watermark": manifest.get("watermark"), "data_end": manifest.get("data_end"),
                         "taken_at": manifest.get("taken_at")}
    catalog["generations"].append({"id": generation, "recorded_at": _now(), "stores": stores})
    _write_catalog(index, catalog)
    return catalog


def run_manifest_name(store: str, manifest: dict) -> str:
    return "lake.json" if store == "lake" else f"postgres-{manifest['database']}.json"


def copy_to_run(backup_dir: Path, manifests_dir: Path) -> dict:
    """Copy the store's catalogue and every generation's manifests into a run's manifests/.

    The manifests are copied as JSON, not loaded: loading a PostgreSQL manifest checks its dump,
    and recording what was taken must not depend on whether it is still intact."""
    backup_dir, manifests_dir = Path(backup_dir).resolve(), Path(manifests_dir)
    catalog = read_catalog(backup_dir / INDEX)
    newest = catalog["generations"][-1]["id"] if catalog["generations"] else None
    copy: dict[str, Any] = {"version": CATALOG_VERSION, "backup_store": str(backup_dir), "generations": []}
    for entry in catalog["generations"]:
        stores = {}
        for store, info in entry["stores"].items():
            source = backup_dir / info["manifest"]
            manifest = json.loads(source.read_text())
            manifest["manifest_dir"] = str(source.parent)  # where its dump is; load_manifest keeps it
            name = run_manifest_name(store, manifest)
            relative = name if entry["id"] == newest else f"generations/{entry['id']}/{name}"
            write_manifest(manifests_dir / relative, manifest)
            stores[store] = {**info, "manifest": relative}
        copy["generations"].append({**entry, "stores": stores})
    _write_catalog(manifests_dir / INDEX, copy)
    return copy


@dataclass
class Choice:
    """The generation a restore uses, and every generation checked on the way to it."""

    store: str
    generation: str
    manifest: dict
    manifest_path: str  # relative to the catalogue's directory
    checked: list[dict] = field(default_factory=list)
    point: str | None = None  # the generation's own point: the end of the data it holds (its data_end)
    recovery_point: str | None = None  # the point asked for (--recovery-point), None for the newest
    after_point: list[str] = field(default_factory=list)  # newer generations left out by recovery_point

    def outputs(self) -> dict[str, Any]:
        """For the rehydrate step's outputs: validation reads the manifest of this generation."""
        return {"backup_generation": self.generation, "manifest": self.manifest_path,
                "backup_generations_skipped": sum(not c["good"] for c in self.checked),
                "backup_point": self.point, "recovery_point": self.recovery_point}

    def evidence(self) -> dict[str, Any]:
        return {"backup_generation": self.generation, "backup_point": self.point,
                "recovery_point": self.recovery_point, "backup_generations_after_point": self.after_point,
                "backup_generations_checked": self.checked}


def generation_point(entry: dict, store: str) -> datetime | None:
    """A generation's point for `store`: the end of the data it holds (its data_end)."""
    return from_record(entry["stores"][store].get("data_end"))


def _at_or_before(entries: list[dict], store: str, point: datetime, catalog_path: Path) -> tuple[list, list]:
    """(the candidates at or before `point`, the ids of newer ones); none at all fails, naming the oldest."""
    candidates = [e for e in entries if (p := generation_point(e, store)) is not None and p <= point]
    after = [e["id"] for e in entries if e not in candidates]
    if not candidates:
        oldest = entries[-1]
        raise PermanentError(
            f"no {store} backup generation at or before the recovery point {as_text(point)}: the oldest, "
            f"{oldest['id']}, holds data through {oldest['stores'][store].get('data_end')} ({catalog_path})",
            {"recovery_point": as_text(point), "backup_generations_after_point": after,
             "backup_generations_checked": []})
    return candidates, after


def choose(catalog_path: Path, store: str, check: Callable[[Path], dict], point: datetime | None = None) -> Choice:
    """The newest generation of `store` that passes `check` (manifest path -> the manifest, or
    BadGeneration saying why not), among those at or before `point` when one is given. Any other
    error from `check` (a service not answering, access refused) is no verdict on the backup: it
    propagates, and the step is retried or fails as such."""
    catalog_path = Path(catalog_path)
    catalog = read_catalog(catalog_path)
    entries = [g for g in reversed(catalog["generations"]) if store in g.get("stores", {})]
    if not entries:
        raise PermanentError(f"no {store} backup generation in {catalog_path}",
                             {"backup_generations_checked": []})
    after: list[str] = []
    if point is not None:
        entries, after = _at_or_before(entries, store, point, catalog_path)
    asked = as_text(point) if point is not None else None
    checked: list[dict] = []
    for entry in entries:
        info = entry["stores"][store]
        verdict = {"generation": entry["id"], "watermark": info.get("watermark"), "data_end": info.get("data_end"),
                   "taken_at": info.get("taken_at")}
        try:
            manifest = check(catalog_path.parent / info["manifest"])
            if manifest.get("watermark") != info.get("watermark"):
                raise BadGeneration(f"its manifest's watermark {manifest.get('watermark')} is not the "
                                    f"catalogue's {info.get('watermark')}")
        except BadGeneration as err:
            checked.append({**verdict, "good": False, "reason": str(err)})
            continue
        checked.append({**verdict, "good": True})
        return Choice(store, entry["id"], manifest, info["manifest"], checked, info.get("data_end"), asked, after)
    reasons = "; ".join(f"{c['generation']}: {c['reason']}" for c in checked)
    where = f" at or before the recovery point {asked}" if asked else ""
    raise PermanentError(f"no good {store} backup generation{where} ({len(checked)} checked, newest first): {reasons}",
                         {"recovery_point": asked, "backup_generations_after_point": after,
                          "backup_generations_checked": checked})


def postgres_check(path: Path) -> dict:
    """A PostgreSQL generation is good when its manifest loads and its dump has the manifest's
    size and sha256 (load_manifest checks both)."""
    try:
        return load_manifest(path)
    except PermanentError as err:
        raise BadGeneration(str(err)) from None


def lake_check(geo_copy: BlobServiceClient, containers: Iterable[str]) -> Callable[[Path], dict]:
    """A lake generation is good when its manifest loads and the snapshots it names, for the
    zones a restore copies, are all there with the manifest's facts."""
    containers = list(containers)

    def check(path: Path) -> dict:
        try:
            manifest = load_manifest(path)
        except PermanentError as err:
            raise BadGeneration(str(err)) from None
        problem = check_lake_generation(geo_copy, manifest, containers)  # service errors propagate
        if problem:
            raise BadGeneration(problem)
        return manifest

    return check


def parse_damage(spec: str | None) -> tuple[tuple[str, ...], str]:
    """`--corrupt-latest-backup STORE[:HOW]` -> (stores, how)."""
    if not spec:
        return (), "corrupt"
    store, sep, how = spec.partition(":")
    how = how if sep else "corrupt"  # "postgres:" is a typo, not a default
    if store not in ("postgres", "lake", "all") or how not in DAMAGE_HOWS:
        raise ValueError(f"{spec!r}: expected one of {', '.join(DAMAGE_CHOICES)}")
    return (STORES if store == "all" else (store,)), how


def damage_backups(backup_dir: Path, spec: str | None, geo_copy: BlobServiceClient) -> list[dict]:
    """Apply `--corrupt-latest-backup` to the store: the newest generation, or every one. What was
    done is returned for the run's record (prelude.json)."""
    stores, how = parse_damage(spec)
    generations = read_catalog(Path(backup_dir) / INDEX)["generations"] if stores else []
    targets = generations if how == "every-generation" else generations[-1:]
    done = []
    for entry in reversed(targets):
        for store in stores:
            if store not in entry["stores"]:
                continue
            path = Path(backup_dir).resolve() / entry["stores"][store]["manifest"]
            manifest = {**json.loads(path.read_text()), "manifest_dir": str(path.parent)}
            kind = "missing" if how == "missing" else "corrupt"
            done.append(damage_lake_generation(geo_copy, manifest, kind) if store == "lake"
                        else damage_postgres_generation(manifest, kind))
    return done


def damage_postgres_generation(manifest: dict, how: str) -> dict:
    """For rehearsals: `missing` deletes the generation's base backup (or dump); `corrupt` inverts 16
    bytes in the middle of its largest file (or the dump), keeping its size, so only checksums tell."""
    if "base" in manifest:
        return {"store": "postgres", "generation": manifest.get("generation"), "damage": how,
                "what": damage_base_backup(manifest, how)}
    path = Path(manifest["manifest_dir"]) / manifest["dump"]["file"]
    if how == "missing":
        path.unlink()
        what = f"{path.name} deleted"
    else:
        inverted, offset = invert_middle(path)
        what = f"{inverted} bytes of {path.name} inverted at offset {offset} (size unchanged)"
    return {"store": "postgres", "generation": manifest.get("generation"), "damage": how, "what": what}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
