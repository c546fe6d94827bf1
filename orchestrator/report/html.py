"""report.html: the handover report as one self-contained page that opens offline.

Inline CSS and inline SVG only: no script, no font, stylesheet or image from anywhere, so the page
reads the same from an evidence archive years later. The facts are report.md's (outcome, RTO and
RPO against targets, components, steps, failures), plus the timeline (orchestrator/report/
timeline.py) and the time per phase. Built from the report document alone, every text escaped.
The markup is well-formed XML as well as HTML, so any XML parser can read the evidence back.
"""

from __future__ import annotations

from html import escape
from typing import Any

from orchestrator.model import StepKind
from orchestrator.report.restore_point import generation_line, restored_points, rpo_basis_line
from orchestrator.report.rto_window import rto_window_line
from orchestrator.report.timeline import bars, fmt_s, render_svg, scale

# The phases in recovery order; a phase shows only when the run's plan has steps of its kind.
PHASE_LABELS = {
    StepKind.DEPLOY: "deploy", StepKind.REHYDRATE: "rehydrate", StepKind.VALIDATE: "validate",
    StepKind.REPLAY: "replay", StepKind.SMOKE: "smoke", StepKind.GATE: "gates", StepKind.HANDOVER: "handover",
    StepKind.DRIFT: "drift", StepKind.PARALLEL_RUN: "parallel run", StepKind.SWITCH: "switch",
    StepKind.DECOMMISSION: "decommission",
}
KIND_COLOURS = {
    "deploy": "#4e79a7", "rehydrate": "#f28e2b", "validate": "#59a14f", "replay": "#76b7b2", "smoke": "#edc948",
    "gate": "#b07aa1", "handover": "#9c755f", "drift": "#ff9da7", "parallel-run": "#86bcb6", "switch": "#8cd17d",
    "decommission": "#bab0ac",
}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 24px;
       color: #1d1d1f; background: #fff; }
