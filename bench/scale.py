"""Scale: drctl's rehydration and validation of lakes of 1,000, 10,000 and 100,000 small blobs.

One Azurite (in memory) holds a source account, grown in steps (bench/scale_lake.py), and a
destination account per step. At each size a fresh child process (bench/scale_child.py) runs
drctl's real rehydrate_lake (server-side copy) into an empty destination, then validate_lake
against the manifest taken from the source's listing, and reports its times and its peak RSS.
At the middle size, pairs of children copy one zone each: one issues bare Copy Blob requests
with as many threads (the rate drctl's copy requests are compared with), the other runs drctl.

What the figures say: the time per blob must not grow with the lake (the slope from 10k to 100k
over the slope from 1k to 10k), and neither may drctl's memory (no structure holds the whole
listing: orchestrator/data/lake/recovery.py). Azurite keeps about 20 KB per blob in memory, so a
million blobs does not fit this machine; beyond 100k the slopes size it on paper
(docs/performance-notes.md). `--quick` runs 200, 1,000 and 3,000 blobs: the ratios are printed
without goals then, being a check that it all runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench.report import Result
from bench.scale_lake import LARGEST, POPULATE_THREADS, SMALLEST, SOURCE, ScaleLake
from orchestrator.data.ingest import ZONES
from orchestrator.data.manifest import lake_facts

FULL_SIZES, QUICK_SIZES = (1_000, 10_000, 100_000), (200, 1_000, 3_000)
MAX_IN_FLIGHT = 16  # rehydrate_lake's default
# Pairs of runs, the bare loop and drctl one right after the other (which goes first alternates):
# other work on the machine moves a single run by tens of percent, a pair's two runs less so.
RATE_PAIRS = 5
RATE_ZONE = ZONES[0]
_ROOT = Path(__file__).resolve().parents[1]


def dest_account(size: int) -> str:
    return f"scaledest{size}"


def rate_accounts(pair: int) -> tuple[str, str]:
    return f"scalebare{pair}", f"scalerate{pair}"


def in_child(job: dict, timeout_s: float) -> dict:
    """One measured run in a fresh interpreter (keys reach it on stdin, never on its command line)."""
    done = subprocess.run([sys.executable, "-m", "bench.scale_child"], input=json.dumps(job), cwd=_ROOT,
                          capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench.scale_child ({job['kind']}) exited with {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def drctl_run(lake: ScaleLake, dest: str, manifest: dict, containers: tuple[str, ...] = ZONES) -> dict:
    azurite = psutil.Process(lake.server.pid)
    azurite_cpu = sum(azurite.cpu_times()[:2])
    run = in_child({"kind": "drctl", "source": lake.endpoint(SOURCE), "dest": lake.endpoint(dest),
                    "manifest": manifest, "containers": containers, "max_in_flight": MAX_IN_FLIGHT}, timeout_s=3600)
    if not run["exact"] or run["copied"] != sum(manifest["containers"][c]["blobs"] for c in containers):
        raise RuntimeError(f"drctl's copy into {dest} is not exact: {run}")
    return {**run, "azurite_cpu_s": sum(azurite.cpu_times()[:2]) - azurite_cpu}


def bare_run(lake: ScaleLake, dest: str, manifest: dict) -> dict:
    run = in_child({"kind": "bare", "source": lake.endpoint(SOURCE), "dest": lake.endpoint(dest),
                    "blobs": lake.blobs, "containers": [RATE_ZONE], "max_in_flight": MAX_IN_FLIGHT}, timeout_s=3600)
    if lake_facts(lake.server.service_client(dest), [RATE_ZONE]) != {RATE_ZONE: manifest["containers"][RATE_ZONE]}:
        raise RuntimeError("the bare copy loop did not copy the zone")  # a rate of nothing is no floor
    return run


def rate_pairs(lake: ScaleLake, manifest: dict) -> list[tuple[float, float]]:
    """(bare loop's copies/s, drctl's copies/s) per pair, each copying one zone into a new account."""
    pairs = []
    for pair in range(RATE_PAIRS):
        bare_account, drctl_account = rate_accounts(pair)
        if pair % 2:
            drctl = drctl_run(lake, drctl_account, manifest, (RATE_ZONE,))
            bare = bare_run(lake, bare_account, manifest)
        else:
            bare = bare_run(lake, bare_account, manifest)
            drctl = drctl_run(lake, drctl_account, manifest, (RATE_ZONE,))
        pairs.append((bare["copied"] / bare["copy_s"], drctl["copied"] / drctl["rehydrate_s"]))
        lake.empty(bare_account)
        lake.empty(drctl_account)
        print(f"  copy rate, pair {pair + 1}: bare loop {pairs[-1][0]:,.0f}/s, drctl {pairs[-1][1]:,.0f}/s", flush=True)
    return pairs


def measure(sizes: tuple[int, ...]) -> tuple[dict[int, dict], list[tuple[float, float]], dict[int, float]]:
    """drctl's run at every size, and the copy rate pairs at the middle one."""
    lake = ScaleLake.start([*map(dest_account, sizes), *(a for p in range(RATE_PAIRS) for a in rate_accounts(p))])
    runs: dict[int, dict] = {}
    pairs: list[tuple[float, float]] = []
    try:
        for size in sizes:
            populate_s = lake.grow_to(size)
            manifest = lake.manifest()
            print(f"  {size:,} blobs: populated in {populate_s:.1f} s", flush=True)
            runs[size] = drctl_run(lake, dest_account(size), manifest)
            print(f"  {size:,} blobs: rehydrated in {runs[size]['rehydrate_s']:.1f} s, validated in "
                  f"{runs[size]['validate_s']:.1f} s, peak RSS {runs[size]['peak_rss_bytes'] / 2**20:.1f} MiB",
                  flush=True)
            lake.empty(dest_account(size))
            if size == sizes[1]:
                pairs = rate_pairs(lake, manifest)
        return runs, pairs, lake.populate_s
    finally:
        lake.close()


