"""Deploying a stack through the Pulumi Automation API: a small wrapper, errors mapped for the engine.

`pulumi.automation` drives the Pulumi CLI as a subprocess (its module docstring: "This still
requires a CLI binary to be installed"), on the project's own Pulumi.yaml and stack file: the
same program `pulumi up` runs by hand. The CLI is found on PATH, or at DRCTL_PULUMI_COMMAND
(`<root>/bin/pulumi`, the layout `PulumiCommand(root=...)` expects); tests point it at a fake.

How its errors reach the engine: deploy/errors.py.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi import automation as auto

from orchestrator.errors import BadInput
from orchestrator.model import PermanentError
from orchestrator.targets.azure.deploy.backend import backend_for, cancel_stops_the_update, passphrase_problem
from orchestrator.targets.azure.deploy.errors import (  # pulumi_errors and map_pulumi_error are imported from here too
    PulumiCliMissing,
    cli_missing_message,
    map_pulumi_error,
    pulumi_errors,
)

__all__ = ["PULUMI_COMMAND_ENV", "PulumiCliMissing", "PulumiStack", "UpdateResult", "find_pulumi", "map_pulumi_error",
           "pulumi_command", "pulumi_errors"]

PULUMI_COMMAND_ENV = "DRCTL_PULUMI_COMMAND"


def find_pulumi(environ: Mapping[str, str] | None = None, which: Callable[..., str | None] = shutil.which) -> Path:
    """The `pulumi` executable drctl will run: DRCTL_PULUMI_COMMAND if set, else PATH's."""
    environ = os.environ if environ is None else environ
    configured = environ.get(PULUMI_COMMAND_ENV)
    if configured:
        path = Path(configured).expanduser()
        if path.is_dir():
            path = path / "bin" / "pulumi"
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise PulumiCliMissing(cli_missing_message(f"{PULUMI_COMMAND_ENV}={configured} is not an executable"))
        if path.name != "pulumi" or path.parent.name != "bin":
            raise BadInput(f"{PULUMI_COMMAND_ENV}: {configured} must be <root>/bin/pulumi, as Pulumi installs it")
        return path.absolute()
    found = which("pulumi", path=environ.get("PATH"))
    if found is None:
        raise PulumiCliMissing(cli_missing_message(f"no `pulumi` on PATH and {PULUMI_COMMAND_ENV} is not set"))
    return Path(found)


def pulumi_command(path: Path | None) -> auto.PulumiCommand:
    """A PulumiCommand for `path`; constructing one runs `pulumi version` (and checks it)."""
    if path is not None and path.name == "pulumi" and path.parent.name == "bin":
        return auto.PulumiCommand(root=str(path.parent.parent))
    return auto.PulumiCommand()  # `pulumi` from PATH


@dataclass(frozen=True)
class UpdateResult:
    summary: dict[str, Any]  # result, kind, start/end, resource_changes (from the stack's history)
    outputs: dict[str, Any]  # stack outputs, secret values masked


