"""A container's listing, parsed lightly: only the fields drctl reads, from the List Blobs XML itself.

`ContainerClient.list_blobs` turns every listed blob into a `BlobProperties` through the SDK's
generic model deserializer: about 160 us of CPU per blob here, more than the rest of a server-side
copy's client work (bench/scale.py measured it). This walks the same XML the pipeline has already
parsed (ElementTree) and reads the handful of elements rehydration, the relay and validation use,
for a few microseconds per blob.

It calls the SDK's generated client (`_build_generated_client`, `list_blob_flat_segment`) and
swaps its deserializer for the SDK's `IgnoreListBlobsDeserializer`, exactly as azure-storage-blob's
own `ContainerClient.list_blob_names` does (12.x): none of it is public API. A test compares these
records with `list_blobs`' for the same container on Azurite
(tests/orchestrator/data/test_blob_listing.py), so an SDK change that breaks it fails there.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple
from urllib.parse import unquote
from xml.etree.ElementTree import Element

from azure.core.exceptions import HttpResponseError
from azure.storage.blob import ContainerClient
from azure.storage.blob._list_blobs_helper import IgnoreListBlobsDeserializer
from azure.storage.blob._shared.response_handlers import process_storage_error, return_raw_deserialized

# A listing page's size. A page is what a listing holds at once, whatever the container holds: its
# XML, as text and parsed into elements, is about 7 KB a blob here (two listings are walked at
# once). Against the service's 5,000 it trades memory for requests: at 500 a 10-million-blob
# container is 20,000 requests, small beside its 10 million copies; on Azurite, which scans every
# blob it holds to answer each page, it is half the scanning of pages of 250.
LISTING_PAGE = 500


class ListedSettings(NamedTuple):
    """A listed blob's content settings, under the names `azure.storage.blob.ContentSettings` uses."""

    content_type: str | None = None
    content_encoding: str | None = None
    content_language: str | None = None
    content_disposition: str | None = None
    cache_control: str | None = None
    content_md5: bytes | None = None


class ListedCopy(NamedTuple):
    """A listed blob's last copy (all None when it was never a copy's destination)."""

    status: str | None = None
    id: str | None = None
    status_description: str | None = None


class ListedBlob(NamedTuple):
    """One listed blob, with the attribute names `BlobProperties` uses for the fields drctl reads."""

    name: str
    size: int
    etag: str | None
    content_settings: ListedSettings
    copy: ListedCopy
    metadata: dict[str, str]  # empty unless the listing included metadata
    snapshot: str | None


def list_blobs_light(container: ContainerClient, include: Sequence[str] = (), *,
                     name_starts_with: str | None = None, results_per_page: int | None = None) -> Iterator[ListedBlob]:
    """The container's blobs in the service's (ascending name) order, a page at a time.
    `include` as List Blobs takes it ("copy", "metadata", "snapshots", ...); pages of
    `results_per_page` blobs, LISTING_PAGE by default."""
    client = container._build_generated_client()  # type: ignore[attr-defined]  # private: see the module doc
    client.container._deserialize = IgnoreListBlobsDeserializer()
    command = functools.partial(client.container.list_blob_flat_segment, prefix=name_starts_with,
                                maxresults=results_per_page or LISTING_PAGE, include=list(include) or None,
                                cls=return_raw_deserialized)
    marker: str | None = None
    while True:
        try:
            _, root = command(marker=marker)
        except HttpResponseError as error:
            process_storage_error(error)
        blobs = root.find("Blobs")
        if blobs is not None:
            for element in blobs.iterfind("Blob"):
                yield _blob(element)
        marker = root.findtext("NextMarker") or None
        if marker is None:
            return


def _blob(element: Element) -> ListedBlob:
    name_element = element.find("Name")
    name = (name_element.text or "") if name_element is not None else ""
    if name_element is not None and name_element.get("Encoded") == "true":
        name = unquote(name)  # names with characters XML cannot carry come percent-encoded
    found = element.find("Properties")
    props: dict[str, Any] = {p.tag: p.text for p in found} if found is not None else {}
    md5 = props.get("Content-MD5")
    metadata_element = element.find("Metadata")
    metadata = {m.tag: m.text or "" for m in metadata_element} if metadata_element is not None else {}
    return ListedBlob(
        name=name, size=int(props.get("Content-Length") or 0), etag=props.get("Etag"),
        content_settings=ListedSettings(
            props.get("Content-Type"), props.get("Content-Encoding"), props.get("Content-Language"),
            props.get("Content-Disposition"), props.get("Cache-Control"),
            base64.b64decode(md5) if md5 else None),
        copy=ListedCopy(props.get("CopyStatus"), props.get("CopyId"), props.get("CopyStatusDescription")),
        metadata=metadata, snapshot=element.findtext("Snapshot") or None)
