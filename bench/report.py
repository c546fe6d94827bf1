"""A benchmark's figures, and the table `python -m bench` prints and writes to docs/.

Every figure carries its goal, so the printed table, docs/performance.md and
docs/performance.json say the same thing: the value, the goal and whether it is met. A figure
without a goal (the naive path's time, a floor) is context for the ratios next to it.
"""

from __future__ import annotations

import json
import operator
import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq}


@dataclass(frozen=True)
class Result:
    name: str  # "<benchmark>.<figure>", stable: docs and tests refer to it
    value: float
    unit: str
    goal: str | None = None  # "<op> <number>", e.g. "<= 1.02"; None: context, no goal
    note: str = ""  # one line of context for people (not in the JSON contract)

    @property
    def met(self) -> bool | None:
        if self.goal is None:
            return None
        op, target = self.goal.split(" ", 1)
        return bool(_OPS[op](self.value, float(target)))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "unit": self.unit, "goal": self.goal, "met": self.met}


def _fmt(value: float) -> str:
    if value == int(value) and abs(value) >= 1:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _verdict(result: Result) -> str:
    return {True: "met", False: "MISSED", None: "-"}[result.met]


def table(results: list[Result]) -> list[str]:
    """The results as Markdown table rows: what is printed and what the docs hold, alike."""
    rows = ["| figure | value | unit | goal | met | note |", "| --- | ---: | --- | --- | --- | --- |"]
    for r in results:
        rows.append(f"| {r.name} | {_fmt(r.value)} | {r.unit} | {r.goal or '-'} | {_verdict(r)} | {r.note} |")
    return rows


def machine() -> dict[str, Any]:
    """What the figures were measured on: they mean little without it."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "load_average": load}


def write_docs(results: list[Result], docs_dir: Path, *, quick: bool, elapsed_s: float,
               load_before: list[float] | None) -> tuple[Path, Path]:
    docs_dir.mkdir(parents=True, exist_ok=True)
    meta = {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "quick": quick,
            "elapsed_s": round(elapsed_s, 1), "machine": {**machine(), "load_average_before": load_before}}
    json_path = docs_dir / "performance.json"
    json_path.write_text(json.dumps({"results": [r.to_json() for r in results], "meta": meta}, indent=2) + "\n")
    missed = [r.name for r in results if r.met is False]
    lines = [
        "# Performance",
        "",
        "Written by `python -m bench" + (" --quick" if quick else "") + "` (do not edit: run it again). "
        "What the figures mean, and why some goals are missed, is in "
        "[performance-notes.md](performance-notes.md).",
        "",
        f"- generated {meta['generated_at']}, {'quick sizes' if quick else 'full sizes'}, "
        f"{elapsed_s:.0f} s in all",
        f"- machine: {meta['machine']['cpus']} CPUs, Python {meta['machine']['python']}, "
        f"load average {load_before} before, {meta['machine']['load_average']} after "
        "(other work on the machine disturbs the timings)",
        f"- goals met: {sum(r.met is True for r in results)} of {sum(r.met is not None for r in results)}"
        + (f"; missed: {', '.join(missed)}" if missed else ""),
        "",
        *table(results),
        "",
    ]
    md_path = docs_dir / "performance.md"
    md_path.write_text("\n".join(lines))
    return md_path, json_path