class PulumiStack:
    """One stack of the project at `project_dir`, selected (or created) on first use."""

    def __init__(self, project_dir: Path, stack: str, *, command: Path | None = None,
                 env_vars: Mapping[str, str] | None = None, on_output: Callable[[str], Any] | None = None) -> None:
        self.project_dir, self.name = Path(project_dir), stack
        self.command, self.env_vars, self.on_output = command, dict(env_vars or {}), on_output
        self._stack: auto.Stack | None = None
        self._lock = threading.Lock()

    def _get(self) -> auto.Stack:
        with self._lock:
            if self._stack is None:
                with pulumi_errors("stack select"):
                    options = auto.LocalWorkspaceOptions(env_vars=self.env_vars, pulumi_command=pulumi_command(self.command))
                    self._stack = auto.create_or_select_stack(self.name, work_dir=str(self.project_dir), opts=options)
            return self._stack

    def up(self, on_event: Callable[[Any], None] | None = None, *, refresh: bool = False) -> UpdateResult:
        stack = self._get()
        with pulumi_errors("up"):
            # color=never: the output is kept for evidence, and colour codes would only clutter it.
            result = stack.up(on_event=on_event, on_output=self.on_output, color="never",
                              refresh=_refresh(refresh))
        return UpdateResult(_summary(result.summary), _masked(result.outputs))

    def refresh(self, *, clear_pending_creates: bool = True, import_pending_creates: Sequence[tuple[str, str]] = (),
                on_event: Callable[[Any], None] | None = None) -> dict[str, Any]:
        """Adopt the cloud's actual state. `import_pending_creates`: (URN, ARM id) of creates an
        interrupted update left pending that Azure finished: the refresh reads them into the state.
        With clear_pending_creates, the other pending creates are dropped (the CLI imports first)."""
        stack = self._get()
        if not import_pending_creates:
            with pulumi_errors("refresh"):
                result = stack.refresh(clear_pending_creates=clear_pending_creates, on_event=on_event,
                                       on_output=self.on_output, color="never")
            return _summary(result.summary)
        # Stack.refresh has no parameter for --import-pending-creates (pulumi 3.272); the Automation
        # API's command interface has it. Each URN and each id is a value of its own (cobra
        # StringArray read as pairs: pulumi/pulumi#10394, pulumi/docs#17677).
        pairs = [value for urn, arm_id in import_pending_creates for value in (urn, arm_id)]
        workspace = stack.workspace
        env = {**({"PULUMI_HOME": workspace.pulumi_home} if workspace.pulumi_home else {}), **workspace.env_vars}
        with pulumi_errors("refresh"):
            workspace.cli_api.refresh(stack=self.name, import_pending_creates=pairs,
                                      clear_pending_creates=clear_pending_creates, color="never",
                                      exec_kind="auto.local", cwd=workspace.work_dir, additional_env=env,
                                      on_output=self.on_output)
            return _summary(stack.info())

    def cancel(self) -> dict[str, Any]:
        """Stop the stack's running update (`pulumi cancel`), where that stops it: on a service
        backend. On a self-managed one it would only delete the lock under a CLI that goes on."""
        backend = backend_for(self.project_dir, self._env())
        if not cancel_stops_the_update(backend):
            return {"issued": False, "reason": f"the {backend.kind} backend's `pulumi cancel` only deletes the "
                                               "stack's lock; the update goes on and drctl waits for it"}
        stack = self._get()
        with pulumi_errors("cancel"):
            stack.cancel()
        return {"issued": True}

    def outputs(self) -> dict[str, Any]:
        stack = self._get()
        with pulumi_errors("stack output"):
            return _masked(stack.outputs())

    def state_readable(self) -> bool:
        """Preflight's `backend.state` hook: the stack's state can be exported from its backend.
        Selects the stack and never creates it (a check must not change the backend). A stack not
        created yet raises StackNotFoundError, which preflight reports as one the deploy creates
        (create_or_select), not as a blocker. A self-managed backend without the stack's
        passphrase is a blocker."""
        problem = passphrase_problem(self.project_dir, self.name, self._env())
        if problem:
            raise PermanentError(problem)
        with pulumi_errors("stack export"):
            options = auto.LocalWorkspaceOptions(env_vars=self.env_vars, pulumi_command=pulumi_command(self.command))
            stack = auto.select_stack(self.name, work_dir=str(self.project_dir), opts=options)
            return stack.export_stack().deployment is not None

    def resources(self) -> list[dict[str, Any]]:
        """Every resource the stack's state records (`pulumi stack export`): urn, type and id
        (the ARM id for an Azure resource; components and providers have none or another form)."""
        stack = self._get()
        with pulumi_errors("stack export"):
            deployment = stack.export_stack().deployment or {}
        return [{"urn": r.get("urn"), "type": r.get("type"), "id": r.get("id")}
                for r in deployment.get("resources") or [] if isinstance(r, dict)]

    def preview(self, *, refresh: bool = False) -> dict[str, int]:
        """What `pulumi up` would do now: the preview's change summary (operation -> count). With
        refresh, against the resources as the cloud has them, not as the state last saw them."""
        stack = self._get()
        with pulumi_errors("preview"):
            result = stack.preview(on_output=self.on_output, color="never", refresh=_refresh(refresh))
        return {str(getattr(op, "value", op)): int(count) for op, count in (result.change_summary or {}).items()}

    def destroy(self, targets: list[str] | None = None) -> dict[str, Any]:
        """`pulumi destroy`: the whole stack, or only `targets` (URNs) and what depends on them."""
        stack = self._get()
        with pulumi_errors("destroy"):
            if targets:
                result = stack.destroy(target=list(targets), target_dependents=True, on_output=self.on_output,
                                       color="never")
            else:
                result = stack.destroy(on_output=self.on_output, color="never")
        return _summary(result.summary)

    def pending_operations(self) -> list[dict[str, Any]]:
        """Operations an interrupted update left in the state (`pending_operations` of the export),
        each with the inputs the engine had for its resource (an ARM id is built from them)."""
        stack = self._get()
        with pulumi_errors("stack export"):
            deployment = stack.export_stack().deployment or {}
        found = []
        for operation in deployment.get("pending_operations") or []:
            resource = operation.get("resource") or {}
            found.append({"urn": resource.get("urn"), "type": resource.get("type"), "op": operation.get("type"),
                          "inputs": resource.get("inputs") or {}})
        return found

    def _env(self) -> dict[str, str]:
        """The environment the CLI runs in: drctl's, with the workspace's variables over it."""
        return {**os.environ, **self.env_vars}


def _refresh(refresh: bool) -> bool | None:
    # Only when asked: the flag is left off the command line otherwise (None is the API's default).
    return True if refresh else None


def _summary(summary: auto.UpdateSummary | None) -> dict[str, Any]:
    if summary is None:
        return {}
    changes = summary.resource_changes or {}
    return {
        "kind": summary.kind,
        "result": summary.result,
        "started_at": summary.start_time.isoformat() if summary.start_time else None,
        "ended_at": summary.end_time.isoformat() if summary.end_time else None,
        "resource_changes": {str(getattr(k, "value", k)): v for k, v in changes.items()},
    }


def _masked(outputs: Mapping[str, Any]) -> dict[str, Any]:
    return {key: ("[secret]" if value.secret else value.value) for key, value in outputs.items()}
