"""The light listing (orchestrator/data/lake/listing.py) reads the List Blobs XML through the SDK's
private generated client: these tests compare its records with the SDK's own `list_blobs` for the
same containers on Azurite, field by field, so an SDK change that breaks it fails here."""

from __future__ import annotations

import hashlib
import io
import time
from types import SimpleNamespace

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceResponseError
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import ContainerClient, ContentSettings
from azurite_support import azurite_in_tempdir
from urllib3 import HTTPResponse

from orchestrator.data.lake import listing
from orchestrator.data.lake.listing import list_blobs_light
from orchestrator.data.manifest import md5_text
from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key

pytestmark = pytest.mark.integration

ACCOUNT = "listing"
# names that sort and quote differently: spaces, "~", "%", non-ASCII, deep prefixes
NAMES = ["a.bin", "a b/c.bin", "dir/x~y.csv", "dir/z%20.txt", "zone/é-ü.json", "zone/ñ/deep/file.parquet",
         "zz-empty", *(f"part-{n:03d}.bin" for n in range(9))]


@pytest.fixture(scope="module")
def service():
    def make(workdir):
        return AzuriteServer(workdir / "azurite", {ACCOUNT: generate_account_key()})

    with azurite_in_tempdir("drctl-blob-listing-", make) as (server, _):
        client = server.service_client(ACCOUNT)
        lake = client.create_container("lake")
        for n, name in enumerate(NAMES):
            data = f"{name} ".encode() * n
            with_md5 = n % 3 != 1  # some blobs without a Content-MD5, as a relay or an old writer leaves them
            lake.get_blob_client(name).upload_blob(data, metadata={"source": "test", "n": str(n)} if n % 2 else None,
                                                   content_settings=ContentSettings(
                content_type="application/x-test" if n % 4 == 0 else None,
                cache_control="no-cache" if n == 2 else None,
                content_md5=bytearray(hashlib.md5(data).digest()) if with_md5 else None))
        lake.get_blob_client("a.bin").create_snapshot(metadata={"snap": "1"})
        copies = client.create_container("copies")
        for name in NAMES[:4]:
            copies.get_blob_client(name).start_copy_from_url(lake.get_blob_client(name).url)
        deadline = time.monotonic() + 30
        while any(b.copy.status == "pending" for b in copies.list_blobs(include=["copy"])):
            assert time.monotonic() < deadline, "copies still pending"
            time.sleep(0.05)
        yield client


def sdk_fields(blob, include) -> tuple:
    settings = blob.content_settings
    return (blob.name, blob.size, blob.etag, blob.snapshot, md5_text(settings.content_md5), settings.content_type,
            settings.content_encoding, settings.content_language, settings.content_disposition,
            settings.cache_control, dict(blob.metadata or {}) if "metadata" in include else None,
            (blob.copy.status, blob.copy.id) if "copy" in include else None)


@pytest.mark.parametrize(("container", "include"), [
    ("lake", ()), ("lake", ("metadata",)), ("lake", ("snapshots", "metadata")), ("copies", ("copy",)),
])
def test_the_light_listing_reads_what_list_blobs_reads(service, container, include):
    client = service.get_container_client(container)
    expected = [sdk_fields(b, include) for b in client.list_blobs(include=list(include) or None)]
    light = [sdk_fields(b, include) for b in list_blobs_light(client, include, results_per_page=3)]
    assert light == expected
    assert len(expected) >= 4
    if "snapshots" in include:
        assert any(fields[3] for fields in light), "the snapshot is listed with its timestamp"
    if "metadata" in include:
        assert {"source": "test", "n": "1"} in [fields[10] for fields in light]
    if "copy" in include:
        assert {fields[11][0] for fields in light} == {"success"}


def test_pages_follow_the_continuation_to_the_end(service):
    client = service.get_container_client("lake")
    assert [b.name for b in list_blobs_light(client, results_per_page=2)] == sorted(NAMES)
    assert [b.name for b in list_blobs_light(client, name_starts_with="zone/", results_per_page=1)] == \
        sorted(n for n in NAMES if n.startswith("zone/"))


def test_a_missing_container_raises_what_list_blobs_raises(service):
    with pytest.raises(ResourceNotFoundError):
        next(list_blobs_light(service.get_container_client("nowhere")))


def test_a_refused_listing_raises_what_list_blobs_raises(service):
    wrong_key = ContainerClient(service.url, "lake", credential={"account_name": ACCOUNT,
                                                                 "account_key": generate_account_key()})
    with pytest.raises(HttpResponseError) as sdk:
        next(iter(wrong_key.list_blobs()))
    with pytest.raises(HttpResponseError) as light:
        next(list_blobs_light(wrong_key))
    assert (type(light.value), light.value.status_code, light.value.error_code) == \
        (type(sdk.value), sdk.value.status_code, sdk.value.error_code)
    assert light.value.status_code == 403


class CutListingAdapter(requests.adapters.HTTPAdapter):
    """Answers the first `cuts` List Blobs requests with their body broken off halfway, the rest as
    Azurite sent them: what a dropped connection does to a large page after its headers arrived."""

    def __init__(self, cuts: int, framing: str) -> None:
        super().__init__()
        self.cuts, self.framing, self.listings = cuts, framing, 0

    def send(self, request, *args, **kwargs):
        response = super().send(request, *args, **kwargs)
        if "comp=list" not in (request.url or "") or request.method != "GET":
            return response
        self.listings += 1
        if self.listings > self.cuts:
            return response
        body = response.raw.read()
        headers = dict(response.headers)
        if self.framing == "content-length":  # urllib3 raises IncompleteRead: fewer bytes than promised
            headers.pop("Transfer-Encoding", None)
            headers["Content-Length"] = str(len(body))
        # chunked (as Azurite sends it): the body simply ends, and the XML with it
        cut = HTTPResponse(body=io.BytesIO(body[: len(body) // 2]), headers=headers,
                           status=response.status_code, reason=response.reason, preload_content=False)
        return self.build_response(request, cut)


def cut_client(service, cuts: int, framing: str) -> tuple[ContainerClient, CutListingAdapter]:
    adapter = CutListingAdapter(cuts, framing)
    session = requests.Session()
    session.mount("http://", adapter)
    client = ContainerClient(service.url, "lake", credential=service.credential,
                             transport=RequestsTransport(session=session, session_owner=True))
    return client, adapter


FRAMINGS = pytest.mark.parametrize("framing", ["chunked", "content-length"])


@FRAMINGS
def test_a_page_whose_body_breaks_off_is_read_again(service, monkeypatch, framing):
    monkeypatch.setattr(listing, "time", SimpleNamespace(sleep=lambda seconds: None))
    client, adapter = cut_client(service, listing.PAGE_READS - 1, framing)
    assert [b.name for b in list_blobs_light(client, results_per_page=5)] == sorted(NAMES)
    assert adapter.listings == listing.PAGE_READS - 1 + -(-len(NAMES) // 5)  # the cut reads, then each page once


@FRAMINGS
def test_a_page_that_keeps_breaking_off_raises(service, monkeypatch, framing):
    """As the SDK's own errors are raised: drctl's error mapping (orchestrator/data/errors.py) makes a
    step retry it."""
    monkeypatch.setattr(listing, "time", SimpleNamespace(sleep=lambda seconds: None))
    client, adapter = cut_client(service, listing.PAGE_READS, framing)
    with pytest.raises(ServiceResponseError, match="List Blobs of lake: the answer broke off"):
        list(list_blobs_light(client))
    assert adapter.listings == listing.PAGE_READS
