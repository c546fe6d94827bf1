"""The many-blob lake of the scale benchmark: a source account grown in steps (1,000 blobs, then
10,000, then 100,000) in an Azurite held in memory, and destination accounts per step: for the
server-side copy next to the source (Azurite copies between accounts of one instance only), and
for the relay in a second Azurite, the paired region's, as the local region pair has them
(orchestrator/targets/local/region.py).

Population is not what is measured, but 100,000 blobs through the SDK's pipeline would take
minutes of this machine's two cores: each blob is one Put Blob (no Put Block List), sent by a
pool of threads over plain keep-alive HTTP connections, signed by one account SAS, with its
Content-MD5 (a backup's geo copy has one per blob; drctl's idempotence relies on it).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

from orchestrator.data.ingest import ZONES
from orchestrator.data.manifest import lake_facts
from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key
from orchestrator.targets.local.servers.processes import HOST

SOURCE = "scalesource"
SMALLEST, LARGEST = 200, 4096  # bytes: a lake's small files (events, markers, parts of a table)
POPULATE_THREADS = 16


class InMemoryAzurite(AzuriteServer):
    """Azurite holding metadata and blobs in memory: nothing on disk, and no database saved every
    few seconds while a timing runs (Azurite's disk metadata store saves all of it each time)."""

    def _command(self, port: int) -> list[str]:
        command = super()._command(port)
        at = command.index("--location")  # Azurite refuses a location with in-memory persistence
        return [*command[:at], *command[at + 2:], "--inMemoryPersistence"]


def blob_name(n: int) -> tuple[str, str]:
    """Blob n of the lake: its zone (spread evenly) and its name (in name order as n grows)."""
    return ZONES[n % len(ZONES)], f"scale/part-{n:07d}.bin"


def taken_one_at_a_time(numbers: Iterator[int]) -> Callable[[], Iterator[int]]:
    """Each thread that walks the returned function's iterator takes the next of `numbers` under
    a lock: threads share one walk rather than each being handed a slice they may finish early."""
    lock = threading.Lock()

    def walk() -> Iterator[int]:
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                return
            yield n

    return walk


def blob_bytes(n: int) -> bytes:
    size = random.Random(n).randint(SMALLEST, LARGEST)
    return (hashlib.sha256(str(n).encode()).digest() * (size // 32 + 1))[:size]


@dataclass
class ScaleLake:
    server: InMemoryAzurite  # the source account, and the server-side copy's destinations
    paired: InMemoryAzurite  # the relay's destinations
    root: Path
    blobs: int = 0  # how many the source holds: blobs 0 .. blobs-1
    populate_s: dict[int, float] = field(default_factory=dict)  # size -> seconds its step took

    @classmethod
    def start(cls, copy_destinations: list[str], relay_destinations: list[str]) -> ScaleLake:
        root = Path(tempfile.mkdtemp(prefix="bench-scale-"))
        server = InMemoryAzurite(root / "azurite", {a: generate_account_key() for a in (SOURCE, *copy_destinations)})
        paired = InMemoryAzurite(root / "paired", {a: generate_account_key() for a in relay_destinations})
        try:
            server.start()
            paired.start()
            service = server.service_client(SOURCE)
            for zone in ZONES:
                service.create_container(zone)
        except BaseException:
            server.stop()
            paired.stop()
            shutil.rmtree(root, ignore_errors=True)
            raise
        return cls(server, paired, root)

    def holding(self, account: str) -> InMemoryAzurite:
        return self.paired if account in self.paired.accounts else self.server

    def endpoint(self, account: str) -> dict[str, str]:
        """What a child process needs to reach `account` (its key is a secret: passed on stdin)."""
        server = self.holding(account)
        return {"account": account, "endpoint": server.blob_endpoint(account), "key": server.account_key(account)}

    def grow_to(self, size: int) -> float:
        """Add blobs until the source holds `size`; returns the seconds it took."""
        started = time.perf_counter()
        sas = generate_account_sas(SOURCE, self.server.account_key(SOURCE), ResourceTypes(object=True),
                                   AccountSasPermissions(write=True, create=True),
                                   expiry=datetime.now(UTC) + timedelta(hours=2))
        next_number = taken_one_at_a_time(iter(range(self.blobs, size)))

        def put_many() -> None:
            conn = http.client.HTTPConnection(HOST, self.server.port, timeout=60)
            try:
                for n in next_number():
                    zone, name = blob_name(n)
                    data = blob_bytes(n)
                    conn.request("PUT", f"/{SOURCE}/{zone}/{quote(name)}?{sas}", body=data, headers={
                        "x-ms-blob-type": "BlockBlob", "x-ms-version": "2021-08-06",
                        "Content-Type": "application/octet-stream",
                        "Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode()})
                    response = conn.getresponse()
                    body = response.read()
                    if response.status != 201:
                        raise RuntimeError(f"Put Blob {zone}/{name}: {response.status} {body[:200]!r}")
            finally:
                conn.close()

        with ThreadPoolExecutor(max_workers=POPULATE_THREADS) as pool:
            for future in [pool.submit(put_many) for _ in range(POPULATE_THREADS)]:
                future.result()
        self.blobs = size
        self.populate_s[size] = time.perf_counter() - started
        return self.populate_s[size]

    def empty(self, account: str) -> None:
        """Delete an account's containers once measured: Azurite keeps every account's blobs in one
        in-memory collection with sorted indices, and each insert into it costs more the more it
        holds (an emulator's cost, not drctl's), so what is done with leaves before the next size."""
        service = self.holding(account).service_client(account)
        for container in service.list_containers():
            service.delete_container(container.name)

    def manifest(self) -> dict:
        """What a backup's manifest records for the source as it is (orchestrator/data/backup.py)."""
        return {"kind": "lake", "containers": lake_facts(self.server.service_client(SOURCE), ZONES), "watermark": None}

    def close(self) -> None:
        self.server.stop()
        self.paired.stop()
        shutil.rmtree(self.root, ignore_errors=True)
