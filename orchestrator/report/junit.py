"""junit.xml: a run's smoke checks and data checks as test cases, so CI systems show them natively.

One testsuite per smoke or data-check step, one testcase per check the step's evidence names:

- a smoke step's evidence lists its checks (`checks`: what smoke_tests/<stem>.py's checks return;
  on Azure `management_plane` and `data_plane` per named check, `not_exercised` check names);
- a validate step compares stores against a manifest (or, in a fallback, the primary against
  the secondary): one testcase per table, container or zone it compared, plus the watermark and
  the records of the secondary's time where it checked them. Any other step whose evidence holds
  such a comparison (a lake zone rebuilt and checked, a parallel run's comparisons) counts too.

A check that failed is a <failure> with its message; a step declared but not exercised, blocked
by a failure, or never run is a <skipped> testcase with the reason. Evidence is read from
evidence/<step>.json, the same files the evidence bundle seals.

The testsuite/testcase builders at the top are shared with `drctl coverage --junit`.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from orchestrator.run.rundir import RunDir


@dataclass(frozen=True)
class Case:
    classname: str
    name: str
    failure: str | None = None  # the message; a failed check
    detail: str | None = None  # the failure's text, else the case's system-out
    skipped: str | None = None  # why the check was not run
    time_s: float | None = None
    failure_type: str = "check-failed"


def testsuite(parent: ET.Element, name: str, cases: list[Case], properties: dict[str, str] | None = None) -> ET.Element:
    """A <testsuite> under `parent` with its counts computed from the cases, so they cannot disagree."""
    suite = ET.SubElement(
        parent, "testsuite", name=name, tests=str(len(cases)), failures=str(sum(1 for c in cases if c.failure)),
        errors="0", skipped=str(sum(1 for c in cases if c.skipped and not c.failure)),
    )
    if properties:
        element = ET.SubElement(suite, "properties")
        for key, value in properties.items():
            ET.SubElement(element, "property", name=key, value=str(value))
    for case in cases:
        attributes = {"classname": case.classname, "name": case.name}
        if case.time_s is not None:
            attributes["time"] = f"{case.time_s:.3f}"
        element = ET.SubElement(suite, "testcase", attributes)
        if case.failure:
            ET.SubElement(element, "failure", type=case.failure_type, message=case.failure).text = case.detail
        elif case.skipped:
            ET.SubElement(element, "skipped", message=case.skipped)
        elif case.detail:
            ET.SubElement(element, "system-out").text = case.detail
    return suite


def testsuites(name: str,
               suites: Sequence[tuple[str, list[Case], dict[str, str] | None]]) -> ET.ElementTree[ET.Element]:
    """<testsuites> over (name, cases, properties) suites, totals summed, indented."""
    every = [case for _, cases, _ in suites for case in cases]
    root = ET.Element(
        "testsuites", name=name, tests=str(len(every)), failures=str(sum(1 for c in every if c.failure)),
        errors="0", skipped=str(sum(1 for c in every if c.skipped and not c.failure)),
    )
    for suite_name, cases, properties in suites:
        testsuite(root, suite_name, cases, properties)
    tree: ET.ElementTree[ET.Element] = ET.ElementTree(root)
    ET.indent(tree)
    return tree


def to_text(tree: ET.ElementTree[ET.Element]) -> str:
    return ET.tostring(tree.getroot(), encoding="unicode", xml_declaration=True) + "\n"


# -- a run's checks ---------------------------------------------------------------------------------

SMOKE, VALIDATE = "smoke", "validate"


def run_junit(report: dict[str, Any], run_dir: Path) -> ET.ElementTree[ET.Element]:
    suites = []
    for step in report["steps"]:
        evidence = _read_evidence(Path(run_dir), step["id"])
        cases = step_cases(step, evidence)
        if cases:
            suites.append((step["id"], cases, {"component": step["component"], "kind": step["kind"],
                                               "state": step["state"]}))
    return testsuites(f"drctl {report['kind']} {report['run_id']} (stack {report['stack']})", suites)


def _read_evidence(run_dir: Path, step_id: str) -> dict[str, Any] | None:
    try:
        document = json.loads(RunDir(run_dir).step_evidence(step_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a step that never ran has no evidence file
    return document.get("evidence") if isinstance(document, dict) else None


def step_cases(step: dict[str, Any], evidence: dict[str, Any] | None) -> list[Case]:
    """The testcases of one report step; none when the step is neither a smoke nor a data check."""
    evidence = evidence if isinstance(evidence, dict) else {}
    comparisons = _comparisons(evidence)
    if step["kind"] not in (SMOKE, VALIDATE) and not comparisons:
        return []
    sid, state = step["id"], step["state"]
    time_s = step.get("duration_s")
    if state == "succeeded" and not step.get("exercised", True):
        note = str(evidence.get("note") or "declared, not exercised")
        return [Case(sid, step["kind"], skipped=note if "not exercised" in note else f"not exercised: {note}")]
    if state not in ("succeeded", "failed"):
        reason = step.get("error") or ("never started" if state == "pending" else state)
        return [Case(sid, step["kind"], skipped=f"{state}: {reason}")]
    if step["kind"] == SMOKE:
        cases = _smoke_cases(sid, evidence)
    else:
        cases = [case for comparison in comparisons for case in _comparison_cases(sid, comparison)]
    if not cases:  # the step is the one check it names (e.g. a restored database checked for Online)
        cases = [Case(sid, step["kind"], detail=_brief(evidence) if evidence else None)]
    cases += [Case(sid, str(name), skipped="not exercised: declared, no runner for this check here")
              for name in evidence.get("not_exercised") or [] if isinstance(name, str)]
    failed = any(case.failure for case in cases)
    if state == "failed" and not failed:
        # The step failed before (or beside) any check it names: the failure is its own case.
        cases.append(Case(sid, step["kind"], failure=step.get("error") or "failed", detail=step.get("error")))
    if len(cases) == 1 and time_s is not None:
        cases = [replace(cases[0], time_s=time_s)]
    return cases


def _smoke_cases(sid: str, evidence: dict[str, Any]) -> list[Case]:
    cases = _check_list(sid, "", evidence)
    management = evidence.get("management_plane")
    if isinstance(management, dict):
        failed = [r for r in management.get("resources") or [] if isinstance(r, dict) and not r.get("ok", True)]
        names = [str(r.get("id", "?")).rsplit("/", 1)[-1] for r in failed]
        cases.append(Case(sid, f"management plane: {management.get('check', 'provisioned')}",
                          failure=f"not provisioned: {', '.join(names)}" if failed else None,
                          detail=f"{management.get('checked', len(management.get('resources') or []))} resources"))
    named = {**(evidence.get("management_checks") or {}), **(evidence.get("public_checks") or {}),
             **(evidence.get("data_plane") or {})}
    for name, result in named.items():
        listed = _check_list(sid, f"{name}: ", result) if isinstance(result, dict) else []
        cases += listed or [Case(sid, str(name), detail=_brief(result))]
    return cases


def _check_list(sid: str, prefix: str, evidence: dict[str, Any]) -> list[Case]:
    """smoke_tests' shape: {"ok": bool, "checks": [{"check": name, "ok": bool}, ...]}."""
    cases = []
    for check in evidence.get("checks") or []:
        if isinstance(check, dict) and "check" in check:
            ok = bool(check.get("ok"))
            cases.append(Case(sid, f"{prefix}{check['check']}", failure=None if ok else f"{check['check']}: failed",
                              detail=None if ok else check.get("error")))
    return cases


