"""One measured run of the scale benchmark, in a process of its own: `python -m bench.scale_child`
reads what to do as JSON on stdin and prints what it measured as JSON on stdout.

A fresh process per run, so its peak RSS (VmHWM) is drctl's own at that lake size, not the
populating process's, nor an earlier size's. Three kinds of run:

- `relay`: drctl's default rehydration, the one `drill --local` and the secondary stack run
  (relay_lake: listings walked together, each blob read from the source and written to the
  destination by this process), then validate_lake against the manifest.
- `server_copy`: drctl's rehydration by server-side copy (rehydrate_lake: a read SAS signed per
  blob, Copy Blob, copy status watched), then validate_lake.
- `bare`: the floor for the copy request rate: start_copy_from_url over names known in advance,
  with one container SAS signed once, the same number of threads, nothing else.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from bench.scale_lake import blob_name, taken_one_at_a_time
from orchestrator.data.ingest import ZONES
from orchestrator.data.lake.recovery import rehydrate_lake, validate_lake
from orchestrator.data.lake.relay import relay_lake


def client(account: dict) -> BlobServiceClient:
    """A shared-key client as drctl's local region pair makes one (servers/azurite.py): a pool of
    connections with room for every copy in flight."""
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=64))
    return BlobServiceClient(account["endpoint"], credential={"account_name": account["account"],
                                                              "account_key": account["key"]},
                             transport=RequestsTransport(session=session, session_owner=True),
                             connection_timeout=5)


def peak_rss_bytes() -> int:
    """This process's own peak RSS: VmHWM, the high-water mark of its address space. Not ru_maxrss:
    Linux carries the parent's peak into a child's ru_maxrss across exec, so a child of a bench
    process that had held a GiB would report that GiB at every lake size."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status: the scale benchmark measures memory on Linux only")


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def relay(job: dict) -> dict:
    return recovered(job, lambda source, dest, containers: relay_lake(source, dest, containers, job["max_in_flight"]))


def server_copy(job: dict) -> dict:
    return recovered(job, lambda source, dest, containers: rehydrate_lake(
        source, dest, job["source"]["key"], containers, max_in_flight=job["max_in_flight"]))


def recovered(job: dict, rehydrate: Callable[[BlobServiceClient, BlobServiceClient, list[str]], dict]) -> dict:
    """Rehydrate the destination from the source with `rehydrate`, then validate it against the manifest."""
    source, dest = client(job["source"]), client(job["dest"])
    started, cpu_started = time.perf_counter(), cpu_s()
    containers = job.get("containers", ZONES)
    evidence = rehydrate(source, dest, containers)
    rehydrate_s, rehydrate_cpu_s = time.perf_counter() - started, cpu_s() - cpu_started
    started = time.perf_counter()
    manifest = {**job["manifest"], "containers": {c: job["manifest"]["containers"][c] for c in containers}}
    result = validate_lake(dest, manifest)
    validate_s = time.perf_counter() - started
    return {"rehydrate_s": rehydrate_s, "validate_s": validate_s, "cpu_s": cpu_s() - cpu_started, "copied": evidence["copied"],
            "blobs": evidence["blobs"], "rehydrate_cpu_s": rehydrate_cpu_s, "exact": result.exact, "mismatches": result.mismatches[:3],
            "peak_rss_bytes": peak_rss_bytes()}


def bare(job: dict) -> dict:
    dest = client(job["dest"])
    expiry = datetime.now(UTC) + timedelta(hours=1)
    signed = {zone: generate_container_sas(job["source"]["account"], zone, account_key=job["source"]["key"],
                                           permission=ContainerSasPermissions(read=True), expiry=expiry)
              for zone in ZONES}
    containers = job.get("containers", ZONES)
    for zone in containers:
        dest.create_container(zone)
    next_number = taken_one_at_a_time(n for n in range(job["blobs"]) if blob_name(n)[0] in containers)
    copied = sum(1 for n in range(job["blobs"]) if blob_name(n)[0] in containers)

    failures: list[BaseException] = []

    def copy_many() -> None:
        try:
            for n in next_number():
                zone, name = blob_name(n)
                dest.get_blob_client(zone, name).start_copy_from_url(
                    f"{job['source']['endpoint']}/{zone}/{quote(name)}?{signed[zone]}")
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=copy_many) for _ in range(job["max_in_flight"])]
    started, cpu_started = time.perf_counter(), cpu_s()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return {"copy_s": time.perf_counter() - started, "cpu_s": cpu_s() - cpu_started, "copied": copied, "peak_rss_bytes": peak_rss_bytes()}


if __name__ == "__main__":
    job = json.load(sys.stdin)
    print(json.dumps({"relay": relay, "server_copy": server_copy, "bare": bare}[job["kind"]](job)))
