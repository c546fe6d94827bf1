"""The relay copy engine (orchestrator/data/lake/relay.py) against Azurite, with Entra tokens only.

Two accounts of one OAuth Azurite (tests/oauth_azurite.py) play the private geo copy and the new
account. The engine must move the bytes itself (no Copy Blob), in chunks no larger than asked,
keep content settings, metadata and Content-MD5 (or its absence), and resume after an interruption
without copying again what it finished.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import tempfile
from pathlib import Path

import pytest
from azure.storage.blob import BlobClient, BlobServiceClient, ContentSettings

from orchestrator.data.ingest import ZONES, LakeSink
from orchestrator.data.lake.recovery import validate_lake
from orchestrator.data.lake.relay import METHOD, relay_lake
from orchestrator.data.replay import catch_up
from orchestrator.data.source import SourceSystem
from orchestrator.model import PermanentError, TransientError
from orchestrator.targets.azure.stores.lake import aad_blob_service, manifest_from_listing
from orchestrator.targets.local.servers.azurite import azurite_binary, generate_account_key
from tests.oauth_azurite import EntraLikeCredential, OAuthAzurite, self_signed

pytestmark = pytest.mark.integration

GEO = "contosolakeaue"
DESTS = ("relaynew", "relayresume", "relaymidblob", "relaynojournal")
CHUNK = 64 * 1024
BIG = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(7000))  # 224,000 bytes: 4 chunks
BIG_SETTINGS = ContentSettings(content_type="application/x-ndjson", content_encoding="identity",
                               content_language="en-AU", content_disposition="attachment; filename=big.bin",
                               cache_control="no-cache")
BIG_METADATA = {"producer": "ingest_events", "batch": "42"}
# Listed before the zone's own blobs ("_watermark.json", "events/..."): digits sort first.
BIG_NAME, NO_MD5_NAME, EMPTY_NAME = "0-big.bin", "1-no-md5.bin", "2-empty.bin"


@pytest.fixture(scope="module")
def azurite():
    try:
        azurite_binary()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    workdir = Path(tempfile.mkdtemp(prefix="drctl-lake-relay-"))
    cert, key = self_signed(workdir)
    server = OAuthAzurite(workdir / "azurite", {a: generate_account_key() for a in (GEO, *DESTS)}, cert, key)
    sent: list[tuple[str, str, dict]] = []

    def record(response) -> None:
        request = response.http_request
        sent.append((request.method, request.url, dict(request.headers)))

    def aad(account: str) -> BlobServiceClient:
        return aad_blob_service(server.blob_endpoint(account), EntraLikeCredential(), connection_verify=str(cert),
                                raw_response_hook=record, retry_total=0)

    try:
        server.start()
        seed = BlobServiceClient(server.blob_endpoint(GEO), connection_verify=str(cert),
                                 credential={"account_name": GEO, "account_key": server.account_key(GEO)})
        source = SourceSystem(workdir / "source", batch_size=20, seed=11, interval_s=3600)
        source.produce(3)
        catch_up([LakeSink(seed)], source)
        raw = seed.get_container_client("raw")
        raw.upload_blob(BIG_NAME, BIG, content_settings=BIG_SETTINGS, metadata=BIG_METADATA)
        # Put Block List without an MD5 leaves the blob without one, as large uploads often are.
        no_md5 = raw.get_blob_client(NO_MD5_NAME)
        no_md5.stage_block("b0", b"no content md5 here")
        no_md5.commit_block_list(["b0"])
        raw.upload_blob(EMPTY_NAME, b"")
        yield {"aad": aad, "sent": sent, "seed": seed, "workdir": workdir}
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def relayed(azurite):
    geo, new = azurite["aad"](GEO), azurite["aad"]("relaynew")
    manifest = manifest_from_listing(geo, ZONES, last_sync_time=None, account=GEO)
    azurite["sent"].clear()
    said: list[str] = []
    evidence = relay_lake(geo, new, ZONES, max_in_flight=3, chunk_bytes=CHUNK, say=said.append,
                          journal=azurite["workdir"] / "relaynew.jsonl")
    return {"manifest": manifest, "evidence": evidence, "said": said, "sent": list(azurite["sent"]), "new": new}


def test_the_relay_copies_the_geo_copy_exactly_with_its_own_reads_and_writes(relayed):
    evidence, manifest = relayed["evidence"], relayed["manifest"]
    total = sum(c["blobs"] for c in manifest["containers"].values())
    assert evidence["method"] == METHOD
    assert evidence["blobs"] == evidence["copied"] == total and evidence["skipped"] == 0
    assert evidence["payload_bytes_through_drctl"] == evidence["bytes"] > len(BIG)
    validation = validate_lake(relayed["new"], manifest)
    assert validation.exact, validation.mismatches
    assert manifest["containers"]["raw"]["missing_md5"] == 1  # the MD5-less blob stays MD5-less
    # said as the listings are walked: what is left to copy is known only at the end
    assert relayed["said"][0].startswith("lake relay: copying what the destination lacks") and \
        relayed["said"][-1].startswith(f"lake relay: {total}/{total} blobs")


def test_the_relay_never_asks_the_service_to_copy_and_uses_tokens_only(relayed):
    sent = relayed["sent"]
    assert sent and {headers.get("Authorization", "").split(" ")[0] for _, _, headers in sent} == {"Bearer"}
    assert not [url for _, url, headers in sent if "x-ms-copy-source" in headers]
    assert not [url for _, url, _ in sent if "sig=" in url]  # no SAS anywhere


def test_a_blob_larger_than_a_chunk_moves_in_chunks_and_keeps_its_settings_and_metadata(relayed):
    sent = relayed["sent"]
    reads = [headers["x-ms-range"] for method, url, headers in sent
             if method == "GET" and f"/raw/{BIG_NAME}" in url and "x-ms-range" in headers]
    spans = [tuple(int(x) for x in r.removeprefix("bytes=").split("-")) for r in reads]
    assert spans == [(o, min(o + CHUNK, len(BIG)) - 1) for o in range(0, len(BIG), CHUNK)]
    staged = [int(headers["Content-Length"]) for method, url, headers in sent
              if method == "PUT" and f"/raw/{BIG_NAME}" in url and "comp=block&" in url + "&"]
    assert len(staged) == 4 and max(staged) == CHUNK and sum(staged) == len(BIG)
    assert all("Content-MD5" in headers for method, url, headers in sent
               if method == "PUT" and "comp=block&" in url + "&")  # each block checked in transit
    props = relayed["new"].get_blob_client("raw", BIG_NAME).get_blob_properties()
    assert props.size == len(BIG) and props.metadata == BIG_METADATA
    assert base64.b64encode(bytes(props.content_settings.content_md5)).decode() == \
        base64.b64encode(hashlib.md5(BIG).digest()).decode()
    for field in ("content_type", "content_encoding", "content_language", "content_disposition", "cache_control"):
        assert getattr(props.content_settings, field) == getattr(BIG_SETTINGS, field), field
    assert relayed["new"].get_blob_client("raw", BIG_NAME).download_blob().readall() == BIG
    assert relayed["new"].get_blob_client("raw", NO_MD5_NAME).get_blob_properties().content_settings.content_md5 is None
    assert relayed["new"].get_blob_client("raw", EMPTY_NAME).get_blob_properties().size == 0


def test_a_second_run_copies_nothing_the_journal_covering_the_blob_without_an_md5(azurite, relayed):
    again = relay_lake(azurite["aad"](GEO), relayed["new"], ZONES, chunk_bytes=CHUNK,
                       journal=azurite["workdir"] / "relaynew.jsonl")
    assert (again["copied"], again["skipped"], again["payload_bytes_through_drctl"]) == (0, again["blobs"], 0)


def test_without_the_journal_only_the_blob_without_an_md5_is_copied_again(azurite, relayed):
    again = relay_lake(azurite["aad"](GEO), relayed["new"], ["raw"], chunk_bytes=CHUNK)
    assert again["copied"] == 1 and again["bytes_copied"] == len(b"no content md5 here")


def test_a_small_blob_with_an_md5_is_one_put_blob_carrying_it_and_one_without_goes_by_blocks(relayed):
    writes = {}
    for method, url, headers in relayed["sent"]:
        if method == "PUT" and "/raw/" in url:
            writes.setdefault(url.split("?")[0].rsplit("/raw/", 1)[1], []).append((url, headers))
    small = [name for name in writes if name.startswith("events/")]
    assert small and all(len(writes[name]) == 1 and "comp=" not in writes[name][0][0] for name in small)
    assert all("x-ms-blob-content-md5" in headers and "Content-MD5" in headers
               for name in small for _, headers in writes[name])  # stored as the source's, checked in transit
    # without a source MD5 a Put Blob would compute one: the MD5-less blob is a block and a block list
    assert sorted("comp=blocklist" in url for url, _ in writes[NO_MD5_NAME]) == [False, True]


def _interrupt_after(monkeypatch, methods: str | tuple[str, ...], calls: int) -> None:
    """The runner dies (its connection drops) on the `calls`+1-th call of BlobClient's `methods`, counted together."""
    seen: list[str] = []

    def flaky(real):
        def call(self, *args, **kwargs):
            if len(seen) >= calls:
                raise ConnectionError("connection reset by peer (the test's interruption)")
            seen.append(self.blob_name)
            return real(self, *args, **kwargs)
        return call

    for method in (methods,) if isinstance(methods, str) else methods:
        monkeypatch.setattr(BlobClient, method, flaky(getattr(BlobClient, method)))


