"""Waiting for Azure role assignments to take effect before calling a data-plane refusal permanent.

A role assignment made a moment ago (the deploy step grants drctl's data roles) can take up to
about ten minutes to be honoured; meanwhile Storage answers 403 AuthorizationPermissionMismatch.
https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-assignment-changes-are-not-being-detected

- AuthorizationPermissionMismatch (the caller's roles lack the data action) is waited out;
- AuthorizationFailure is also what a storage firewall or a closed public endpoint answers, so it
  is waited out only when a role assignment was just made (`after_role_assignment`);
- anything else passes through unchanged.
The wait is bounded (`timeout_s`), backs off, and says on each retry that it waits for role
assignments to propagate. Past the bound the step fails, naming the role the refusing account needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from orchestrator.model import PermanentError

T = TypeVar("T")

ROLE_CODES = frozenset({"AuthorizationPermissionMismatch"})
# Also a network refusal (firewall, public access Disabled): only right after a role assignment.
AMBIGUOUS_CODES = frozenset({"AuthorizationFailure"})


def _say(message: str) -> None:
    from orchestrator.engine.progress import progress_line

    progress_line(message)


@dataclass
class RolePropagation:
    """Run a data-plane operation, retrying it while Azure has not yet honoured new role assignments.

    `roles` maps a refusing host to the role it needs ("Storage Blob Data Reader on account x"),
    for the final error; a host not in it is named as it is."""

    timeout_s: float = 600.0
    roles: Mapping[str, str] = field(default_factory=dict)
    after_role_assignment: bool = False
    first_delay_s: float = 10.0
    max_delay_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    say: Callable[[str], None] = _say

    def waits_for(self, err: BaseException) -> bool:
        evidence = getattr(err, "evidence", None) or {}
        if not isinstance(err, PermanentError) or evidence.get("status") != 403:
            return False
        code = evidence.get("error_code")
        return code in ROLE_CODES or (self.after_role_assignment and code in AMBIGUOUS_CODES)

    def missing_role(self, err: BaseException) -> str:
        host = (getattr(err, "evidence", None) or {}).get("host")
        return self.roles.get(host or "", f"a Storage Blob Data role on the account at {host or 'the refusing endpoint'}")

    def run(self, what: str, operation: Callable[[], T]) -> T:
        """`operation()`, again after each role-propagation refusal until `timeout_s` has passed."""
        deadline: float | None = None
        delay = self.first_delay_s
        while True:
            try:
                return operation()
            except PermanentError as err:
                if not self.waits_for(err) or self.timeout_s <= 0:
                    raise
                now, evidence = self.clock(), err.evidence or {}
                deadline = now + self.timeout_s if deadline is None else deadline
                role, code = self.missing_role(err), evidence.get("error_code")
                if now >= deadline:
                    raise PermanentError(
                        f"{what}: still refused ({code}) after waiting {self.timeout_s / 60:.0f} min for role "
                        f"assignments to propagate: the caller lacks {role}",
                        {**evidence, "missing_role": role, "waited_s": self.timeout_s}) from None
                pause = min(delay, deadline - now)
                self.say(f"{what}: {code} from {evidence.get('host') or 'storage'}: waiting for role "
                         f"assignments to propagate ({role}); retrying in {pause:.0f}s, "
                         f"giving up in {deadline - now:.0f}s")
                self.sleep(pause)
                delay = min(delay * 2, self.max_delay_s)
