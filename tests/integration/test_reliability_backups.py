"""Corrupt or missing backups: the catalogue of backup generations (no servers), lake generations on a
real Azurite, and reliability/suite_backups.py's drills end to end.

Workdirs of tests that start servers come from tempfile.mkdtemp, not pytest's tmp_path: every
pytest session resets /tmp/pytest-of-<user> to 0700, which would cut the postgres user off its data.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from azure.storage.blob import ContentSettings

from orchestrator.data.backup_catalog import (
    INDEX,
    BadGeneration,
    choose,
    copy_to_run,
    damage_backups,
    damage_postgres_generation,
    generation_dir,
    next_generation,
    parse_damage,
    postgres_check,
    read_catalog,
    record_generation,
)
from orchestrator.data.manifest import lake_facts, load_manifest, sha256_file, write_manifest
from orchestrator.model import PermanentError, TransientError
from reliability import suite_backups

REPO = Path(__file__).resolve().parents[2]


# -- the catalogue, with real files and no servers ---------------------------------------------------------
def _pg_generation(backup: Path, watermark: int) -> dict:
    """A PostgreSQL generation as backup_postgres_generation lays it out: a dump and its manifest."""
    generation = next_generation(backup)
    folder = generation_dir(backup, generation) / "postgres" / "app"
    folder.mkdir(parents=True)
    dump = folder / "app.dump"
    dump.write_bytes(os.urandom(2048) + bytes([watermark]))
    manifest = load_manifest(write_manifest(folder / "manifest.json", {
        "kind": "postgres", "database": "app", "tables": {}, "watermark": watermark, "generation": generation,
        "dump": {"file": "app.dump", "bytes": dump.stat().st_size, "sha256": sha256_file(dump)}}))
    record_generation(backup, generation, {"postgres": manifest})
    return manifest


@pytest.fixture
def store(tmp_path) -> Path:
    backup = tmp_path / "backup"
    for watermark in (3, 5):
        _pg_generation(backup, watermark)
    return backup


def test_generations_are_recorded_in_the_order_taken_and_never_twice(store):
    catalog = read_catalog(store / INDEX)
    assert [g["id"] for g in catalog["generations"]] == ["g001", "g002"]
    assert [g["stores"]["postgres"]["watermark"] for g in catalog["generations"]] == [3, 5]
    assert catalog["generations"][0]["stores"]["postgres"]["manifest"] == "generations/g001/postgres/app/manifest.json"
    assert next_generation(store) == "g003"
    with pytest.raises(ValueError, match="already"):
        record_generation(store, "g002", {"postgres": load_manifest(generation_dir(store, "g002") /
                                                                    "postgres/app/manifest.json")})


def test_the_newest_good_generation_is_chosen_and_a_damaged_one_is_skipped_with_its_reason(store):
    chosen = choose(store / INDEX, "postgres", postgres_check)
    assert (chosen.generation, chosen.manifest["watermark"]) == ("g002", 5)
    assert chosen.outputs()["backup_generations_skipped"] == 0

    newest = load_manifest(generation_dir(store, "g002") / "postgres/app/manifest.json")
    done = damage_postgres_generation(newest, "corrupt")
    dump = generation_dir(store, "g002") / "postgres/app/app.dump"
    assert dump.stat().st_size == newest["dump"]["bytes"] and "size unchanged" in done["what"]  # only sha256 tells
    chosen = choose(store / INDEX, "postgres", postgres_check)
    assert (chosen.generation, chosen.manifest["watermark"]) == ("g001", 3)
    assert chosen.outputs() == {"backup_generation": "g001", "manifest": "generations/g001/postgres/app/manifest.json",
                                "backup_generations_skipped": 1, "recovery_point": None,
                                "backup_point": chosen.checked[-1]["data_end"]}
    skipped, good = chosen.evidence()["backup_generations_checked"]
    assert (skipped["generation"], skipped["good"], skipped["watermark"]) == ("g002", False, 5)
    assert "is corrupt: sha256" in skipped["reason"]
    assert (good["generation"], good["good"]) == ("g001", True)


def test_no_good_generation_fails_permanently_naming_each_and_why(store):
    for generation, how in (("g002", "missing"), ("g001", "corrupt")):
        damage_postgres_generation(load_manifest(generation_dir(store, generation) / "postgres/app/manifest.json"), how)
    with pytest.raises(PermanentError) as failure:
        choose(store / INDEX, "postgres", postgres_check)
    message = str(failure.value)
    assert "no good postgres backup generation (2 checked, newest first)" in message
    assert message.index("g002: ") < message.index("g001: ")
    assert "is missing" in message.split("g001: ")[0] and "is corrupt" in message.split("g001: ")[1]
    assert [c["good"] for c in failure.value.evidence["backup_generations_checked"]] == [False, False]
    with pytest.raises(PermanentError, match="no lake backup generation"):
        choose(store / INDEX, "lake", postgres_check)


def test_only_a_verdict_on_the_backup_moves_on_to_an_older_generation(store):
    # A service that does not answer, or refuses access, says nothing about the backup: the step
    # must be retried or fail as such, not quietly restore older data.
    for error in (TransientError("throttled"), PermanentError("access denied")):
        def check(path: Path, error=error) -> dict:
            raise error
        with pytest.raises(type(error), match=str(error)):
            choose(store / INDEX, "postgres", check)
    seen = []

    def newest_bad(path: Path) -> dict:
        seen.append(path)
        if "g002" in str(path):
            raise BadGeneration("lost")
        return load_manifest(path)
    assert choose(store / INDEX, "postgres", newest_bad).generation == "g001" and len(seen) == 2


def test_a_manifest_disagreeing_with_the_catalogue_is_a_bad_generation(store):
    index = json.loads((store / INDEX).read_text())
    index["generations"][1]["stores"]["postgres"]["watermark"] = 7
    (store / INDEX).write_text(json.dumps(index))
    chosen = choose(store / INDEX, "postgres", postgres_check)
    assert chosen.generation == "g001"
    assert "watermark 5 is not the catalogue's 7" in chosen.checked[0]["reason"]


def test_a_run_keeps_every_generation_s_manifests_even_when_a_dump_is_damaged_later(store, tmp_path):
    damage_backups(store, "postgres:missing", geo_copy=None)  # the newest dump gone before the copy
    manifests = tmp_path / "run" / "manifests"
    copy_to_run(store, manifests)
    assert sorted(str(p.relative_to(manifests)) for p in manifests.rglob("*.json")) == [
        "catalog.json", "generations/g001/postgres-app.json", "postgres-app.json"]  # newest where it always was
    run_catalog = read_catalog(manifests / INDEX)
    assert [g["stores"]["postgres"]["manifest"] for g in run_catalog["generations"]] == [
        "generations/g001/postgres-app.json", "postgres-app.json"]
    chosen = choose(manifests / INDEX, "postgres", postgres_check)  # the run's copies find the store's dumps
    assert (chosen.generation, chosen.manifest_path) == ("g001", "generations/g001/postgres-app.json")
    assert Path(chosen.manifest["manifest_dir"]) == (generation_dir(store, "g001") / "postgres/app").resolve()


def test_every_generation_damage_reaches_every_generation(store):
    done = damage_backups(store, "postgres:every-generation", geo_copy=None)
    assert [(d["store"], d["generation"], d["damage"]) for d in done] == [
        ("postgres", "g002", "corrupt"), ("postgres", "g001", "corrupt")]
    assert damage_backups(store, None, geo_copy=None) == []


def test_damage_specs_are_parsed_or_refused():
    assert parse_damage("postgres") == (("postgres",), "corrupt")
    assert parse_damage("all:missing") == (("lake", "postgres"), "missing")
    assert parse_damage("lake:every-generation") == (("lake",), "every-generation")
    assert parse_damage(None) == ((), "corrupt")
    for bad in ("pg", "postgres:flipped", "all:", ":missing"):
        with pytest.raises(ValueError):
            parse_damage(bad)


def test_a_bad_damage_spec_is_bad_input_and_touches_nothing(tmp_path):
    workdir = tmp_path / "wd"
    result = subprocess.run([sys.executable, "-m", "orchestrator.cli", "drill", "--local", "--workdir", str(workdir),
                             "--corrupt-latest-backup", "postgres:flipped"], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--corrupt-latest-backup" in result.stderr
    assert "Traceback" not in result.stderr and not workdir.exists()


def test_the_suite_s_checker_catches_what_it_must():
    case = suite_backups.CASES[1]  # latest postgres base backup corrupt
    summary, evidence, prelude = _passing_run(case)
    assert suite_backups.check(case, 0, "", summary, evidence, prelude) == []

    wrong_rpo = copy.deepcopy(summary)
    wrong_rpo["rpo_s_before_replay"] = suite_backups.data_age_s("g001")  # PostgreSQL's WAL not replayed past g001
    assert any("RPO before replay" in p for p in suite_backups.check(case, 0, "", wrong_rpo, evidence, prelude))
    short = copy.deepcopy(evidence)  # the older base backup restored without its WAL: g001's watermark
    short["postgres.rehydrate"]["outputs"].update(restored_batch=3, watermark=3)
    assert any("restored to batch 3" in p for p in suite_backups.check(case, 0, "", summary, short, prelude))
    newest = copy.deepcopy(evidence)
    newest["postgres.rehydrate"]["outputs"]["backup_generation"] = "g002"
    assert any("restored g002" in p for p in suite_backups.check(case, 0, "", summary, newest, prelude))
    inexact = copy.deepcopy(evidence)
    inexact["postgres.validate"]["evidence"]["exact"] = False
    assert any("validation not exact" in p for p in suite_backups.check(case, 0, "", summary, inexact, prelude))
    unexplained = copy.deepcopy(evidence)
    unexplained["postgres.rehydrate"]["evidence"]["backup_generations_checked"][0]["reason"] = "?"
    assert any("not skipped" in p for p in suite_backups.check(case, 0, "", summary, unexplained, prelude))
    assert any("exit 1" in p for p in suite_backups.check(case, 1, "", summary, evidence, prelude))


def _passing_run(case: suite_backups.Case) -> tuple[dict, dict, dict]:
    """What a correct run of `case` (one damaged store, recovered) leaves, built from the suite's constants."""
    evidence, generations = {}, []
    for generation, watermark in suite_backups.WATERMARKS.items():
        generations.append({"generation": generation, "stores": {s: {"watermark": watermark} for s in ("lake", "postgres")}})
    for store in ("lake", "postgres"):
        want = case.restored(store)
        # PostgreSQL replays its WAL archive past any base backup: here up to the batch before the delta
        mark = suite_backups.WATERMARKS["g002" if store == "postgres" else want]
        checked = [{"generation": "g002", "good": False, "reason": suite_backups.REASONS[(store, case.how)]},
                   {"generation": "g001", "good": True}] if want == "g001" else [{"generation": "g002", "good": True}]
        outputs = {"backup_generation": want, "watermark": mark, **({"restored_batch": mark} if store == "postgres" else {})}
        evidence[f"{store}.rehydrate"] = {"state": "succeeded", "outputs": outputs,
                                          "evidence": {"backup_generations_checked": checked}}
        evidence[f"{store}.validate"] = {"state": "succeeded",
                                         "evidence": {"exact": True, "watermark": {"expected": mark, "actual": mark}}}
        evidence[f"{store}.replay"] = {"outputs": {"rpo_before_replay_s": suite_backups.age_of(mark),
                                                   "rpo_after_replay_s": 0.0,
                                                   "batches_replayed": suite_backups.LATEST - mark},
                                       "evidence": {"from_watermark": mark}}
    ages = [suite_backups.data_age_s(case.restored("lake") or "g002"), suite_backups.data_age_s("g002")]
    summary = {"outcome": "recovered", "rpo_s_before_replay": max(ages), "rpo_s_after_replay": 0.0}
    prelude = {"backup": {"generations": generations,
                          "damaged": [{"store": s, "generation": "g002"} for s in case.damaged]}}
    return summary, evidence, prelude