def test_a_relay_interrupted_after_three_blobs_resumes_with_the_rest(azurite, relayed, monkeypatch):
    geo, dest = azurite["aad"](GEO), azurite["aad"]("relayresume")
    journal = azurite["workdir"] / "relayresume.jsonl"
    with monkeypatch.context() as patch:
        _interrupt_after(patch, ("commit_block_list", "upload_blob"), 3)  # a blob is written by one or the other
        with pytest.raises(TransientError, match="connection reset"):
            relay_lake(geo, dest, ZONES, max_in_flight=1, chunk_bytes=CHUNK, journal=journal)
    assert len(journal.read_text().splitlines()) == 3  # big, no-md5, empty: committed and recorded
    no_md5_etag = dest.get_blob_client("raw", NO_MD5_NAME).get_blob_properties().etag
    resumed = relay_lake(geo, dest, ZONES, max_in_flight=2, chunk_bytes=CHUNK, journal=journal)
    assert resumed["skipped"] == 3 and resumed["copied"] == resumed["blobs"] - 3
    assert resumed["containers"]["raw"]["bytes_copied"] < resumed["containers"]["raw"]["bytes"] - len(BIG)
    assert dest.get_blob_client("raw", NO_MD5_NAME).get_blob_properties().etag == no_md5_etag  # not rewritten
    assert validate_lake(dest, relayed["manifest"]).exact


