"""May this gate of this run be approved now? What `drctl approve` checks before asking who approves.

An approval is a record that a person looked at what the run did before the gate and signed it
off, so it is refused (one line, exit 2, nothing written) when there is nothing to sign off yet or
any more: a step that is not a gate, a gate whose steps before it have not all succeeded (the
journal says so, not the person), a gate already approved, a run that has finished.
"""

from __future__ import annotations

from orchestrator.engine.journal import JournalCorrupt, replay
from orchestrator.engine.journal_state import JournalState
from orchestrator.engine.results import Outcome
from orchestrator.errors import BadInput
from orchestrator.model import Plan, Step, StepKind, StepState
from orchestrator.run.rundir import RunDir

# A run that ended waiting for a gate, or was interrupted, goes on with `drctl resume`; one that
# ended with these outcomes is over: an approval would sign off something nobody will act on.
FINISHED = frozenset({Outcome.RECOVERED, Outcome.PARTIAL, Outcome.FAILED})
_LISTED = 5  # steps named in a "not reached" line; the rest are counted


def approvable_gate(run: RunDir, plan: Plan, step_id: str) -> Step:
    """The gate `step_id` of the run, when it may be approved now; BadInput saying why not otherwise."""
    gates = [step.id for step in plan.steps if step.kind == StepKind.GATE]
    known = ", ".join(gates) or "none"
    step = next((s for s in plan.steps if s.id == step_id), None)
    if step is None:
        raise BadInput(f"STEP: {step_id!r} is not a step of this run's plan (its gates: {known})")
    if step.kind != StepKind.GATE:
        raise BadInput(f"STEP: {step_id} is a {step.kind} step, not a gate (this run's gates: {known})")
    state = journal_state(run)
    if state.outcome in FINISHED:
        raise BadInput(f"RUN: {run.run_id} has finished ({state.outcome} at {state.finished_at}): "
                       "its gates can no longer be approved")
    if run.approval(step_id).exists():
        raise BadInput(f"STEP: {step_id} is already approved ({run.approval(step_id)})")
    record = state.steps.get(step_id)
    if record is not None and record.state == StepState.SUCCEEDED:
        raise BadInput(f"STEP: {step_id} has already passed (approved by {record.outputs.get('approved_by')})")
    if state.runs == 0:
        raise BadInput(f"STEP: {step_id} is not reached yet: run {run.run_id} has not started its steps")
    waiting = [dep for dep in step.depends_on if _state(state, dep) != StepState.SUCCEEDED]
    if waiting:
        named = ", ".join(f"{dep} ({_state(state, dep)})" for dep in waiting[:_LISTED])
        more = f" and {len(waiting) - _LISTED} more" if len(waiting) > _LISTED else ""
        raise BadInput(f"STEP: {step_id} is not reached yet: it waits for {named}{more} to succeed")
    return step


def journal_state(run: RunDir) -> JournalState:
    """What the run's journal says (empty when it has none yet); BadInput when it is damaged."""
    try:
        state, _, _ = replay(run.journal)
    except JournalCorrupt as exc:
        raise BadInput(f"RUN: {exc}: the journal is damaged, so the run's state is unknown") from None
    except OSError as exc:
        raise BadInput(f"RUN: {run.journal} cannot be read ({exc.__class__.__name__})") from None
    return state


def _state(state: JournalState, step_id: str) -> str:
    record = state.steps.get(step_id)
    return str(record.state) if record is not None else str(StepState.PENDING)