# -- lake generations on a real Azurite ------------------------------------------------------------------
@pytest.fixture
def azurite_pair():
    from orchestrator.targets.local.region import LocalRegionPair

    workdir = Path(tempfile.mkdtemp(prefix="drctl-lakegen-"))
    pair = LocalRegionPair(workdir, "lakeprim", "lakesec")
    pair.start_geo_copy()
    pair.secondary_azurite.start()  # another instance: a restore relays the bytes, as on Azure
    try:
        yield pair
    finally:
        pair.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _put(service, container: str, name: str, data: bytes) -> None:
    service.get_blob_client(container, name).upload_blob(
        data, overwrite=True, content_settings=ContentSettings(content_md5=bytearray(hashlib.md5(data).digest())))


@pytest.mark.integration
def test_replication_mirrors_new_changed_and_deleted_blobs(azurite_pair):
    from orchestrator.data.backup import replicate_lake

    primary, geo = azurite_pair.secondary_lake(), azurite_pair.geo_copy_lake()  # any two accounts will do
    primary.create_container("raw")
    for k in range(5):
        _put(primary, "raw", f"batch-{k}", f"raw {k}".encode())
    assert replicate_lake(primary, geo, ("raw",), workers=2) == {"copied": 5, "deleted": 0, "unchanged": 0}
    _put(primary, "raw", "batch-1", b"changed")
    primary.get_blob_client("raw", "batch-3").delete_blob()
    _put(primary, "raw", "batch-7", b"new")
    assert replicate_lake(primary, geo, ("raw",), workers=2) == {"copied": 2, "deleted": 1, "unchanged": 3}
    assert lake_facts(geo, ["raw"]) == lake_facts(primary, ["raw"])


