"""A container's listing, parsed lightly and as it arrives: only the fields drctl reads, from the List
Blobs XML itself.

`ContainerClient.list_blobs` turns every listed blob into a `BlobProperties` through the SDK's
generic model deserializer (about 160 us of CPU a blob here, more than the rest of a server-side
copy's client work: bench/scale.py measured it), after the pipeline has parsed the whole page into
an ElementTree (about 7 KB a blob). This reads the response body as it streams, feeds it to an
incremental parser and keeps one small record per blob: about 20 us and 650 bytes a blob, so a
page can be four times larger for less memory. Fewer pages matter on Azurite, which answers
each page by scanning what it holds: listing 25,000 blobs of an instance holding 100,000 took
3.2 s of its CPU in pages of 500 and 1.7 s in pages of 5,000.

A page is read whole as soon as it is asked for, never held open while its blobs are copied: the
service may end a response that is read slowly, and a failed read is asked for again here, since
the pipeline's retries end once the headers have arrived.

It builds the request with the SDK's generated request builder and sends it through the container
client's own pipeline (its credential, retries on the request, user agent): none of that is public
API. A test compares these records with `list_blobs`' for the same container on Azurite
(tests/orchestrator/data/test_blob_listing.py), so an SDK change that breaks it fails there.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ResourceNotModifiedError,
    ServiceResponseError,
    map_error,
)
from azure.storage.blob import ContainerClient
from azure.storage.blob._generated.operations._container_operations import build_list_blob_flat_segment_request
from azure.storage.blob._shared.response_handlers import process_storage_error

# A page of the SDK's own `list_blobs` (the lake's generations, the backup's comparison): what the
# pipeline parses into elements and the SDK into BlobProperties, about 7 KB a blob, two listings at
# a time. At 500 a 10-million-blob container is 20,000 requests, small beside its 10 million copies.
LISTING_PAGE = 500
# A page of the light listing: about 650 bytes a blob once read (tracemalloc), so 1.3 MB a listing
# and 5,000 requests for a 10-million-blob container. The service's maximum, 5,000, read no faster
# here and cost drctl 100 bytes of peak memory per blob more at 100,000 (bench/scale.py).
LIGHT_LISTING_PAGE = 2000
# A page whose body breaks off is asked for again this many times, after 0.5 s, 1 s, ...
PAGE_READS = 4
# What the SDK's generated List Blobs raises by status before the storage error code refines it.
_BY_STATUS = {401: ClientAuthenticationError, 404: ResourceNotFoundError, 409: ResourceExistsError,
              304: ResourceNotModifiedError}


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
    `results_per_page` blobs, LIGHT_LISTING_PAGE by default."""
    generated = container._build_generated_client()  # type: ignore[attr-defined]  # private: see the module doc
    marker: str | None = None
    while True:
        blobs, marker = _page(container.container_name, generated, list(include) or None, name_starts_with,
                              results_per_page or LIGHT_LISTING_PAGE, marker)
        yield from blobs
        if marker is None:
            return


def _page(container: str, generated: Any, include: list[str] | None, prefix: str | None, size: int,
          marker: str | None) -> tuple[list[ListedBlob], str | None]:
    """One page's records and the marker of the next (None after the last), through `generated`,
    the container client's generated client."""
    attempt = 1
    while True:
        request = build_list_blob_flat_segment_request(url=generated._config.url, version=generated._config.version,
                                                       prefix=prefix, marker=marker, maxresults=size, include=include)
        request.url = generated._client.format_url(request.url)
        response = generated._client._pipeline.run(request, stream=True).http_response
        if response.status_code != 200:
            response.read()
            try:
                map_error(status_code=response.status_code, response=response, error_map=_BY_STATUS)
                raise HttpResponseError(response=response)
            except HttpResponseError as error:
                process_storage_error(error)  # as ContainerClient.list_blobs raises it
        try:
            return _parse(response.iter_bytes())
        except (AzureError, ParseError) as error:  # azure-core's IncompleteReadError is an HttpResponseError
            if attempt == PAGE_READS:
                raise ServiceResponseError(f"List Blobs of {container}: the answer broke off "
                                           f"{PAGE_READS} times ({error})") from error
        finally:
            response.close()
        time.sleep(0.5 * 2 ** (attempt - 1))
        attempt += 1


def _parse(chunks: Iterator[bytes]) -> tuple[list[ListedBlob], str | None]:
    """The records and the next marker of a List Blobs body, parsed as its chunks arrive: each
    <Blob> element is read into a record and dropped once it has ended."""
    parser: XMLPullParser[Element] = XMLPullParser(events=("start", "end"))
    blobs: list[ListedBlob] = []
    marker: str | None = None
    parents: list[Element] = []
    for chunk in chunks:
        parser.feed(chunk)
        marker = _drain(parser, parents, blobs) or marker
    parser.close()
    marker = _drain(parser, parents, blobs) or marker
    return blobs, marker


def _drain(parser: XMLPullParser[Element], parents: list[Element], blobs: list[ListedBlob]) -> str | None:
    marker = None
    for event, element in parser.read_events():  # type: ignore[misc]  # "start"/"end" events are (name, element)
        assert isinstance(element, Element)
        if event == "start":
            parents.append(element)
            continue
        parents.pop()
        if element.tag == "Blob":
            blobs.append(_blob(element))
            parents[-1].remove(element)  # a page's elements are never all held
        elif element.tag == "NextMarker" and len(parents) == 1:
            marker = element.text or None
    return marker


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