def _comparisons(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    """The store comparisons in a step's evidence: the evidence itself, or its values (a parallel
    run compares each store again)."""
    def is_comparison(value: Any) -> bool:
        return isinstance(value, dict) and isinstance(value.get("exact"), bool) and "mismatches" in value
    if is_comparison(evidence):
        return [evidence]
    return [value for value in evidence.values() if is_comparison(value)]


def _comparison_cases(sid: str, comparison: dict[str, Any]) -> list[Case]:
    store = str(comparison.get("store") or "data")
    mismatches = [str(m) for m in comparison.get("mismatches") or []]
    details = comparison.get("details")
    sides = comparison.get("tables") or comparison.get("zones") or {}
    if isinstance(details, dict) and details:
        names = list(details)
    elif isinstance(sides, dict) and isinstance(sides.get("secondary"), dict):
        names = list(sides["secondary"])  # a fallback compares the primary against the secondary
    else:
        names = []
    checks: dict[str, list[str]] = {name: [] for name in names}
    watermark = comparison.get("watermark")
    if isinstance(watermark, dict) and (watermark.get("expected"), watermark.get("actual")) != (None, None):
        checks["watermark"] = []
    window = "written during the secondary's time"
    if "secondary_time" in comparison:
        checks[window] = []
    leftover: list[str] = []
    for line in mismatches:
        # The secondary's-time check first: its lines start with a table's name ("events written...").
        owner = window if window in checks and window in line else None
        owner = owner or next((name for name in sorted(checks, key=len, reverse=True) if _about(line, name)), None)
        (checks[owner] if owner is not None else leftover).append(line)
    if leftover or not checks:
        checks["other mismatches" if checks else "exact"] = leftover
    return [Case(sid, f"{store}: {name}", failure=lines[0] if lines else None, detail="\n".join(lines) or None)
            for name, lines in checks.items()]


def _about(line: str, name: str) -> bool:
    return line.startswith((f"{name}:", f"{name} ", f"{name}/"))


def _brief(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 2000 else text[:2000] + " ..."


# -- drctl coverage's document, for CI test reporters -----------------------------------------------


def coverage_junit(document: dict[str, Any]) -> ET.ElementTree[ET.Element]:
    """One testsuite per coverage check (in the document's order), one testcase per component; a gap
    is a <failure>."""
    properties = {"stack": document["stack"], "paired_stack": document["paired_stack"]}
    suites = []
    for check in document["summary"]:
        cases = [
            Case(f"coverage.{check}", c["component"], failure=c["gaps"][0], detail="\n".join(c["gaps"]),
                 failure_type="coverage-gap")
            if c["gaps"]
            else Case(f"coverage.{check}", c["component"], detail=c["detail"] or None)
            for c in document["checks"]
            if c["check"] == check
        ]
        suites.append((f"coverage.{check}", cases, properties))
    return testsuites(f"drctl coverage --stack {document['stack']}", suites)


def write_coverage_junit(document: dict[str, Any], path: Path) -> None:
    from orchestrator.errors import BadInput

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        coverage_junit(document).write(path, encoding="utf-8", xml_declaration=True)
    except OSError as exc:
        raise BadInput(f"--junit: cannot write {path}: {exc.strerror or exc}") from None
