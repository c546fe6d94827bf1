"""One measured run of the scale benchmark, in a process of its own: `python -m bench.scale_child`
reads what to do as JSON on stdin and prints what it measured as JSON on stdout.

A fresh process per run, so its peak RSS (VmHWM) is drctl's own at that lake size, not the
populating process's, nor an earlier size's. Two kinds of run:

- `drctl`: drctl's real rehydration (rehydrate_lake: listings walked together, a read SAS signed
  per blob, Copy Blob server-side, copy status watched) then validate_lake against the manifest.
- `bare`: the floor for the copy request rate: start_copy_from_url over names known in advance,
  with one container SAS signed once, the same number of threads, nothing else.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import requests
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from bench.scale_lake import blob_name, taken_one_at_a_time
from orchestrator.data.ingest import ZONES
from orchestrator.data.lake.recovery import rehydrate_lake, validate_lake


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


def drctl(job: dict) -> dict:
    source, dest = client(job["source"]), client(job["dest"])
    started, cpu_started = time.perf_counter(), cpu_s()
    containers = job.get("containers", ZONES)
    evidence = rehydrate_lake(source, dest, job["source"]["key"], containers, max_in_flight=job["max_in_flight"])
    rehydrate_s, rehydrate_cpu_s = time.perf_counter() - started, cpu_s() - cpu_started
    started = time.perf_counter()
    manifest = {**job["manifest"], "containers": {c: job["manifest"]["containers"][c] for c in containers}}
    result = validate_lake(dest, manifest)
    validate_s = time.perf_counter() - started
    return {"rehydrate_s": rehydrate_s, "validate_s": validate_s, "cpu_s": cpu_s() - cpu_started, "copied": evidence["copied"],
            "blobs": evidence["blobs"], "rehydrate_cpu_s": rehydrate_cpu_s, "exact": result.exact, "mismatches": result.mismatches[:3],
            "max_in_flight_observed": evidence["max_in_flight_observed"], "peak_rss_bytes": peak_rss_bytes()}


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
    print(json.dumps({"drctl": drctl, "bare": bare}[job["kind"]](job)))
