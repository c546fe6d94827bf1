"""The lake's rehydration and validation walk listings once, in name order, and feed a bounded pool:
memory does not grow with the number of blobs. No timings here (bench/scale.py measures them):
these tests count how far a listing has been consumed when copies start, and check that order,
digests and resumability are what they were."""

from __future__ import annotations

import base64
import hashlib
import random
import threading
from types import SimpleNamespace

import pytest
from azure.storage.blob import BlobServiceClient, ContentSettings
from azurite_support import azurite_in_tempdir

from orchestrator.data.lake import listing as blob_listing
from orchestrator.data.lake.recovery import rehydrate_lake, run_pool, shared_key_source, validate_lake, with_namesakes
from orchestrator.data.lake.relay import RelayJournal
from orchestrator.data.manifest import lake_facts, listing_facts
from orchestrator.model import PermanentError
from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key

SOURCE, DEST, RESUMED, STALE = "scalesrc", "scaledst", "scaleresume", "scalestale"
BLOBS = 60
MAX_IN_FLIGHT = 3


def listed(name: str, size: int, md5: bytes | None) -> SimpleNamespace:
    """A listed blob as listing_facts reads it: name, size, content_settings (the SDK's own class)."""
    return SimpleNamespace(name=name, size=size, content_settings=ContentSettings(content_md5=md5))


def old_listing_facts(blobs) -> dict:
    """The algorithm before streaming: every line kept, sorted, then hashed (the digest must not change)."""
    lines, total, missing = [], 0, 0
    for blob in blobs:
        md5 = base64.b64encode(bytes(blob.content_settings.content_md5)).decode() \
            if blob.content_settings.content_md5 else None
        missing += md5 is None
        lines.append(f"{blob.name}\t{blob.size}\t{md5 or '-'}\n")
        total += blob.size
    digest = hashlib.sha256("".join(sorted(lines)).encode()).hexdigest()
    return {"blobs": len(lines), "bytes": total, "digest": f"sha256:{digest}", "missing_md5": missing}


def test_the_streamed_digest_is_the_old_digest_for_a_listing_in_name_order():
    rng = random.Random(17)
    alphabet = "aZ09-_./ ~éü漢"  # printable, as blob names are; "/" and " " sort below letters
    names = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(500)})
    names += [names[-1] + "x"]  # a name that extends another: sorts after it either way
    blobs = [listed(n, rng.randint(0, 5000), hashlib.md5(n.encode()).digest() if rng.random() < 0.9 else None)
             for n in sorted(names)]
    facts = listing_facts(iter(blobs))  # an iterator: it is walked once
    assert facts == old_listing_facts(blobs)
    assert set(facts) == {"blobs", "bytes", "digest", "missing_md5"} and facts["missing_md5"] > 0


@pytest.mark.parametrize("names", [["b", "a"], ["a", "a"], ["a", "c", "b"]])
def test_a_listing_out_of_name_order_is_refused_naming_the_two_blobs(names):
    with pytest.raises(PermanentError, match=r"container raw: the listing is not in ascending name order "
                                             rf"\('{names[-1]}' comes after '{names[-2]}'\)"):
        listing_facts([listed(n, 1, None) for n in names], "container raw")


def test_each_source_blob_meets_its_destination_namesake_in_one_walk():
    source = [listed(n, 1, None) for n in ("a", "b", "d", "f", "g")]
    dest = [listed(n, 2, None) for n in ("0", "b", "c", "d", "e", "g", "h")]
    pairs = [(blob.name, have.name if have else None) for blob, have in with_namesakes(source, dest, "raw")]
    assert pairs == [("a", None), ("b", "b"), ("d", "d"), ("f", None), ("g", "g")]


def test_a_destination_listing_out_of_order_is_refused():
    source = [listed(n, 1, None) for n in ("a", "b", "c", "d")]
    dest = [listed(n, 1, None) for n in ("a", "c", "b")]  # "b" is read on the way to "d"
    with pytest.raises(PermanentError, match="the destination listing of raw: the listing is not in ascending"):
        list(with_namesakes(source, dest, "raw"))