def test_a_relay_interrupted_inside_a_large_blob_rewrites_that_blob_whole(azurite, relayed, monkeypatch):
    geo, dest = azurite["aad"](GEO), azurite["aad"]("relaymidblob")
    with monkeypatch.context() as patch:
        _interrupt_after(patch, "stage_block", 2)  # two of the big blob's four blocks staged
        with pytest.raises(TransientError):
            relay_lake(geo, dest, ["raw"], max_in_flight=1, chunk_bytes=CHUNK)
    assert not dest.get_blob_client("raw", BIG_NAME).exists()  # staged blocks are not a blob
    resumed = relay_lake(geo, dest, ["raw"], max_in_flight=1, chunk_bytes=CHUNK)
    assert resumed["copied"] == resumed["blobs"]
    committed, uncommitted = dest.get_blob_client("raw", BIG_NAME).get_block_list("all")
    assert len(committed) == 4 and not uncommitted
    assert dest.get_blob_client("raw", BIG_NAME).download_blob().readall() == BIG


def test_a_source_blob_that_changes_while_relayed_is_a_transient_error(azurite):
    seed, geo = azurite["seed"], azurite["aad"](GEO)
    seed.create_container("changing")
    seed.get_blob_client("changing", "a.bin").upload_blob(b"version one" * 10000)
    listed = list(geo.get_container_client("changing").list_blobs(include=["metadata"]))

    def listing_then_overwrite(container: str):
        seed.get_blob_client("changing", "a.bin").upload_blob(b"version two", overwrite=True)
        return listed

    try:
        with pytest.raises(TransientError, match="changed while it was read"):
            relay_lake(geo, azurite["aad"]("relaynojournal"), ["changing"], chunk_bytes=CHUNK,
                       listing=listing_then_overwrite)
    finally:
        seed.delete_container("changing")


def test_bytes_that_do_not_match_the_source_md5_are_never_committed(azurite):
    seed, geo, dest = azurite["seed"], azurite["aad"](GEO), azurite["aad"]("relaynojournal")
    seed.create_container("lying")
    blob = seed.get_blob_client("lying", "a.bin")
    blob.upload_blob(b"payload")
    blob.set_http_headers(ContentSettings(content_md5=bytearray(hashlib.md5(b"other").digest())))
    try:
        with pytest.raises(PermanentError, match="do not match the source's Content-MD5") as caught:
            relay_lake(geo, dest, ["lying"], chunk_bytes=CHUNK)
        assert caught.value.evidence["blob"] == "lying/a.bin"
        assert not dest.get_blob_client("lying", "a.bin").exists()
    finally:
        seed.delete_container("lying")