@pytest.mark.integration
def test_a_lake_generation_pins_its_state_detects_loss_and_restores_through_the_relay(azurite_pair, tmp_path):
    from orchestrator.data.backup_catalog import lake_check
    from orchestrator.data.lake.generations import (
        check_lake_generation,
        damage_lake_generation,
        generation_items,
        prune_to_generation,
        snapshot_lake,
        snapshot_listing,
    )
    from orchestrator.data.lake.relay import METHOD, relay_lake
    from orchestrator.data.manifest import listing_facts

    geo, dest = azurite_pair.geo_copy_lake(), azurite_pair.secondary_lake()
    for container in ("raw", "curated"):
        geo.create_container(container)
        for k in range(3):
            _put(geo, container, f"batch-{k}", f"{container} {k}".encode())
    facts = lake_facts(geo, ["raw", "curated"])
    time.sleep(1.1)  # blobs created before the window's first second: a lost snapshot's blob is named
    window = snapshot_lake(geo, ["raw", "curated"])
    assert window is not None and window["start"] <= window["end"]  # ids of the service's own clock
    manifest = {"containers": facts, "snapshot_window": window, "generation": "g001"}
    assert {c: listing_facts(generation_items(geo, c, window)) for c in facts} == facts

    # The mirror moves on (the next replication, and the next generation's snapshots); the
    # generation still holds its own state: per blob, its newest snapshot inside its window.
    _put(geo, "raw", "batch-0", b"rewritten later")
    _put(geo, "raw", "batch-9", b"newer data")
    later = snapshot_lake(geo, ["raw"])
    assert later is not None and later["start"] > window["end"]
    assert check_lake_generation(geo, manifest, ["raw", "curated"]) is None
    assert listing_facts(generation_items(geo, "raw", later))["blobs"] == 4  # the later one has batch-9
    evidence = relay_lake(geo, dest, ["raw", "curated"], journal=tmp_path / "relay.jsonl",
                          listing=snapshot_listing(geo, window))
    assert evidence["copied"] == 6 and evidence["method"] == METHOD
    assert evidence["payload_bytes_through_drctl"] == sum(f["bytes"] for f in facts.values())
    assert lake_facts(dest, ["raw", "curated"]) == facts  # the pinned state, not the mirror's newer one
    assert dest.get_blob_client("raw", "batch-0").download_blob().readall() == b"raw 0"
    # An attempt that had restored a newer generation left a blob this one lacks: pruned, so the
    # store is exactly the generation restored, nothing more.
    _put(dest, "raw", "batch-9", b"newer data")
    assert prune_to_generation(dest, snapshot_listing(geo, window), ["raw", "curated"]) == ["raw/batch-9"]
    assert lake_facts(dest, ["raw", "curated"]) == facts

    done = damage_lake_generation(geo, manifest, "corrupt")
    assert done["snapshots_deleted"] == 2 and done["examples"] == ["curated/batch-2", "raw/batch-2"]
    problem = check_lake_generation(geo, manifest, ["raw", "curated"])
    assert "raw: 1 of 3 blob snapshots missing (batch-2)" in problem and "curated: 1 of 3" in problem
    assert check_lake_generation(geo, manifest, []) is None  # only the zones a restore copies count
    assert "not a lake backup generation" in check_lake_generation(geo, {"containers": facts}, ["raw"])
    # a manifest of before windows, with a per-blob map, is not read
    assert "not a lake backup generation" in check_lake_generation(
        geo, {"containers": facts, "snapshots": {"raw": {}}}, ["raw"])

    path = write_manifest(Path(tempfile.mkdtemp(prefix="drctl-lakegen-m-")) / "lake.json",
                          {"kind": "lake", **manifest})
    with pytest.raises(BadGeneration, match="blob snapshots missing"):
        lake_check(geo, ["raw"])(path)
    shutil.rmtree(path.parent, ignore_errors=True)


# -- the suite: real drills, one per case ---------------------------------------------------------------
@pytest.mark.integration
def test_the_backups_suite_passes_every_case():
    workdir = Path(tempfile.mkdtemp(prefix="drctl-reliability-backups-"))
    started = time.monotonic()
    try:
        result = suite_backups.run(full=False, workdir=workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    assert result["outcome"] == "passed", result["notes"]
    figures = result["figures"]
    assert figures["cases"] == figures["cases passed"] == len(suite_backups.CASES)
    assert figures["latest postgres base backup corrupt: restored"] == "lake g002, postgres g001"
    # PostgreSQL's older base backup plus the WAL archive reaches at least the newest generation's batch
    assert figures["latest postgres base backup corrupt: rpo before replay (s)"] <= suite_backups.data_age_s("g002")
    assert figures["control (no damage): rpo before replay (s)"] == suite_backups.data_age_s("g002")
    # the lake has no log to replay: falling back costs it data age
    assert figures["latest lake generation lost blobs: rpo before replay (s)"] == suite_backups.data_age_s("g001")
    assert figures["every postgres generation corrupt: outcome"] == "partial"
    assert time.monotonic() - started < 900