@pytest.mark.parametrize("name", ["a b/c~d.bin", "\u00e9/\u6f22\u5b57?x#y%z+&=.bin", "x//y", "plain"])
def test_a_source_url_is_the_blob_url_the_sdk_forms_with_a_read_sas_for_that_blob(name):
    key = base64.b64encode(b"k" * 64).decode()
    service = BlobServiceClient("http://127.0.0.1:10000/acct", credential={"account_name": "acct", "account_key": key})
    url, _, sas = shared_key_source(service, key)("raw", name).partition("?")
    assert url == service.get_blob_client("raw", name).url
    assert "sr=b" in sas and "sp=r" in sas and "sig=" in sas


def test_a_resumed_relay_reads_back_only_the_journal_lines_of_blobs_without_an_md5(tmp_path):
    journal = tmp_path / "lake-relay.jsonl"
    first = RelayJournal(journal)
    first.record("raw", "with-md5.bin", "s1", "d1", source_md5=True)
    first.record("raw", "no-md5.bin", "s2", "d2", source_md5=False)
    assert first.entries == {}  # what this run commits it never needs to look up again
    with open(journal, "a", encoding="utf-8") as out:  # a line from before the flag was written, then a torn one
        out.write('{"container": "raw", "name": "old.bin", "source_etag": "s3", "dest_etag": "d3"}\n{"contai')
    assert RelayJournal(journal).entries == {("raw", "no-md5.bin"): ("s2", "d2"), ("raw", "old.bin"): ("s3", "d3")}


class CountedJobs:
    """Jobs handed out one at a time, counting how many were taken; the work counts starts."""

    def __init__(self, total: int) -> None:
        self.total, self.taken, self.started, self.ahead = total, 0, 0, 0
        self._lock = threading.Lock()

    def __iter__(self):
        for n in range(self.total):
            self.taken += 1
            yield "raw", SimpleNamespace(name=f"b{n:04d}")

    def start(self) -> None:
        with self._lock:
            self.started += 1
            self.ahead = max(self.ahead, self.taken - self.started)  # taken from the listing, not begun


def test_the_pool_takes_jobs_only_as_it_has_room():
    jobs = CountedJobs(500)
    run_pool(lambda container, blob: jobs.start(), jobs, MAX_IN_FLIGHT, "test")
    assert jobs.started == jobs.taken == 500
    # a job is taken only by a thread free to start it: none waits beyond the threads' own
    assert jobs.ahead <= MAX_IN_FLIGHT


def test_the_first_failure_stops_the_pool_taking_jobs_and_is_raised():
    jobs = CountedJobs(500)

    def work(container: str, blob) -> None:
        jobs.start()
        if blob.name == "b0002":
            raise RuntimeError("copy b0002 failed")

    with pytest.raises(RuntimeError, match="copy b0002 failed"):
        run_pool(work, jobs, MAX_IN_FLIGHT, "test")
    assert jobs.taken <= 3 + MAX_IN_FLIGHT and jobs.started <= jobs.taken


def test_a_failing_listing_stops_the_pool_and_is_raised():
    def jobs():
        yield "raw", SimpleNamespace(name="b0000")
        raise PermanentError("the listing is not in ascending name order")

    done = []
    with pytest.raises(PermanentError, match="ascending"):
        run_pool(lambda container, blob: done.append(blob.name), jobs(), MAX_IN_FLIGHT, "test")
    assert done == ["b0000"]


