"""Scale: drctl's rehydration and validation of lakes of 1,000, 10,000 and 100,000 small blobs,
by both of its ways of copying a lake.

An Azurite (in memory) holds a source account, grown in steps (bench/scale_lake.py). At each size
a fresh child process (bench/scale_child.py) runs each way into an empty account, then
validate_lake against the manifest taken from the source's listing, and reports its times, its
CPU and its peak RSS:

- the relay (relay_lake), the default: what `drill --local` runs, and the secondary stack
  (`restore.lake.copy: relay`), since a private-only primary lake cannot be reached by the new
  account's storage service. It reads every blob and writes it into an account of a second
  Azurite, the paired region's, as the local region pair has it.
- the server-side copy (rehydrate_lake), for a source the destination's service can reach: Copy
  Blob into an account of the source's own Azurite (Azurite copies between accounts of one
  instance only). At the middle size, pairs of children copy one zone each: one issues bare Copy
  Blob requests with as many threads (the rate drctl's copy requests are compared with), the
  other runs drctl.

What the figures say: the default way's time per blob must not grow with the lake (the slope from
10k to 100k over the slope from 1k to 10k); drctl's own CPU per blob must not grow by either way,
nor its memory (no structure holds the whole listing: orchestrator/data/lake/recovery.py). The
server-side copy's time is Azurite's: each copy is an insert into one collection that holds every
account's blobs, with sorted indices spliced on every insert, so its time slope is context, with
Azurite's CPU beside it. Azurite keeps about 20 KB per blob in memory, so a million blobs does not
fit this machine; beyond 100k the slopes size it on paper (docs/performance-notes.md). `--quick`
runs 200, 1,000 and 3,000 blobs: the ratios are printed without goals then, being a check that it
all runs.
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
from orchestrator.targets.local.stores.lake import RELAY_MAX_IN_FLIGHT

FULL_SIZES, QUICK_SIZES = (1_000, 10_000, 100_000), (200, 1_000, 3_000)
MAX_IN_FLIGHT = 16  # rehydrate_lake's default
# Pairs of runs, the bare loop and drctl one right after the other (which goes first alternates):
# other work on the machine moves a single run by tens of percent, a pair's two runs less so.
RATE_PAIRS = 5
RATE_ZONE = ZONES[0]
_ROOT = Path(__file__).resolve().parents[1]


WAYS = ("relay", "server_copy")  # the default first


def dest_account(way: str, size: int) -> str:
    return f"scale{'relay' if way == 'relay' else 'dest'}{size}"


def rate_accounts(pair: int) -> tuple[str, str]:
    return f"scalebare{pair}", f"scalerate{pair}"


def in_child(job: dict, timeout_s: float) -> dict:
    """One measured run in a fresh interpreter (keys reach it on stdin, never on its command line)."""
    done = subprocess.run([sys.executable, "-m", "bench.scale_child"], input=json.dumps(job), cwd=_ROOT,
                          capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench.scale_child ({job['kind']}) exited with {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def drctl_run(lake: ScaleLake, way: str, dest: str, manifest: dict, containers: tuple[str, ...] = ZONES) -> dict:
    azurites = [psutil.Process(lake.server.pid), psutil.Process(lake.paired.pid)]
    azurite_cpu = sum(sum(p.cpu_times()[:2]) for p in azurites)
    in_flight = RELAY_MAX_IN_FLIGHT if way == "relay" else MAX_IN_FLIGHT
    run = in_child({"kind": way, "source": lake.endpoint(SOURCE), "dest": lake.endpoint(dest),
                    "manifest": manifest, "containers": containers, "max_in_flight": in_flight}, timeout_s=3600)
    if not run["exact"] or run["copied"] != sum(manifest["containers"][c]["blobs"] for c in containers):
        raise RuntimeError(f"drctl's {way} into {dest} is not exact: {run}")
    return {**run, "azurite_cpu_s": sum(sum(p.cpu_times()[:2]) for p in azurites) - azurite_cpu}


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
            drctl = drctl_run(lake, "server_copy", drctl_account, manifest, (RATE_ZONE,))
            bare = bare_run(lake, bare_account, manifest)
        else:
            bare = bare_run(lake, bare_account, manifest)
            drctl = drctl_run(lake, "server_copy", drctl_account, manifest, (RATE_ZONE,))
        pairs.append((bare["copied"] / bare["copy_s"], drctl["copied"] / drctl["rehydrate_s"]))
        lake.empty(bare_account)
        lake.empty(drctl_account)
        print(f"  copy rate, pair {pair + 1}: bare loop {pairs[-1][0]:,.0f}/s, drctl {pairs[-1][1]:,.0f}/s", flush=True)
    return pairs


def measure(sizes: tuple[int, ...]) -> tuple[dict[str, dict[int, dict]], list[tuple[float, float]], dict[int, float]]:
    """drctl's runs by each way at every size, and the copy rate pairs at the middle one."""
    lake = ScaleLake.start([*(dest_account("server_copy", n) for n in sizes), *(a for p in range(RATE_PAIRS) for a in rate_accounts(p))],
                           [dest_account("relay", n) for n in sizes])
    runs: dict[str, dict[int, dict]] = {way: {} for way in WAYS}
    pairs: list[tuple[float, float]] = []
    try:
        for size in sizes:
            populate_s = lake.grow_to(size)
            manifest = lake.manifest()
            print(f"  {size:,} blobs: populated in {populate_s:.1f} s", flush=True)
            for way in WAYS:
                done = runs[way][size] = drctl_run(lake, way, dest_account(way, size), manifest)
                print(f"  {size:,} blobs, {way}: rehydrated in {done['rehydrate_s']:.1f} s, validated in "
                      f"{done['validate_s']:.1f} s, peak RSS {done['peak_rss_bytes'] / 2**20:.1f} MiB", flush=True)
                lake.empty(dest_account(way, size))
            if size == sizes[1]:
                pairs = rate_pairs(lake, manifest)
        return runs, pairs, lake.populate_s
    finally:
        lake.close()