h1 { font-size: 22px; margin: 0 0 12px; } h2 { font-size: 17px; margin: 28px 0 8px; }
ul.facts { padding-left: 18px; line-height: 1.6; }
.met { color: #1a7f37; font-weight: 600; } .missed { color: #c62828; font-weight: 600; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; }
p.note { max-width: 1100px; }
svg.timeline { font-size: 12px; display: block; }
svg .group-band { fill: #f6f8fa; } svg .group { font-weight: 700; fill: #1d1d1f; }
svg .label { fill: #444; } svg .label.critical { font-weight: 700; fill: #000; }
svg .note { fill: #777; font-style: italic; } svg .duration { fill: #444; font-size: 11px; }
svg .axis { stroke: #555; } svg .grid { stroke: #e3e6ea; } svg .tick, svg .axis-title { fill: #555; }
svg .bar { stroke: #fff; stroke-width: 0.5; }
svg .bar.critical { stroke: #000; stroke-width: 2.5; }
svg .bar.s-failed { fill: #c62828; } svg .bar.s-skipped { fill: #bbb; }
svg .bar.not-exercised { fill-opacity: 0.35; stroke-dasharray: 3 2; stroke: #666; }
svg .bar.open { fill-opacity: 0.5; stroke-dasharray: 4 2; stroke: #333; }
svg .rto { stroke: #c62828; stroke-width: 2; stroke-dasharray: 6 4; }
svg .rto-arrow { stroke: #c62828; stroke-width: 2; fill: none; }
svg .rto-label { fill: #c62828; font-weight: 700; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }
"""


def _kind_css() -> str:
    return "\n".join(f"svg .k-{kind} {{ fill: {colour}; }} .legend i.k-{kind} {{ background: {colour}; }}"
                     for kind, colour in KIND_COLOURS.items())


def phase_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per phase present: its steps, their summed duration, and the part on the plan's critical path."""
    critical = set(report.get("estimated_critical_path") or [])
    rows = []
    for kind, label in PHASE_LABELS.items():
        steps = [s for s in report["steps"] if s["kind"] == str(kind)]
        if steps:
            rows.append({
                "kind": str(kind), "phase": label, "steps": len(steps),
                "total_s": round(sum(s["duration_s"] or 0.0 for s in steps), 3),
                "critical_s": round(sum(s["duration_s"] or 0.0 for s in steps if s["id"] in critical), 3),
            })
    return rows


def _t(value: Any) -> str:
    return escape("-" if value is None else str(value))


def _seconds(value: Any) -> str:
    return "-" if value is None else escape(f"{float(value):.1f} s")


def _verdict(met: bool) -> str:
    return '<span class="met">met</span>' if met else '<span class="missed">NOT met</span>'


def _facts(report: dict[str, Any]) -> list[str]:
    handover = report["handover"]
    started = "Fallback started" if str(report["kind"]).startswith("fallback") else "Disaster declared"
    return [
        "<ul class=\"facts\">",
        f"<li>Run: <code>{_t(report['run_id'])}</code></li>",
        f"<li>Outcome: <strong>{_t(report['outcome'])}</strong>; handover "
        + ("complete" if handover["complete"] else "blocked by " + _t(", ".join(handover["blocked_by"]))) + "</li>",
        f"<li>{started}: {_t(report.get('disaster_at'))}; handover: {_t(report.get('handover_at'))}</li>",
        f"<li>RTO measured {_seconds(report.get('rto_s'))} against a target of {_seconds(report['rto_target_s'])}: "
        f"{_verdict(report['rto_met'])}</li>",
        *([f"<li>{_t(line.removeprefix('- '))}</li>"] if (line := rto_window_line(report.get("rto_window"))) else []),
        f"<li>Estimated RTO from the plan (critical path): {_seconds(report.get('estimated_rto_s'))}</li>",
        f"<li>RPO before replay {_seconds(report.get('rpo_s_before_replay'))}, after replay "
        f"{_seconds(report.get('rpo_s_after_replay'))}, target {_seconds(report['rpo_target_s'])}: "
        f"{_verdict(report['rpo_met'])}</li>",
        *([f"<li>{_t(line)}</li>"] if (line := rpo_basis_line(report)) else []),
        *([f"<li>Recovery point asked for (--recovery-point): {_t(report['recovery_point'])}</li>"]
          if report.get("recovery_point") else []),
        *[f"<li>Backup restored: {_t(generation_line(c, report.get('recovery_point')))}</li>"
          for c in restored_points(report)],
        "</ul>",
    ]


def _scale_note(report: dict[str, Any]) -> str:
    found, origin = bars(report)
    sc = scale(report, found, origin)
    deadline = f"the RTO target ({fmt_s(report['rto_target_s'])} after the disaster) runs out {fmt_s(sc.deadline_s)} " \
               "after the run started"
    if sc.off_scale:
        text = (f"The run's steps took {fmt_s(sc.span_s)}, far shorter than the time allowed: {deadline}. Drawn to "
                "scale, every bar would shrink to a sliver, so the axis covers the run and the RTO target is marked "
                "off-scale at the right edge.")
    elif sc.deadline_s < sc.span_s:
        text = f"The run went on past its deadline: {deadline}, the dashed red line."
    else:
        text = f"The dashed red line: {deadline}."
    return ("<p class=\"note\">One bar per step, from its start to its finish as journaled, grouped by component; "
            "bars outlined in black (labels in bold) are on the plan's critical path. " + escape(text) + "</p>")


def _legend(report: dict[str, Any]) -> str:
    kinds = [k for k in KIND_COLOURS if any(s["kind"] == k for s in report["steps"])]
    items = [f'<span><i class="k-{escape(k)}"></i>{escape(k)}</span>' for k in kinds]
    items.append('<span><i style="background: #c62828"></i>failed</span>')
    items.append('<span><i style="border: 2.5px solid #000; width: 8px; height: 8px"></i>critical path</span>')
    return '<p class="legend">' + "".join(items) + "</p>"


def _table(head: list[str], rows: list[list[str]], numeric: tuple[int, ...] = (), total: list[str] | None = None) -> list[str]:
    out = ["<table>", "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for row in rows + ([total] if total else []):
        cells = "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        out.append(f'<tr class="total">{cells}</tr>' if row is total else f"<tr>{cells}</tr>")
    out.append("</table>")
    return out


def _phases(report: dict[str, Any]) -> list[str]:
    rows = phase_rows(report)
    # Two decimals: a local drill's phases take fractions of a second.
    body = [[escape(r["phase"]), str(r["steps"]), f"{r['total_s']:.2f}", f"{r['critical_s']:.2f}"] for r in rows]
    total = ["total", str(sum(r["steps"] for r in rows)), f"{sum(r['total_s'] for r in rows):.2f}",
             f"{sum(r['critical_s'] for r in rows):.2f}"]
    return ["<h2>Time per phase</h2>", "<p class=\"note\">Seconds each phase's steps ran, added up (steps of a phase may run at once), and " "the part of it on the plan's critical path.</p>", *_table(["phase", "steps", "total (s)", "on the critical path (s)"], body, (1, 2, 3), total)]


def _components(report: dict[str, Any]) -> list[str]:
    rows = [[_t(c["title"]), "yes" if c["stateful"] else "no",
             "yes" if c["exercised"] else "declared, not exercised locally", _t(c["status"]), _t(c["smoke"]),
             _t(c["validation"]), _t(c["recovered_data_timestamp"]), _t(c["data_timestamp"])]
            for c in report["components"]]
    head = ["component", "stateful", "exercised", "status", "smoke", "validation", "recovered to", "after replay"]
    out = ["<h2>Components</h2>", *_table(head, rows)]
    said = [c for c in report["components"] if "recovery" in c]  # reports from before it lack the sentence
    if said:
        out += ["<h2>What is and is not recovered</h2>", "<ul>"]
        out += [f"<li>{_t(c['title'])} (<code>{_t(c['name'])}</code>): {_t(c['recovery'])}</li>" for c in said]
        out.append("</ul>")
    endpoints = [(c["title"], k, v) for c in report["components"] for k, v in (c["endpoints"] or {}).items()]
    if endpoints:
        out += ["<h2>Endpoints of the recovered platform</h2>", "<ul>"]
        out += [f"<li>{_t(title)}: {_t(key)} = <code>{_t(value)}</code></li>" for title, key, value in endpoints]
        out.append("</ul>")
    return out


def _steps(report: dict[str, Any]) -> list[str]:
    critical = set(report.get("estimated_critical_path") or [])
    rows = [[_t(s["id"]) + (" (critical path)" if s["id"] in critical else ""), _t(s.get("description") or ""),
             _t(s["state"]), str(s["attempts"]), _seconds(s["duration_s"]),
             _t(s["error"] or ("" if s["exercised"] else "declared, not exercised locally"))]
            for s in report["steps"]]
    out = ["<h2>Steps</h2>", *_table(["step", "description", "state", "attempts", "duration", "detail"], rows, (3, 4))]
    if report.get("failures"):
        out += ["<h2>Failures</h2>", "<ul>"]
        out += [f"<li><code>{_t(f['step'])}</code> {_t(f['state'])}: {_t(f['error'] or '')}</li>"
                for f in report["failures"]]
        out.append("</ul>")
    return out


def render_html(report: dict[str, Any]) -> str:
    title = f"Handover report: {report['kind']} of stack {report['stack']}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8"/>',
        f"<title>{escape(title)}</title>",
        "<style>" + CSS + _kind_css() + "</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(title)}</h1>",
        *_facts(report),
        "<h2>Timeline</h2>",
        _scale_note(report),
        _legend(report),
        render_svg(report),
        *_phases(report),
        *_components(report),
        *_steps(report),
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"
