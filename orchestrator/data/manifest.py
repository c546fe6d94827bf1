"""Facts about a store's content, the manifests that record them, and comparing the two.

A manifest is taken at backup time; after a recovery the same facts are computed on the new
store and compared exactly. Facts come from listings (blobs) and from SQL (tables), so a check
never moves the data itself through drctl.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient
from psycopg import sql

from orchestrator.atomic import make_dirs, write_atomic
from orchestrator.data.lake.listing import list_blobs_light
from orchestrator.data.rows import one_row
from orchestrator.model import PermanentError, StepOutcome
from smoke_tests.check import Check, SameFact

MANIFEST_VERSION = 1


# -- the lake ------------------------------------------------------------------------------------
def md5_text(content_md5: bytes | bytearray | None) -> str | None:
    return base64.b64encode(bytes(content_md5)).decode() if content_md5 else None


def in_name_order(blobs: Iterable[Any], what: str) -> Iterator[Any]:
    """The listed blobs, checked to come strictly ascending by name, as the Blob service lists them
    (https://learn.microsoft.com/rest/api/storageservices/enumerating-blob-resources). Whatever
    walks a listing once, without keeping it, relies on that order: out of order is refused."""
    last = None
    for blob in blobs:
        if last is not None and not blob.name > last:
            raise PermanentError(f"{what}: the listing is not in ascending name order "
                                 f"({blob.name!r} comes after {last!r})")
        last = blob.name
        yield blob


def listing_facts(blobs: Iterable[Any], what: str = "listing") -> dict:
    """Count, bytes and a digest over (name, size, Content-MD5) of listed blobs in name order,
    walked once. Shared by live containers and snapshot generations (lake/generations.py), so both
    hash alike. The digest is sha256 over the lines "name\tsize\tmd5\n" in the listing's order
    (which is the lines' sorted order too, for names of printable characters, as blob names are)."""
    digest, count, total, missing_md5 = hashlib.sha256(), 0, 0, 0
    for blob in in_name_order(blobs, what):
        md5 = md5_text(blob.content_settings.content_md5)
        missing_md5 += md5 is None
        digest.update(f"{blob.name}\t{blob.size}\t{md5 or '-'}\n".encode())
        count += 1
        total += blob.size
    return {"blobs": count, "bytes": total, "digest": f"sha256:{digest.hexdigest()}", "missing_md5": missing_md5}


def container_facts(service: BlobServiceClient, container: str) -> dict | None:
    """`listing_facts` of a container, from the listing only, page by page. None when it does not exist."""
    try:
        return listing_facts(list_blobs_light(service.get_container_client(container)), f"container {container}")
    except ResourceNotFoundError:
        return None


def lake_facts(service: BlobServiceClient, containers: Sequence[str]) -> dict[str, dict | None]:
    return {c: container_facts(service, c) for c in containers}


# -- PostgreSQL ----------------------------------------------------------------------------------
def _tables(conn: psycopg.Connection) -> dict[str, list[str]]:
    """Base tables of schema public -> primary key columns (empty when there is none)."""
    rows = conn.execute(
        "SELECT c.relname, coalesce((SELECT array_agg(a.attname ORDER BY k.n) "
        "  FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
        "  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "  WHERE i.indrelid = c.oid AND i.indisprimary), '{}') "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname").fetchall()
    return {name: list(pk) for name, pk in rows}


def table_facts(conn: psycopg.Connection) -> dict[str, dict]:
    """Per table: row count, md5 over the rows' text in primary-key order, and max(ts) when the
    table has a `ts` column. Rendered in UTC/ISO so both ends print rows identically."""
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute("SET DateStyle = 'ISO, YMD'")
    facts = {}
    for table, pk in _tables(conn).items():
        has_ts = conn.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = %s AND column_name = 'ts'", (table,)).fetchone() is not None
        order = (sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in pk)
                 if pk else sql.SQL("t::text"))
        query = sql.SQL("SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {order}), '')), "
                        "{max_ts} FROM public.{table} AS t").format(
            order=order, table=sql.Identifier(table),
            max_ts=sql.SQL("max(t.ts)") if has_ts else sql.SQL("NULL"))
        rows, checksum, max_ts = one_row(conn.execute(query))
        facts[table] = {"rows": rows, "checksum": f"md5:{checksum}",
                        "max_ts": max_ts.isoformat() if max_ts is not None else None}
    return facts


