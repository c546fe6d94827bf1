"""`python -m bench [--quick] [--only NAME ...]`: every benchmark of issue 8, its figures next to
their goals, and docs/performance.md + docs/performance.json written from the same results.

The benchmarks time real work on a real machine: run them when nothing else is running, and read
the load average the docs record with them. `--quick` uses small sizes (seconds, not minutes):
for trying the command out, not for the figures.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

from bench.report import Result, table, write_docs

BENCHMARKS = ("scheduling", "rehydration", "validation", "pg_restore", "pg_physical", "offline", "overhead",
              "scale")
DOCS = Path(__file__).resolve().parents[1] / "docs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a check that it all runs")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run these benchmarks only")
    parser.add_argument("--docs", type=Path, default=DOCS, help="where performance.md/.json go (default: docs/)")
    args = parser.parse_args(argv)
    try:
        load_before = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load_before = None
    print(f"python -m bench{' --quick' if args.quick else ''}: {os.cpu_count()} CPUs, load average {load_before}",
          flush=True)
    results: list[Result] = []
    failed: list[str] = []
    started = time.perf_counter()
    try:
        for name in args.only or BENCHMARKS:
            print(f"\n== {name}", flush=True)
            began = time.perf_counter()
            try:
                found = importlib.import_module(f"bench.{name}").run(args.quick)
            except Exception:  # one broken benchmark must not cost the figures of the others
                traceback.print_exc()
                failed.append(name)
                continue
            results += found
            print("\n".join(table(found)), flush=True)
            print(f"({time.perf_counter() - began:.0f} s)", flush=True)
    finally:
        from bench.lake import close_all

        close_all()  # the Azurite the lake benchmarks share
    elapsed = time.perf_counter() - started
    print(f"\n== all figures ({elapsed:.0f} s)")
    print("\n".join(table(results)))
    if failed:
        print(f"\nfailed: {', '.join(failed)}; docs not written", file=sys.stderr)
        return 1
    md, js = write_docs(results, args.docs, quick=args.quick, elapsed_s=elapsed, load_before=load_before)
    missed = [r.name for r in results if r.met is False]
    print(f"\nwritten: {md}, {js}; goals missed: {', '.join(missed) if missed else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
