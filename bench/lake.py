"""The lake data the rehydration and validation benchmarks share: one Azurite, three accounts.

`backup` holds the dataset (blobs of mixed sizes in the lake's zones, each with its Content-MD5,
as a backup's geo copy holds them); `secondary` is where drctl rehydrates it server-side;
`streamed` is where the naive path downloads and uploads it through the client. Each client
counts the bytes its HTTP requests and responses carry, split into blob payload and the rest
(listings, copy requests, properties), so "no payload passes through drctl" is measured, not
assumed. The dataset is built once per process and size, and removed at exit.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import random
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import BlobServiceClient, ContentSettings

from orchestrator.data.ingest import ZONES
from orchestrator.data.manifest import lake_facts
from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key

ACCOUNTS = ("backup", "secondary", "streamed", "relayed")
KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
# (share of the blobs, smallest, largest): many small files, some medium, a few large ones
SIZE_MIX = ((0.6, 16 * KIB, 256 * KIB), (0.3, 1 * MIB, 4 * MIB), (0.1, 16 * MIB, 64 * MIB))


class ByteCounter:
    """Bytes carried by one client's HTTP traffic, request and response bodies as read off the
    wire: blob payload (Put Blob and Put Block bodies, Get Blob bodies) and everything else
    (listings, copy requests, properties)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.payload = self.other = 0

    @staticmethod
    def is_payload(method: str, url: str) -> bool:
        query = urlsplit(url).query
        comp = next((part[5:] for part in query.split("&") if part.startswith("comp=")), None)
        return (method == "GET" and comp is None) or (method == "PUT" and comp in (None, "block"))

    def add(self, payload: bool, count: int) -> None:
        with self._lock:
            if payload:
                self.payload += count
            else:
                self.other += count

    def reset(self) -> None:
        with self._lock:
            self.payload = self.other = 0


class _CountingAdapter(requests.adapters.HTTPAdapter):
    def __init__(self, counter: ByteCounter) -> None:
        super().__init__(pool_connections=4, pool_maxsize=64)
        self.counter = counter

    def send(self, request, **kwargs):  # type: ignore[override]
        payload = ByteCounter.is_payload(request.method, request.url)
        body = request.body
        sent = len(body) if isinstance(body, (bytes, bytearray, str)) else int(request.headers.get("Content-Length", 0))
        self.counter.add(payload, sent)
        response = super().send(request, **kwargs)
        raw, counter = response.raw, self.counter
        read, read_chunked = raw.read, raw.read_chunked

        # The body is counted as the client reads it, chunked or not (a listing has no Content-Length).
        def counted_read(*args, **kw):
            data = read(*args, **kw)
            counter.add(payload, len(data))
            return data

        def counted_chunks(*args, **kw):
            for chunk in read_chunked(*args, **kw):
                counter.add(payload, len(chunk))
                yield chunk

        raw.read, raw.read_chunked = counted_read, counted_chunks
        return response


def sizes(total: int, seed: int = 8) -> list[int]:
    """Blob sizes adding up to `total`, from SIZE_MIX; the largest bucket is capped at a quarter
    of the total so a small dataset still has several blobs of every kind."""
    rng, out = random.Random(seed), []
    shares = [share for share, _, _ in SIZE_MIX]
    while sum(out) < total:
        _, low, high = rng.choices(SIZE_MIX, shares)[0]
        high = max(low, min(high, total // 4))
        out.append(min(rng.randint(low, high), total - sum(out)) or 1)
    return out


@dataclass
class Lake:
    server: AzuriteServer
    root: Path
    total_bytes: int
    blobs: list[tuple[str, str, int]] = field(default_factory=list)  # container, name, size
    manifest: dict = field(default_factory=dict)
    counters: dict[str, ByteCounter] = field(default_factory=dict)
    clients: dict[str, BlobServiceClient] = field(default_factory=dict)

    def client(self, account: str) -> BlobServiceClient:
        if account not in self.clients:
            self.counters[account] = ByteCounter()
            session = requests.Session()
            session.mount("http://", _CountingAdapter(self.counters[account]))
            self.clients[account] = self.server.service_client(
                account, transport=RequestsTransport(session=session, session_owner=True))
        return self.clients[account]

    def key(self, account: str) -> str:
        return self.server.account_key(account)

    def empty(self, account: str) -> None:
        """Delete the account's lake containers, so a copy into it starts from nothing."""
        service = self.client(account)
        for container in service.list_containers():
            service.delete_container(container.name)

    def close(self) -> None:
        self.server.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _fill(lake: Lake, workers: int = 8) -> None:
    service = lake.client("backup")
    for zone in ZONES:
        service.create_container(zone)
    names = [(ZONES[n % len(ZONES)], f"bench/part-{n:05d}.bin", size) for n, size in enumerate(sizes(lake.total_bytes))]

    def upload(job: tuple[str, str, int]) -> None:
        container, name, size = job
        data = os.urandom(size)
        service.get_blob_client(container, name).upload_blob(
            data, overwrite=True, max_concurrency=2,
            content_settings=ContentSettings(content_type="application/octet-stream",
                                             content_md5=bytearray(hashlib.md5(data).digest())))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(upload, names))
    lake.blobs = names
    # what a backup's manifest records (orchestrator/data/backup.py backup_lake): facts from listings
    lake.manifest = {"kind": "lake", "containers": lake_facts(service, ZONES), "watermark": None}
    lake.counters["backup"].reset()


_shared: dict[int, Lake] = {}
_lock = threading.Lock()


def shared_lake(total_bytes: int) -> Lake:
    """The dataset of `total_bytes` in a running Azurite, built on first use in this process."""
    with _lock:
        if total_bytes not in _shared:
            root = Path(tempfile.mkdtemp(prefix="bench-lake-"))
            server = AzuriteServer(root / "azurite", {a: generate_account_key() for a in ACCOUNTS})
            server.start()
            lake = Lake(server, root, total_bytes)
            try:
                _fill(lake)
            except BaseException:
                lake.close()
                raise
            _shared[total_bytes] = lake
        return _shared[total_bytes]


def close_all() -> None:
    with _lock:
        lakes = list(_shared.values())
        _shared.clear()
    for lake in lakes:
        lake.close()


atexit.register(close_all)