def run(quick: bool, sizes: tuple[int, ...] | None = None) -> list[Result]:
    sizes = sizes or (QUICK_SIZES if quick else FULL_SIZES)
    small, middle, large = sizes
    started = time.perf_counter()
    runs, pairs, populate_s = measure(sizes)
    elapsed = time.perf_counter() - started
    seconds = {n: runs[n]["rehydrate_s"] + runs[n]["validate_s"] for n in sizes}
    rss = {n: runs[n]["peak_rss_bytes"] for n in sizes}
    slope_low = (seconds[middle] - seconds[small]) / (middle - small)
    slope_high = (seconds[large] - seconds[middle]) / (large - middle)
    ratios = sorted(drctl / bare for bare, drctl in pairs)
    cpu = {n: runs[n]["cpu_s"] for n in sizes}
    azurite = {n: runs[n]["azurite_cpu_s"] for n in sizes}

    def slope_ratio(of: dict[int, float]) -> float:
        return ((of[large] - of[middle]) / (large - middle)) / ((of[middle] - of[small]) / (middle - small))

    goals = not quick and sizes == FULL_SIZES
    scope = "" if goals else f" (quick sizes {small:,}/{middle:,}/{large:,}: no goal)"
    populated = ", ".join(f"to {n:,} in {s:.0f} s" for n, s in populate_s.items())
    results = [
        Result(f"scale.{n}_blobs_s", round(seconds[n], 2), "s", None,
               f"rehydrate {runs[n]['rehydrate_s']:.1f} s + validate {runs[n]['validate_s']:.1f} s, "
               f"{1e6 * seconds[n] / n:,.0f} us per blob; CPU per blob: drctl {1e6 * cpu[n] / n:,.0f} us, "
               f"Azurite {1e6 * azurite[n] / n:,.0f} us; peak RSS {rss[n] / 2**20:.1f} MiB"
               + (f"; the whole benchmark took {elapsed:.0f} s" if n == large else ""))
        for n in sizes
    ]
    return [
        *results,
        Result("scale.blobs_time_slope_ratio", round(slope_ratio(seconds), 3), "ratio", "<= 1.15" if goals else None,
               f"time per blob {1e6 * slope_high:,.0f} us from {middle:,} to {large:,} over {1e6 * slope_low:,.0f} us "
               f"from {small:,} to {middle:,}{scope}. Blobs of {SMALLEST:,} to {LARGEST:,} bytes over "
               f"{len(ZONES)} zones, one Put Blob each from {POPULATE_THREADS} threads (source grown {populated})"),
        Result("scale.drctl_cpu_slope_ratio", round(slope_ratio(cpu), 3), "ratio", None,
               f"the same slope ratio over drctl's own CPU time (its process's user + system); Azurite's: "
               f"{slope_ratio(azurite):.2f}"),
        Result("scale.blobs_peak_rss_ratio", round(rss[large] / rss[small], 3), "ratio", "<= 1.25" if goals else None,
               f"drctl's peak RSS, a fresh process per size: {rss[large] / 2**20:.1f} MiB at {large:,} blobs "
               f"over {rss[small] / 2**20:.1f} MiB at {small:,}{scope}"),
        Result("scale.rss_bytes_per_blob", round((rss[large] - rss[small]) / (large - small), 1), "bytes",
               "<= 100" if goals else None, f"peak RSS growth from {small:,} to {large:,} blobs, per blob{scope}"),
        Result("scale.copy_issue_rate_over_limit", round(ratios[len(ratios) // 2], 3), "ratio",
               ">= 0.9" if goals else None,
               f"median of {len(pairs)} pairs of runs, one right after the other, each copying the {RATE_ZONE} zone of the "
               f"{middle:,}-blob lake, {MAX_IN_FLIGHT} in flight: drctl's rehydrate_lake (listings, a SAS per blob, "
               f"status watched) over a bare start_copy_from_url loop; pairs "
               + ", ".join(f"{d:,.0f}/{b:,.0f} per s" for b, d in pairs) + scope),
    ]