def slopes(of: dict[int, float]) -> tuple[float, float]:
    """Per blob from the smallest size to the middle, and from the middle to the largest."""
    small, middle, large = sorted(of)
    return (of[middle] - of[small]) / (middle - small), (of[large] - of[middle]) / (large - middle)


def slope_ratio(of: dict[int, float]) -> float:
    """Per blob from the middle size to the largest, over per blob from the smallest to the middle."""
    low, high = slopes(of)
    return high / low


def way_figures(way: str, runs: dict[int, dict], goals: bool, scope: str) -> list[Result]:
    """The figures of one way of copying: its time per size, its time and CPU slopes, its memory."""
    small, middle, large = sorted(runs)
    prefix = "scale." if way == "relay" else "scale.server_copy_"
    seconds = {n: runs[n]["rehydrate_s"] + runs[n]["validate_s"] for n in runs}
    cpu = {n: runs[n]["cpu_s"] for n in runs}
    azurite = {n: runs[n]["azurite_cpu_s"] for n in runs}
    rss = {n: runs[n]["peak_rss_bytes"] for n in runs}
    low, high = (1e6 * slope for slope in slopes(seconds))  # us per blob
    if way == "relay":
        time_goal, time_note = "<= 1.15", (f"the default way (relay, {RELAY_MAX_IN_FLIGHT} in flight into a second "
                                           f"Azurite): time per blob {high:,.0f} us from {middle:,} to {large:,} "
                                           f"over {low:,.0f} us from {small:,} to {middle:,}{scope}")
    else:
        time_goal, time_note = None, (f"server-side copy ({MAX_IN_FLIGHT} in flight): time per blob {high:,.0f} us "
                                      f"from {middle:,} to {large:,} over {low:,.0f} us from {small:,} to {middle:,}, Azurite's, whose CPU per copy grows with the blobs its "
                                      f"one collection holds (its CPU slope ratio: {slope_ratio(azurite):.2f})")
    return [
        *(Result(f"{prefix}{n}_blobs_s", round(seconds[n], 2), "s", None,
                 f"{way}: rehydrate {runs[n]['rehydrate_s']:.1f} s + validate {runs[n]['validate_s']:.1f} s, "
                 f"{1e6 * seconds[n] / n:,.0f} us per blob; CPU per blob: drctl {1e6 * cpu[n] / n:,.0f} us, "
                 f"Azurite {1e6 * azurite[n] / n:,.0f} us; peak RSS {rss[n] / 2**20:.1f} MiB") for n in runs),
        Result(f"{prefix}{'blobs_time' if way == 'relay' else 'time'}_slope_ratio", round(slope_ratio(seconds), 3),
               "ratio", time_goal if goals else None, time_note),
        Result(f"{prefix}drctl_cpu_slope_ratio", round(slope_ratio(cpu), 3), "ratio", "<= 1.15" if goals else None,
               f"the same slope ratio over drctl's own CPU time (its process's user + system); Azurite's: "
               f"{slope_ratio(azurite):.2f}{scope}"),
        Result(f"{prefix}{'blobs_peak' if way == 'relay' else 'peak'}_rss_ratio", round(rss[large] / rss[small], 3),
               "ratio", "<= 1.25" if goals else None,
               f"drctl's peak RSS, a fresh process per size: {rss[large] / 2**20:.1f} MiB at {large:,} blobs "
               f"over {rss[small] / 2**20:.1f} MiB at {small:,}{scope}"),
        Result(f"{prefix}rss_bytes_per_blob", round((rss[large] - rss[small]) / (large - small), 1), "bytes",
               "<= 100" if goals else None, f"peak RSS growth from {small:,} to {large:,} blobs, per blob{scope}"),
    ]


def run(quick: bool, sizes: tuple[int, ...] | None = None) -> list[Result]:
    sizes = sizes or (QUICK_SIZES if quick else FULL_SIZES)
    small, middle, large = sizes
    started = time.perf_counter()
    runs, pairs, populate_s = measure(sizes)
    elapsed = time.perf_counter() - started
    ratios = sorted(drctl / bare for bare, drctl in pairs)
    goals = not quick and sizes == FULL_SIZES
    scope = "" if goals else f" (quick sizes {small:,}/{middle:,}/{large:,}: no goal)"
    populated = ", ".join(f"to {n:,} in {s:.0f} s" for n, s in populate_s.items())
    return [
        *(figure for way in WAYS for figure in way_figures(way, runs[way], goals, scope)),
        Result("scale.copy_issue_rate_over_limit", round(ratios[len(ratios) // 2], 3), "ratio",
               ">= 0.9" if goals else None,
               f"median of {len(pairs)} pairs of runs, one right after the other, each copying the {RATE_ZONE} zone of the "
               f"{middle:,}-blob lake, {MAX_IN_FLIGHT} in flight: drctl's rehydrate_lake (listings, a SAS per blob, "
               f"status watched) over a bare start_copy_from_url loop; pairs "
               + ", ".join(f"{d:,.0f}/{b:,.0f} per s" for b, d in pairs) + scope),
        Result("scale.benchmark_s", round(elapsed), "s", None,
               f"the whole scale benchmark: blobs of {SMALLEST:,} to {LARGEST:,} bytes over {len(ZONES)} zones, one "
               f"Put Blob each from {POPULATE_THREADS} threads (source grown {populated}), both ways at each size"),
    ]