# -- against Azurite ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def azurite():
    def make(workdir):
        return AzuriteServer(workdir / "azurite", {a: generate_account_key() for a in (SOURCE, DEST, RESUMED, STALE)})

    with azurite_in_tempdir("drctl-lake-streaming-", make) as (server, _):
        source = server.service_client(SOURCE)
        for zone in ("raw", "curated"):
            source.create_container(zone)
        for n in range(BLOBS):
            data = f"blob {n} ".encode() * (n + 1)
            source.get_blob_client("raw" if n % 4 else "curated", f"part-{n:04d}.bin").upload_blob(
                data, content_settings=ContentSettings(content_md5=bytearray(hashlib.md5(data).digest())))
        yield server


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of 7 blobs, so a walk crosses many page boundaries (the service's continuation tokens)."""
    monkeypatch.setattr(blob_listing, "LIGHT_LISTING_PAGE", 7)


def counted_listing(server: AzuriteServer, progress: dict):
    def listing(container: str):
        for blob in server.service_client(SOURCE).get_container_client(container).list_blobs(results_per_page=7):
            progress["taken"] += 1
            yield blob

    return listing


@pytest.mark.integration
def test_copies_start_before_the_listing_is_walked_and_stay_bounded(azurite, small_pages):
    progress = {"taken": 0, "started": 0, "taken_at_first_copy": None, "ahead": 0}
    lock, sign = threading.Lock(), shared_key_source(azurite.service_client(SOURCE), azurite.account_key(SOURCE))

    def source_url(container: str, name: str) -> str:  # called as each copy starts
        with lock:
            progress["started"] += 1
            if progress["taken_at_first_copy"] is None:
                progress["taken_at_first_copy"] = progress["taken"]
            progress["ahead"] = max(progress["ahead"], progress["taken"] - progress["started"])
        return sign(container, name)

    source, dest = azurite.service_client(SOURCE), azurite.service_client(DEST)
    evidence = rehydrate_lake(source, dest, source_url, ["curated", "raw"], MAX_IN_FLIGHT, poll_interval_s=0.01,
                              listing=counted_listing(azurite, progress))
    assert evidence["copied"] == evidence["blobs"] == progress["taken"] == progress["started"] == BLOBS
    assert progress["taken_at_first_copy"] <= MAX_IN_FLIGHT < BLOBS
    assert progress["ahead"] <= MAX_IN_FLIGHT
    manifest_ = {"containers": lake_facts(source, ["curated", "raw"]), "watermark": None}
    assert validate_lake(dest, manifest_).exact


@pytest.mark.integration
def test_a_rehydration_stopped_part_way_resumes_copying_only_the_rest(azurite, small_pages):
    source, dest = azurite.service_client(SOURCE), azurite.service_client(RESUMED)
    sign, calls = shared_key_source(source, azurite.account_key(SOURCE)), []

    def dies_after_20(container: str, name: str) -> str:
        calls.append(name)
        if len(calls) > 20:
            raise ConnectionError("the runner lost its network (the test's interruption)")
        return sign(container, name)

    with pytest.raises(Exception, match="lost its network"):
        rehydrate_lake(source, dest, dies_after_20, ["curated", "raw"], 1, poll_interval_s=0.01)
    resumed = rehydrate_lake(source, dest, azurite.account_key(SOURCE), ["curated", "raw"], MAX_IN_FLIGHT,
                             poll_interval_s=0.01)
    assert (resumed["skipped"], resumed["copied"], resumed["blobs"]) == (20, BLOBS - 20, BLOBS)
    again = rehydrate_lake(source, dest, azurite.account_key(SOURCE), ["curated", "raw"], poll_interval_s=0.01)
    assert (again["skipped"], again["copied"]) == (BLOBS, 0)


@pytest.mark.integration
def test_stale_and_extra_destination_blobs_between_the_source_names_are_paired_right(azurite, small_pages):
    source, dest = azurite.service_client(SOURCE), azurite.service_client(STALE)
    rehydrate_lake(source, dest, azurite.account_key(SOURCE), ["raw"], poll_interval_s=0.01)
    raw = dest.get_container_client("raw")
    raw.upload_blob("part-0005.bin", b"not the source's bytes", overwrite=True)  # stale: copied again
    for name in ("part-0005.bin.tmp", "part-0006a.bin", "zzz-extra.bin", "a-first.bin"):  # between and around
        raw.upload_blob(name, b"extra")
    again = rehydrate_lake(source, dest, azurite.account_key(SOURCE), ["raw"], poll_interval_s=0.01)
    raw_blobs = sum(1 for n in range(BLOBS) if n % 4)
    assert (again["blobs"], again["copied"], again["skipped"]) == (raw_blobs, 1, raw_blobs - 1)


@pytest.mark.integration
def test_a_source_listing_out_of_name_order_is_refused(azurite):
    source, dest = azurite.service_client(SOURCE), azurite.service_client(DEST)
    backwards = list(reversed(list(source.get_container_client("raw").list_blobs())))
    with pytest.raises(PermanentError, match="the source listing of raw: the listing is not in ascending name"):
        rehydrate_lake(source, dest, azurite.account_key(SOURCE), ["raw"], listing=lambda container: backwards)


@pytest.mark.integration
def test_facts_over_many_pages_equal_the_old_facts_of_the_whole_listing(azurite, small_pages):
    source = azurite.service_client(SOURCE)
    whole = list(source.get_container_client("raw").list_blobs(results_per_page=5000))
    assert lake_facts(source, ["raw"])["raw"] == old_listing_facts(whole)