# -- manifest files ------------------------------------------------------------------------------
def write_manifest(path: Path, manifest: dict) -> Path:
    make_dirs(path.parent)
    write_atomic(path, json.dumps({"version": MANIFEST_VERSION, **manifest}, indent=2, sort_keys=True))
    return path


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_dump(manifest: dict) -> Path:
    """The dump file of a PostgreSQL manifest, after checking its size and sha256."""
    dump = manifest.get("dump") or {}
    base = Path(manifest.get("manifest_dir", "."))
    path = base / dump.get("file", "")
    if not dump.get("file") or not path.is_file():
        raise PermanentError(f"the dump {path} named by the manifest is missing")
    size = path.stat().st_size
    if size != dump.get("bytes"):
        raise PermanentError(f"the dump {path} has {size} bytes, the manifest says {dump.get('bytes')}")
    digest = sha256_file(path)
    if digest != dump.get("sha256"):
        raise PermanentError(f"the dump {path} is corrupt: sha256 {digest} is not the manifest's "
                             f"{dump.get('sha256')}")
    return path


def load_manifest(path: str | os.PathLike) -> dict:
    """Read a manifest; for a PostgreSQL manifest, verify its dump before anyone uses it.

    `manifest_dir` (where the dump lives) is set to the manifest's own directory, so the backup
    store can be moved or mounted elsewhere; a copy of a returned manifest saved elsewhere (a run
    directory's manifests/) keeps the `manifest_dir` it carries when its dump is not beside it."""
    path = Path(path)
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise PermanentError(f"manifest {path} not found") from None
    except ValueError as err:
        raise PermanentError(f"manifest {path} is not valid JSON: {err}") from None
    if manifest.get("version") != MANIFEST_VERSION or manifest.get("kind") not in ("lake", "postgres"):
        raise PermanentError(f"manifest {path} has an unknown version or kind")
    here = path.parent.resolve()
    # what the manifest describes beside it: a dump, or a physical base backup's directory
    dump_file = (manifest.get("dump") or {}).get("file") or (manifest.get("base") or {}).get("dir")
    if not (manifest.get("manifest_dir") and dump_file and not (here / dump_file).exists()):
        manifest["manifest_dir"] = str(here)
    if manifest["kind"] == "postgres" and "base" not in manifest:  # a base backup is checked by pg_verifybackup
        verify_dump(manifest)
    return manifest


# -- comparison ----------------------------------------------------------------------------------
@dataclass
class ValidationResult:
    store: str  # "lake" | "postgres"
    exact: bool
    details: dict[str, dict] = field(default_factory=dict)  # per container / table
    mismatches: list[str] = field(default_factory=list)
    watermark: dict[str, Any] = field(default_factory=dict)  # expected / actual

    def to_evidence(self) -> dict:
        return {"store": self.store, "exact": self.exact, "mismatches": list(self.mismatches),
                "watermark": dict(self.watermark), "details": self.details}


def _same_fact(check: Check) -> SameFact:
    """What a data check compares: one fact of every object, against the manifest's."""
    if not isinstance(check.function, SameFact):
        raise TypeError(f"{check.component}: data check {check.name!r} compares no manifest fact (not a SameFact)")
    return check.function


def compare(store: str, expected: Mapping[str, dict | None], actual: Mapping[str, dict | None], checks: Sequence[Check],
            expected_watermark: int | None, actual_watermark: int | None) -> ValidationResult:
    """Exact comparison of facts, object by object, by each data check (a SameFact: smoke_tests/check.py);
    objects present on one side only are mismatches too."""
    facts = [_same_fact(check) for check in checks]
    keys = tuple(fact.fact for fact in facts)
    details, mismatches = {}, []
    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name), actual.get(name)
        if want is None or got is None:
            details[name] = {"expected": want, "actual": got, "exact": False}
            mismatches.append(f"{name}: {'missing' if got is None else 'not in the manifest'}")
            continue
        diff = [found for found in (fact(want, got) for fact in facts) if found is not None]
        details[name] = {"expected": {k: want.get(k) for k in keys},
                         "actual": {k: got.get(k) for k in keys}, "exact": not diff}
        mismatches += [f"{name}: {found}" for found in diff]
    if expected_watermark != actual_watermark:
        mismatches.append(f"watermark: expected {expected_watermark}, found {actual_watermark}")
    return ValidationResult(store=store, exact=not mismatches, details=details, mismatches=mismatches,
                            watermark={"expected": expected_watermark, "actual": actual_watermark})


def validated(evidence: dict) -> StepOutcome:
    """A validate step's outcome: exact, or a permanent failure naming the first mismatches."""
    if not evidence["exact"]:
        raise PermanentError(
            f"{evidence['store']} does not match its manifest: " + "; ".join(evidence["mismatches"][:5]), evidence
        )
    return StepOutcome(outputs={"exact": True}, evidence=evidence)
