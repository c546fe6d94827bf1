"""`python -m reliability [--quick] [--only NAME]`: every suite; figures into docs/reliability-figures.md and .json."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import shutil
import sys
import tempfile
import time
from pathlib import Path

import reliability

DOCS = Path(__file__).resolve().parents[1] / "docs"


def suites() -> list[str]:
    return sorted(m.name.removeprefix("suite_") for m in pkgutil.iter_modules(reliability.__path__)
                  if m.name.startswith("suite_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the reduced counts CI runs, not the full ones")
    parser.add_argument("--only", action="append", choices=suites(), help="run only this suite (repeatable)")
    args = parser.parse_args(argv)
    results = []
    for name in args.only or suites():
        module = importlib.import_module(f"reliability.suite_{name}")
        workdir = Path(tempfile.mkdtemp(prefix=f"drctl-reliability-{name}-"))
        started = time.monotonic()
        print(f"suite {name}: running ({'quick' if args.quick else 'full'})", file=sys.stderr, flush=True)
        try:
            result = module.run(full=not args.quick, workdir=workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        result["duration_s"] = round(time.monotonic() - started, 1)
        results.append(result)
        print(f"suite {name}: {result['outcome']} in {result['duration_s']}s: "
              + ", ".join(f"{k}={v}" for k, v in result["figures"].items()), file=sys.stderr, flush=True)
    if not args.only:
        write_docs(results, quick=args.quick)
    return 0 if all(r["outcome"] == "passed" for r in results) else 1


def write_docs(results: list[dict], quick: bool) -> None:
    DOCS.mkdir(exist_ok=True)
    (DOCS / "reliability.json").write_text(json.dumps({"quick": quick, "suites": results}, indent=2) + "\n")
    lines = ["# Reliability figures", "",
             "Printed by `python -m reliability`" + (" --quick" if quick else "") + " (see docs/reliability.md's "
             "sections below for what each suite does); regenerate with the same command.", ""]
    for result in results:
        lines += [f"## {result['suite']}: {result['outcome']}", "", "| figure | value |", "| --- | --- |"]
        lines += [f"| {name} | {value} |" for name, value in result["figures"].items()]
        lines += ["", *[f"- {note}" for note in result.get("notes", [])], ""]
    (DOCS / "reliability-figures.md").write_text("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
