"""The findings model of preflight: one `Check` per question asked of Azure, and the report.

A check passes, reports a finding (something is wrong or at risk, with the fix and what it costs
in data), or could not be answered (an error: retriable when Azure was throttling or unavailable,
permanent when it refused). The report is blocked by any blocker finding or permanent error: a
failover started then would fail part-way, or lose data it could have kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

# One classification table for the local and Azure paths (408/429/5xx, throttling codes).
from orchestrator.data.errors import error_details, map_azure_error
from orchestrator.model import TransientError
from orchestrator.redact import REDACTOR

Status = Literal["pass", "finding", "error"]
Severity = Literal["blocker", "warning", "info"]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    status: Status
    severity: Severity
    message: str
    fix: str | None = None  # the seed's uplift option, or the action to take
    rpo_consequence: str | None = None  # what it costs in data if failover goes ahead
    retriable: bool = False
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def blocks(self) -> bool:
        if self.status == "finding":
            return self.severity == "blocker"
        return self.status == "error" and not self.retriable

    def to_json(self) -> dict[str, Any]:
        return REDACTOR(
            {
                "id": self.id,
                "title": self.title,
                "status": self.status,
                "severity": self.severity,
                "message": self.message,
                "fix": self.fix,
                "rpo_consequence": self.rpo_consequence,
                "retriable": self.retriable,
                "evidence": self.evidence,
            }
        )


def passed(check_id: str, title: str, message: str, evidence: dict[str, Any] | None = None) -> Check:
    return Check(check_id, title, "pass", "info", message, evidence=dict(evidence or {}))


def finding(
    check_id: str,
    title: str,
    severity: Severity,
    message: str,
    *,
    fix: str | None = None,
    rpo_consequence: str | None = None,
    retriable: bool = False,
    evidence: dict[str, Any] | None = None,
) -> Check:
    return Check(
        check_id, title, "finding", severity, message, fix=fix, rpo_consequence=rpo_consequence,
        retriable=retriable, evidence=dict(evidence or {}),
    )


def error_code(exc: BaseException) -> str | None:
    """The service's error code (`error.code` of an ARM error body), when there is one."""
    return error_details(exc)["error_code"]


def is_transient(exc: BaseException) -> tuple[bool, float | None]:
    """(retriable, Retry-After seconds): 408/429/5xx, throttling codes and dropped connections."""
    if isinstance(exc, ClientAuthenticationError) and getattr(exc, "status_code", None) is None:
        return False, None  # no credential could get a token: retrying will not change that
    mapped = map_azure_error(exc)
    if isinstance(mapped, TransientError):  # 408/429/5xx, throttling codes, dropped connections
        return True, mapped.retry_after_s
    return False, None


def first_line(exc: BaseException) -> str:
    """A one-line, redacted summary of an SDK error (their messages repeat code and text below)."""
    text = str(exc).strip().splitlines()
    return REDACTOR.text(text[0] if text else type(exc).__name__)[:300]


def error_evidence(exc: BaseException) -> dict[str, Any]:
    _retriable, retry_after = is_transient(exc)
    evidence: dict[str, Any] = {"exception": type(exc).__name__}
    status = getattr(exc, "status_code", None)
    if status is not None:
        evidence["status"] = status
    code = error_code(exc)
    if code:
        evidence["code"] = code
    if retry_after is not None:
        evidence["retry_after_s"] = retry_after
    return evidence


def error_check(check_id: str, title: str, exc: BaseException, what: str) -> Check:
    """The check for a question Azure did not answer: retriable or permanent, code in evidence."""
    retriable, _ = is_transient(exc)
    evidence = error_evidence(exc)
    code = f" ({evidence['code']})" if "code" in evidence else ""
    kind = "transient failure, retry later" if retriable else (
        "refused" if isinstance(exc, HttpResponseError) else "failed")
    return Check(
        check_id,
        title,
        "error",
        "warning" if retriable else "blocker",
        f"{what}: {kind}{code}: {first_line(exc)}",
        fix=None if retriable else _permanent_fix(evidence.get("code"), evidence.get("status")),
        retriable=retriable,
        evidence=evidence,
    )


def _permanent_fix(code: str | None, status: int | None) -> str | None:
    if status == 403 or code in {"AuthorizationFailed", "LinkedAuthorizationFailed"}:
        return "grant the failover identity Reader (or the role the call needs) on the subscription"
    if status == 401 or code in {"InvalidAuthenticationToken", "ExpiredAuthenticationToken"}:
        return "sign in again (az login, or the workload identity / service principal settings)"
    return None


@dataclass(frozen=True)
class PreflightReport:
    stack: str
    region: str
    checks: tuple[Check, ...]
    skipped: tuple[str, ...] = ()  # checks not run because an earlier one made them pointless

    @property
    def blocked(self) -> bool:
        return any(check.blocks for check in self.checks)

    def blockers(self) -> list[Check]:
        return [check for check in self.checks if check.blocks]

    def by_id(self, check_id: str) -> Check:
        for check in self.checks:
            if check.id == check_id:
                return check
        raise KeyError(check_id)

    def to_json(self) -> dict[str, Any]:
        counts = {status: 0 for status in ("pass", "finding", "error")}
        for check in self.checks:
            counts[check.status] += 1
        return {
            "stack": self.stack,
            "region": self.region,
            "blocked": self.blocked,
            "summary": counts,
            "blockers": [check.id for check in self.blockers()],
            "checks": [check.to_json() for check in self.checks],
            "skipped": list(self.skipped),
        }
