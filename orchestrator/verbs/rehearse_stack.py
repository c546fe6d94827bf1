"""`drctl rehearse --stack NAME`: the failover plan rehearsed on Azure, in an ephemeral stack.

Meant for a DR subscription. The rehearsal stack `<NAME>-<short id>` is a copy of NAME's stack
file with two changes:

- `dataplatform:nameSuffix` becomes the short id: globally unique names (storage, Key Vault,
  servers) must not collide with NAME's, nor with an earlier rehearsal's, because a destroyed Key
  Vault keeps its name reserved for its soft-delete retention (purge protection is on);
- `dataplatform:foundation.tags` gains `drctl-rehearsal=<stack name>` and `drctl-expires=<ISO 8601>`,
  set on every resource group, which `drctl cleanup --subscription` finds leftovers by.

The stack is created through the Automation API (`pulumi stack init`), the failover runs against it
exactly as `drctl failover` does (orchestrator/verbs/failover.py), and in a finally block, also after a
failure, an exception, Ctrl-C or SIGTERM, it is destroyed (`pulumi destroy`) and removed
(`pulumi stack rm`), with its stack file. A destroy that fails leaves the stack and its file in
place (its state is what a second `pulumi destroy` needs) and says so; the tags still expire.

Preconditions are the failover's: without the Pulumi CLI or Azure credentials, one line and exit 2,
before the stack file is written or anything created.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from orchestrator.engine.progress import progress_line
from orchestrator.engine.signals import sigterm_as_interrupt
from orchestrator.errors import BadInput
from orchestrator.redact import REDACTOR
from orchestrator.rehearsal.marks import DEFAULT_TTL_HOURS, EXPIRES_TAG, REHEARSAL_TAG, marker_document
from orchestrator.rehearsal.record import ended_by, record_rehearsal, step_timings
from orchestrator.rehearsal.teardown import teardown_shielded
from orchestrator.run.rundir import RunDir
from orchestrator.stack import check_stack, load_stack
from orchestrator.targets.azure.preconditions import Preconditions

if TYPE_CHECKING:
    from orchestrator.model import Step, StepContext, StepOutcome, StepRunner
    from orchestrator.targets.azure.optional import DataStepsFactory

FOUNDATION_KEY = "dataplatform:foundation"
SUFFIX_KEY = "dataplatform:nameSuffix"


def rehearsal_config(project_dir: Path, stack: str, name: str, short_id: str, marker: dict[str, Any]) -> dict[str, Any]:
    """NAME's config with the rehearsal's suffix and tags; BadInput when it cannot be copied."""
    from stacks.config import config_from_mapping, load_stack_config, read_stack_file, stack_file

    config = load_stack_config(Path(project_dir), stack)
    if config.role != "secondary":
        raise BadInput(f"--stack: {stack} is a {config.role} stack; a rehearsal fails over to a secondary stack")
    values = read_stack_file(stack_file(project_dir, stack))
    for key, value in values.items():
        if isinstance(value, dict) and "secure" in value:
            # Pulumi encrypts a secret per stack: the ciphertext means nothing in another stack.
            raise BadInput(f"--stack: {stack_file(project_dir, stack).name}: {key} is a secret; a rehearsal "
                           "cannot copy it into its own stack (set it from the environment instead)")
    foundation = dict(values.get(FOUNDATION_KEY) or {})
    foundation["tags"] = {**(foundation.get("tags") or {}), REHEARSAL_TAG: name, EXPIRES_TAG: marker["expires_at"]}
    values.update({SUFFIX_KEY: short_id, FOUNDATION_KEY: foundation})
    # Validated as the program will validate it, so a copy that breaks a rule is bad input now.
    paired = read_stack_file(stack_file(project_dir, config.paired_stack))
    config_from_mapping(name, values, f"Pulumi.{name}.yaml", paired)
    return values


def rehearse_stack(project_dir: Path, stack: str, *, workdir: Path, ttl_hours: float = DEFAULT_TTL_HOURS,
                   workers: int = 4, preconditions: Preconditions | None = None, short_id: str | None = None,
                   **failover_options: Any) -> dict[str, Any]:
    """The failover's document (summary, or `blocked`) plus `rehearsal`: name, tags, timings, teardown.

    `failover_options` go to failover_command as they are (data_steps, preflight, retry: tests)."""
    from orchestrator.verbs.failover import failover_command
    from stacks.config import stack_file

    check_stack(project_dir, stack)
    preconditions = preconditions or Preconditions()
    command = preconditions.find_pulumi()
    preconditions.check_credentials()
    factory = failover_options.pop("data_steps", None)
    if factory is None:
        from orchestrator.targets.azure.optional import azure_data_steps

        factory = azure_data_steps(project_dir, stack)  # a missing subscription is bad input now, not after `stack init`
    subscription = _subscription(project_dir, stack)  # where `drctl cleanup` finds its leftovers
    short_id = short_id or secrets.token_hex(3)  # 6 hex characters: the longest nameSuffix allowed
    name = f"{stack}-{short_id}"
    marker = marker_document(name, ttl_hours, kind="azure", stack=stack)
    values = rehearsal_config(project_dir, stack, name, short_id, marker)
    path = stack_file(project_dir, name)
    if path.exists():
        raise BadInput(f"--stack: {path.name} exists already: a rehearsal needs a stack of its own")

    ran = {"created": False}
    document: dict[str, Any] | None = None
    record: dict[str, Any] = {}
    with sigterm_as_interrupt():  # SIGTERM reaches the teardown like Ctrl-C
        try:
            _write_stack_file(path, stack, values)
            progress_line(f"rehearsal {name}: a copy of stack {stack}, expires {marker['expires_at']}")
            _create_stack(project_dir, name, command)
            ran["created"] = True
            # The copy is a stack of its own: loaded once, now that its file exists.
            document = failover_command(load_stack(project_dir, name), workdir=workdir, workers=workers,
                                        # Checked above, before anything was created.
                                        preconditions=Preconditions(lambda: command, lambda: None),
                                        data_steps=_approving_gates(factory),
                                        rehearsal={"name": name, "subscription": subscription}, **failover_options)
        except BaseException as exc:
            record["outcome"] = ended_by(exc)
            raise
        finally:
            with teardown_shielded():
                teardown = teardown_stack(project_dir, name, command, path, created=ran["created"])
                progress_line(f"teardown of {name}: " + ("complete" if teardown["complete"] else
                                                         f"INCOMPLETE: {teardown['error']}"))
                found = RunDir.latest_of(workdir, name)  # the stack name is unique: its only run
                run_dir = found.path if found else None
                rto_s = (document or {}).get("rto_s")
                record.update(marker, outcome=(document or {}).get("outcome", record.get("outcome")), teardown=teardown,
                              timings=step_timings(run_dir, rto_s) if run_dir else {"steps": [], "rto": None})
                if run_dir is not None:
                    record_rehearsal(run_dir, record)
    return {**(document or {}), "rehearsal": REDACTOR(record)}


def _subscription(project_dir: Path, stack: str) -> str:
    from orchestrator.targets.azure.preflight.run import subscription_id_for

    try:
        return subscription_id_for(project_dir, stack)
    except BadInput:  # only with data steps passed in (tests): the deploy would have refused it
        return "<subscription id>"


class _GateApprover:
    """The data steps, with every gate approved by drctl: a scheduled rehearsal has nobody to sign
    off, and a gate left waiting would end it before the handover it is meant to time (as in a local
    drill, the evidence says who approved)."""

    def __init__(self, inner: StepRunner | None) -> None:
        self.inner = inner

    def __call__(self, step: Step, context: StepContext) -> StepOutcome:
        from orchestrator.model import StepKind, StepOutcome
        from orchestrator.targets.azure.target import NOT_EXERCISED

        if step.kind == StepKind.GATE:
            from orchestrator.run.approvals import auto_approval

            return auto_approval("drctl rehearse (unattended)", "a rehearsal records its gates as approved",
                                 step.component)
        if self.inner is None:
            return StepOutcome(exercised=False, evidence={"note": NOT_EXERCISED})
        return self.inner(step, context)

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()


def _approving_gates(factory: DataStepsFactory | None) -> DataStepsFactory:
    return lambda run_dir, config, graph: _GateApprover(factory(run_dir, config, graph) if factory else None)


def _write_stack_file(path: Path, stack: str, values: dict[str, Any]) -> None:
    header = (f"# A drctl rehearsal of stack {stack}: created by `drctl rehearse --stack {stack}`, removed by its\n"
              "# teardown. Do not edit; if it outlives its rehearsal, `pulumi destroy` and `pulumi stack rm` it.\n")
    path.write_text(header + yaml.safe_dump({"config": values}, sort_keys=False), encoding="utf-8")


def _workspace_options(command: Path) -> Any:
    from pulumi import automation as auto

    from orchestrator.targets.azure.deploy.stack import pulumi_command
    from orchestrator.targets.azure.preflight.provider_auth import provider_environment

    # The provider reads ARM_*: a runner signed in with AZURE_* only gets them mapped, as in failover.
    return auto.LocalWorkspaceOptions(pulumi_command=pulumi_command(command),
                                      env_vars=provider_environment(os.environ))


def _create_stack(project_dir: Path, name: str, command: Path) -> None:
    """`pulumi stack init`: a rehearsal never selects a stack that exists (create_stack fails then)."""
    from pulumi import automation as auto

    from orchestrator.targets.azure.deploy.stack import pulumi_errors

    with pulumi_errors("stack init"):
        auto.create_stack(name, work_dir=str(project_dir), opts=_workspace_options(command))


def teardown_stack(project_dir: Path, name: str, command: Path, path: Path, *, created: bool) -> dict[str, Any]:
    """`pulumi destroy`, then `pulumi stack rm`, then the stack file; stops at the first failure."""
    from pulumi import automation as auto

    from orchestrator.targets.azure.deploy.stack import pulumi_errors

    record: dict[str, Any] = {"stack": name, "destroyed": False, "stack_removed": False, "stack_file_removed": False,
                              "error": None}
    try:
        if created:
            with pulumi_errors("destroy"):
                stack = auto.select_stack(name, work_dir=str(project_dir), opts=_workspace_options(command))
                result = stack.destroy(color="never")
            record["destroyed"] = True
            record["destroy_result"] = getattr(result.summary, "result", None)
            with pulumi_errors("stack rm"):
                stack.workspace.remove_stack(name)
            record["stack_removed"] = True
        path.unlink(missing_ok=True)  # `pulumi stack rm` removes it too; a stack never created has only this
        record["stack_file_removed"] = True
    except Exception as exc:
        record["error"] = REDACTOR.text(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        record["next"] = (f"pulumi destroy --stack {name} && pulumi stack rm {name}; or, after it expires, "
                          "drctl cleanup --subscription <id> deletes its resource groups by tag")
    record["complete"] = record["stack_file_removed"]
    return record

