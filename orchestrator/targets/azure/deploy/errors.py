"""Pulumi's errors as the engine's: what a failed CLI command means for the step that ran it.

ConcurrentUpdateError (another update holds the stack's lock) is transient; any other
CommandError is permanent, with the stderr tail (redacted) in its evidence; a missing CLI is
named as such, with where to get it.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal

from pulumi import automation as auto
from pulumi.automation.errors import InvalidVersionError

from orchestrator.data.errors import redact as redact_urls
from orchestrator.errors import BadInput
from orchestrator.model import PermanentError, TransientError
from orchestrator.redact import REDACTOR

INSTALL_URL = "https://www.pulumi.com/docs/install/"
STDERR_TAIL_LINES = 12
MESSAGE_TAIL_LINES = 3


class PulumiCliMissing(BadInput):
    """No Pulumi CLI where drctl looks for one."""


def cli_missing_message(detail: str) -> str:
    return f"the Pulumi CLI is not installed: {detail} ({INSTALL_URL})"


class pulumi_errors:
    """Re-raise Automation API errors inside the block as the engine's errors (see map_pulumi_error)."""

    def __init__(self, action: str) -> None:
        self.action = action

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, error: BaseException | None, tb: Any) -> Literal[False]:
        # Never swallows: the error goes on as it is, or as the engine's error it maps to.
        if error is None or not isinstance(error, Exception):
            return False
        mapped = map_pulumi_error(error, self.action)
        if mapped is error:
            return False
        raise mapped from error


def map_pulumi_error(error: BaseException, action: str, failed: list[dict[str, Any]] | None = None) -> BaseException:
    """TransientError, PermanentError or the error itself (anything unexpected fails the step as is)."""
    if isinstance(error, PermanentError) and failed:
        error.evidence = {**(error.evidence or {}), "failed_resources": failed}
        return error
    if isinstance(error, (TransientError, PermanentError)):
        return error
    if isinstance(error, auto.ConcurrentUpdateError):
        # Another `pulumi up` (or a crashed one's lock on a self-managed backend) holds the stack.
        return TransientError(f"pulumi {action}: another update holds the stack's lock (ConcurrentUpdateError)")
    if isinstance(error, auto.CommandError):
        code, tail = command_output_tail(error)
        evidence: dict[str, Any] = {"command": f"pulumi {action}", "error_type": type(error).__name__,
                                    "exit_code": code, "stderr_tail": tail}
        if failed:
            evidence["failed_resources"] = failed
        shown = " | ".join(line.strip() for line in tail[-MESSAGE_TAIL_LINES:] if line.strip()) or "no error output"
        return PermanentError(f"pulumi {action} failed ({type(error).__name__}, exit {code}): {shown}", evidence)
    if isinstance(error, FileNotFoundError):
        return PermanentError(cli_missing_message(f"running it failed: {error.strerror or error}"))
    if isinstance(error, InvalidVersionError):
        return PermanentError(f"the Pulumi CLI cannot be used: {error} ({INSTALL_URL})")
    return error


def command_output_tail(error: BaseException) -> tuple[int | None, list[str]]:
    """Exit code and the redacted last lines of a CommandError's stderr (its stdout's error lines
    when stderr is empty). CommandError keeps only its text: `\\n code: N\\n stdout: ...\\n stderr: ...`."""
    text = str(error)
    code = None
    _, _, rest = text.partition("\n code: ")
    number, _, rest = rest.partition("\n stdout: ")
    with contextlib.suppress(ValueError):
        code = int(number.strip())
    stdout, _, stderr = rest.partition("\n stderr: ")
    lines = [line for line in stderr.splitlines() if line.strip()]
    if not lines:
        lines = [line for line in stdout.splitlines() if "error" in line.lower()]
    return code, [REDACTOR.text(redact_urls(line)) for line in lines[-STDERR_TAIL_LINES:]]
