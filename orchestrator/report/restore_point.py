"""What the report says of the point a run restored to: the recovery point asked for
(`--recovery-point`), and for each store the backup generation restored and its point (the end of
the data it holds), which the RPO before replay is measured from. report.md and report.html
print the same lines, so they cannot say different things."""

from __future__ import annotations

from typing import Any


def restored_points(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in report.get("components", []) if c.get("backup_generation") or c.get("backup_point")]


def _what(component: dict[str, Any]) -> str:
    generation = component.get("backup_generation")
    return f"generation {generation}" if generation else "blob snapshots"


def rpo_basis_line(report: dict[str, Any]) -> str | None:
    """Where the RPO before replay was measured from, when a backup generation was restored."""
    restored = restored_points(report)
    if not restored:
        return None
    points = "; ".join(f"{c['title']}: {_what(c)}, data through {c.get('backup_point') or '-'}" for c in restored)
    asked = report.get("recovery_point")
    why = f"the newest at or before the recovery point {asked}" if asked else "the newest good backup"
    return (f"RPO before replay is measured from the restored point's data ({points}: {why}); replay then brings "
            "the stores up to date from there")


def generation_line(component: dict[str, Any], asked: str | None) -> str:
    """One store's restored generation, its point, and why that one."""
    line = f"{component['title']}: {_what(component)}, its point (data through) {component.get('backup_point') or '-'}"
    if asked:
        line += f", the newest at or before the recovery point {asked}"
    if component.get("restore_note"):
        line += f" ({component['restore_note']})"
    skipped = component.get("backup_generations_skipped")
    if skipped:
        line += (f", after {skipped} newer generation(s) found damaged or missing (why: evidence of its rehydrate "
                 "step)")
    elif not asked:
        line += ", the newest"
    return line
