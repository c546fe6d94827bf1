"""The run's timeline as inline SVG: one row per step grouped by component, a bar from each step's
start to its finish (seconds after the run started, from the journal), the plan's critical path
outlined, and the RTO target as a vertical line.

The RTO line sits where the target runs out: the disaster plus the target, measured from the run's
start (a drill's disaster is staged shortly before its run starts; a failover's is declared when it
starts). A local drill takes seconds against a target of hours, and an axis drawn to include the
deadline would squash every bar into a sliver; so the axis is stretched to the deadline only while
that keeps the run at least half the chart (OFF_SCALE). Beyond that the axis covers the run, and
the deadline is drawn as a marker at the right edge, labelled with its time and "off-scale"; the
text above the chart says so too. A run that overran its target gets the line inside the chart.

No script: tooltips are SVG <title> elements; every text is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

WIDTH = 1280
CHART_X = 330  # left of it: the step labels
CHART_W = 800  # right of it: duration labels and the off-scale RTO marker
TOP = 44  # room for the axis labels and the RTO label
ROW_H = 22
BAR_H = 14
MIN_BAR_W = 2.0  # a step that took (next to) no time is still visible
OFF_SCALE = 2.0  # stretch the axis to the deadline only up to twice the run's span

_TICK_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400)


@dataclass(frozen=True)
class Bar:
    step: str
    component: str
    kind: str
    state: str
    exercised: bool
    critical: bool
    start_s: float | None  # None: never started
    end_s: float | None  # None: started and not finished (running, waiting for approval)
    duration_s: float | None


@dataclass(frozen=True)
class Scale:
    axis_s: float  # the seconds the chart's width stands for
    span_s: float  # the run's last known instant, after its start
    deadline_s: float  # the RTO target runs out here, after the run's start
    off_scale: bool
    target_s: float

    @property
    def px_per_s(self) -> float:
        return CHART_W / self.axis_s

    def x(self, seconds: float) -> float:
        return CHART_X + seconds * self.px_per_s


def parse_ts(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def bars(report: dict[str, Any]) -> tuple[list[Bar], datetime | None]:
    """Per report step its bar, seconds after the run started; and that start."""
    starts = [parse_ts(s.get("started_at")) for s in report["steps"]]
    origin = parse_ts(report.get("run_started_at")) or min((t for t in starts if t), default=None)
    critical = set(report.get("estimated_critical_path") or [])
    found = []
    for step, start in zip(report["steps"], starts, strict=False):
        end = parse_ts(step.get("finished_at"))
        found.append(Bar(
            step=step["id"], component=step["component"], kind=step["kind"], state=step["state"],
            exercised=bool(step.get("exercised", True)), critical=step["id"] in critical,
            start_s=(start - origin).total_seconds() if start and origin else None,
            end_s=(end - origin).total_seconds() if end and origin and start else None,
            duration_s=step.get("duration_s"),
        ))
    return found, origin


def scale(report: dict[str, Any], found: list[Bar], origin: datetime | None) -> Scale:
    instants = [t for b in found for t in (b.start_s, b.end_s) if t is not None]
    span = max(instants, default=0.0)
    disaster = parse_ts(report.get("disaster_at"))
    offset = (disaster - origin).total_seconds() if disaster and origin else 0.0
    deadline = offset + float(report["rto_target_s"])  # after the run's start, like the bars
    target = float(report["rto_target_s"])
    if span <= 0:
        return Scale(max(deadline, 1.0), span, deadline, False, target)
    if deadline <= span * OFF_SCALE:
        return Scale(max(span, deadline), span, deadline, False, target)
    return Scale(span, span, deadline, True, target)


def fmt_s(seconds: float) -> str:
    seconds = float(seconds)
    if 0 < abs(seconds) < 0.1:  # a local step can take milliseconds; "0.0 s" would say nothing
        return f"{seconds * 1000:.0f} ms"
    if abs(seconds) < 60:
        return f"{seconds:.1f} s" if seconds % 1 else f"{seconds:.0f} s"
    if abs(seconds) < 3600:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min" + (f" {rest} s" if rest else "")
    hours, rest = divmod(round(seconds) // 60, 60)
    return f"{hours} h" + (f" {rest} min" if rest else "")


def _tick_step(axis_s: float) -> float:
    return next((t for t in _TICK_STEPS if axis_s / t <= 10), axis_s / 10)


def render_svg(report: dict[str, Any]) -> str:
    found, origin = bars(report)
    sc = scale(report, found, origin)
    groups: dict[str, list[Bar]] = {}
    for bar in found:
        groups.setdefault(bar.component, []).append(bar)
    rows = len(found) + len(groups)
    height = TOP + rows * ROW_H + 34
    bottom = TOP + rows * ROW_H
    out = [f'<svg class="timeline" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
           f'aria-label="Timeline of the run\'s steps" data-axis-s="{sc.axis_s:.6g}">']
    out += _axis(sc, bottom)
    y = TOP
    for component, members in groups.items():
        out.append(f'<rect class="group-band" x="0" y="{y}" width="{WIDTH}" height="{ROW_H}"/>')
        out.append(f'<text class="group" x="8" y="{y + 15}">{escape(component)}</text>')
        y += ROW_H
        for bar in members:
            out += _row(bar, sc, y)
            y += ROW_H
    out += _rto(sc, bottom)
    out.append("</svg>")
    return "\n".join(out)


def _axis(sc: Scale, bottom: int) -> list[str]:
    step = _tick_step(sc.axis_s)
    out = [f'<line class="axis" x1="{CHART_X}" y1="{bottom}" x2="{CHART_X + CHART_W}" y2="{bottom}"/>']
    count = int(sc.axis_s / step + 1e-9)
    for n in range(count + 1):
        x = sc.x(n * step)
        out.append(f'<line class="grid" x1="{x:.3f}" y1="{TOP - 6}" x2="{x:.3f}" y2="{bottom}"/>')
        out.append(f'<text class="tick" x="{x:.3f}" y="{bottom + 16}" text-anchor="middle">{escape(fmt_s(n * step))}'
                   "</text>")
    out.append(f'<text class="axis-title" x="{CHART_X + CHART_W / 2}" y="{bottom + 31}" text-anchor="middle">'
               "time after the run started</text>")
    return out


def _row(bar: Bar, sc: Scale, y: int) -> list[str]:
    label = f"{bar.step} ({bar.kind})"
    out = [f'<text class="label{" critical" if bar.critical else ""}" x="22" y="{y + 15}">{escape(label)}</text>']
    if bar.start_s is None:
        out.append(f'<text class="note" x="{CHART_X + 4}" y="{y + 15}">{escape(bar.state)}: no start recorded</text>')
        return out
    open_ended = bar.end_s is None
    end = sc.span_s if bar.end_s is None else bar.end_s
    x, width = sc.x(bar.start_s), max((end - bar.start_s) * sc.px_per_s, MIN_BAR_W)
    classes = ["bar", f"k-{bar.kind}", f"s-{bar.state}"]
    classes += ["critical"] if bar.critical else []
    classes += ["not-exercised"] if not bar.exercised else []
    classes += ["open"] if open_ended else []
    took = "unfinished" if open_ended else fmt_s(end - bar.start_s)
    tip = (f"{bar.step}: {bar.state}{'' if bar.exercised else ', not exercised'}; from {fmt_s(bar.start_s)} "
           f"for {took}{'; on the critical path' if bar.critical else ''}")
    out.append(
        f'<rect class="{" ".join(classes)}" data-step="{escape(bar.step)}" data-start-s="{bar.start_s:.3f}" '
        f'data-end-s="{"" if open_ended else f"{end:.3f}"}" x="{x:.3f}" y="{y + (ROW_H - BAR_H) / 2}" '
        f'width="{width:.3f}" height="{BAR_H}" rx="2"><title>{escape(tip)}</title></rect>'
    )
    text = took + ("" if bar.state == "succeeded" else f" ({bar.state})")
    out.append(f'<text class="duration" x="{min(x + width + 5, CHART_X + CHART_W + 4):.2f}" y="{y + 15}">'
               f"{escape(text)}</text>")
    return out


def _rto(sc: Scale, bottom: int) -> list[str]:
    label = f"RTO target ({fmt_s(sc.target_s)}) runs out at {fmt_s(sc.deadline_s)}"
    if not sc.off_scale:
        x = sc.x(max(sc.deadline_s, 0.0))  # a deadline before the run started is drawn at its start
        anchor = "end" if x > CHART_X + CHART_W - 60 else "middle"
        return [f'<line class="rto" data-deadline-s="{sc.deadline_s:.3f}" x1="{x:.3f}" y1="{TOP - 10}" '
                f'x2="{x:.3f}" y2="{bottom}"/>',
                f'<text class="rto-label" x="{x:.2f}" y="{TOP - 14}" text-anchor="{anchor}">{escape(label)}</text>']
    x = WIDTH - 12
    return [f'<line class="rto off-scale" data-deadline-s="{sc.deadline_s:.3f}" x1="{x}" y1="{TOP - 10}" '
            f'x2="{x}" y2="{bottom}"/>',
            f'<path class="rto-arrow" d="M {CHART_X + CHART_W + 8} {TOP - 4} L {x - 4} {TOP - 4} '
            f'M {x - 10} {TOP - 9} L {x - 4} {TOP - 4} L {x - 10} {TOP + 1}"/>',
            f'<text class="rto-label" x="{x}" y="{TOP - 14}" text-anchor="end">{escape(label)} (off-scale)</text>']
