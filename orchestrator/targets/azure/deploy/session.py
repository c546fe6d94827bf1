"""One `pulumi up` per run, shared by the plan's per-component deploy steps.

The plan has a deploy step per component, but `pulumi up` deploys the whole stack, and two `up`s
on one stack refuse each other (ConcurrentUpdateError). So the first deploy step that starts
launches the update in a background thread, and every component's deploy step waits until its
own resources have finished, then reports them: components finish in the order Pulumi deploys
them, and a component's data steps start as soon as that component is up, not the whole stack.

Which resources a component owns comes from the preview graph (deploy/components.py).

Retries: a transient failure of the update (ConcurrentUpdateError) is reported once to every step
that was waiting on it; the engine retries the steps, and the first retry starts a new update that
the others join. A resource that fails fails only its own component's step; the update failing as
a whole fails the steps still waiting on it. On resume after a crash mid-update, the new process
refreshes before its first update (until one refresh succeeds), importing the pending creates
Azure finished and clearing the others (deploy/resume.py); so does any update of a stack that
reports pending operations (an update killed mid-way).

SIGTERM while `pulumi up` runs cancels the update (`cancel_update`, `pulumi cancel` through the
Automation API): a `kill` reaches drctl alone, not the CLI it started, which would otherwise run
on until the end while drctl waits for it. Ctrl-C needs nothing: a terminal sends it to the CLI
too, which then stops gracefully by itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.model import PermanentError, StepOutcome, TransientError
from orchestrator.targets.azure.deploy.components import ComponentIndex
from orchestrator.targets.azure.deploy.errors import map_pulumi_error
from orchestrator.targets.azure.deploy.events import EngineEvidence, ResourceRecord, iso
from orchestrator.targets.azure.deploy.resume import PendingCreates, settle_pending_creates
from orchestrator.targets.azure.deploy.stack import PulumiStack, UpdateResult

log = logging.getLogger(__name__)

@dataclass
class _Update:
    generation: int
    evidence: EngineEvidence
    started_at: float
    joined: set[str] = field(default_factory=set)
    refresh: dict[str, Any] | None = None
    cancel: dict[str, Any] | None = None  # SIGTERM: when drctl cancelled it, and what became of that
    finished_at: float | None = None
    done: bool = False
    error: BaseException | None = None
    result: UpdateResult | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at) if self.finished_at is not None else None,
            "state": "running" if not self.done else ("failed" if self.error else "succeeded"),
            "error": str(self.error) if self.error else None,
            "refresh_first": self.refresh,
            "cancel": self.cancel,
            "summary": self.evidence.summary,
            "history": self.result.summary if self.result else None,
        }


class DeploymentSession:
    """Shared by every deploy step of one drctl process; `deploy(component)` is the step's work."""

    def __init__(self, stack: PulumiStack, index: ComponentIndex, *, interrupted: bool = False,
                 pending_creates: PendingCreates | None = None, wait_slice_s: float = 0.5,
                 clock: Callable[[], float] = time.time) -> None:
        self.stack, self.index, self.interrupted = stack, index, interrupted
        self.pending_creates = pending_creates  # how pending creates are looked up in Azure
        self.wait_slice_s, self._clock = wait_slice_s, clock
        self._cond = threading.Condition()
        self._update: _Update | None = None
        self._updates: list[_Update] = []
        self._told: dict[str, int] = {}  # component -> generation whose transient failure it was told
        self._refreshed = False  # the refresh the journal asks for is owed until one succeeds

    # -- the step ----------------------------------------------------------------------------------

    def deploy(self, component: str, cancelled: Callable[[], bool] = lambda: False) -> StepOutcome:
        with self._cond:
            update = self._update_for(component)
            update.joined.add(component)
            while not (update.done or self._settled(update, component)):
                if cancelled():
                    raise TransientError("the run was interrupted while `pulumi up` was running")
                self._cond.wait(self.wait_slice_s)
            if update.error is not None and cancelled() and not self._settled(update, component):
                # A Ctrl-C reaches the CLI too, which then fails the update: not a verdict on the step.
                raise TransientError("the run was interrupted while `pulumi up` was running")
            return self._verdict(update, component)

    def stack_outputs(self, cancelled: Callable[[], bool] = lambda: False) -> dict[str, Any]:
        """The stack's outputs once the current update has ended (secret values masked)."""
        with self._cond:
            update = self._update
            while update is not None and not update.done:
                if cancelled():
                    raise TransientError("the run was interrupted while `pulumi up` was running")
                self._cond.wait(self.wait_slice_s)
            if update is not None and update.error is None and update.result is not None:
                return dict(update.result.outputs)
            if update is not None and update.error is not None:
                raise _copy(update.error, "pulumi up did not complete")
        return self.stack.outputs()  # deployed by an earlier process: ask the stack

    def wait_idle(self, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Return once no update is running. The steps can all be done while `pulumi up` still
        finishes (stack outputs, deleting replaced resources): drctl must not exit under it, or
        the stack stays locked by an orphaned CLI."""
        with self._cond:
            while self._update is not None and not self._update.done and not cancelled():
                self._cond.wait(self.wait_slice_s)

    def cancel_update(self) -> None:
        """SIGTERM's hook (it runs in the signal handler: it only marks the update and hands the
        `pulumi cancel` to a thread). The update then ends failed; the run is interrupted as by
        Ctrl-C, and a resume deals with what the cancelled update left pending."""
        with self._cond:
            update = self._update
            if update is None or update.done or update.cancel is not None:
                return
            record = update.cancel = {"requested_at": iso(self._clock()), "signal": "SIGTERM"}
        log.warning("SIGTERM: cancelling the running `pulumi up` of stack %s", self.stack.name)
        threading.Thread(target=self._cancel, args=(update, record), name="pulumi-cancel", daemon=True).start()

    def _cancel(self, update: _Update, record: dict[str, Any]) -> None:
        try:
            outcome = self.stack.cancel()
        except Exception as exc:  # the update may have ended meanwhile: the service then says 409
            outcome = {"issued": False, "error": str(map_pulumi_error(exc, "cancel"))}
        with self._cond:
            record.update(outcome, answered_at=iso(self._clock()))
            self._cond.notify_all()
        log.warning("pulumi cancel: %s", "issued" if outcome.get("issued") else
                    outcome.get("reason") or outcome.get("error"))

    def summary(self) -> dict[str, Any]:
        """Every update this process ran, for the run report."""
        with self._cond:
            return {"stack": self.stack.name, "updates": [u.to_json() for u in self._updates]}

    # -- updates -----------------------------------------------------------------------------------

    def _update_for(self, component: str) -> _Update:
        current = self._update
        if current is not None:
            if not current.done or current.error is None or self._settled(current, component):
                return current
            if not isinstance(current.error, TransientError):
                return current  # the update failed for good: the steps fail with its error
            if component in current.joined and self._told.get(component) != current.generation:
                return current  # waited on it: told of its failure first, then retried by the engine
        return self._start()

    def _start(self) -> _Update:
        generation = self._update.generation + 1 if self._update else 1
        update = _Update(generation, EngineEvidence(self._clock), started_at=self._clock())
        self._update = update
        self._updates.append(update)
        journal_says = self.interrupted and not self._refreshed
        thread = threading.Thread(target=self._run, args=(update, journal_says), name=f"pulumi-up-{generation}",
                                  daemon=True)
        thread.start()
        return update

    def _run(self, update: _Update, journal_says: bool) -> None:
        try:
            self._refresh_if_interrupted(update, journal_says)
            result = self.stack.up(on_event=lambda event: self._on_event(update, event))
            with self._cond:
                update.result = result
        except Exception as exc:
            with self._cond:
                failed = [r.to_evidence() for r in update.evidence.failed()]
                update.error = map_pulumi_error(exc, "up", failed)
            log.info("pulumi up (update %s) failed: %s", update.generation, update.error)
        finally:
            with self._cond:
                update.done, update.finished_at = True, self._clock()
                self._cond.notify_all()

    def _refresh_if_interrupted(self, update: _Update, journal_says: bool) -> None:
        pending = self.stack.pending_operations()
        if not journal_says and not pending:
            return
        reason = ("the journal shows a deploy step running when drctl stopped" if journal_says
                  else f"the stack reports {len(pending)} pending operation(s) of an interrupted update")
        settled = settle_pending_creates(self.stack, pending, self.pending_creates)
        shown = [{key: op.get(key) for key in ("urn", "type", "op")} for op in pending[:50]]  # inputs stay out
        with self._cond:
            self._refreshed = True
            update.refresh = {"reason": reason, "clear_pending_creates": True, "pending_operations": shown, **settled}

    def _on_event(self, update: _Update, event: Any) -> None:
        with self._cond:
            try:
                update.evidence.on_event(event)
            except Exception:  # an event drctl cannot read must not stop the deployment
                log.exception("could not read an engine event")
            self._cond.notify_all()

    # -- a component's verdict (under the lock) ------------------------------------------------------

    def _records(self, update: _Update, component: str) -> list[ResourceRecord]:
        return [r for r in update.evidence.records.values() if self.index.component_of(r.urn) == component]

    def _settled(self, update: _Update, component: str) -> bool:
        """Its resources all done (or one failed); a component the graph lists nothing for waits
        for the whole update."""
        records = self._records(update, component)
        if any(r.status == "failed" for r in records):
            return True
        expected = self.index.expected(component)
        if not expected:
            return False
        done = {(r.type, r.name) for r in records if r.status == "done"}
        return expected <= done and not any(r.status == "running" for r in records)

    def _verdict(self, update: _Update, component: str) -> StepOutcome:
        records = sorted(self._records(update, component), key=lambda r: (r.started_at or 0.0, r.urn))
        evidence = self._evidence(update, component, records)
        failed = [r for r in records if r.status == "failed"]
        if failed:
            first = failed[0]
            raise PermanentError(
                f"{component}: {len(failed)} resource(s) failed in pulumi up; {first.type} {first.name}: {first.error}",
                evidence,
            )
        if self._settled(update, component) or (update.done and update.error is None):
            # What the data and smoke steps read (runner_data.py): each resource's URN, type and
            # ARM id, and the outputs that say how to reach it.
            outputs = [{"urn": r.urn, "type": r.type, "name": r.name, "id": r.id, "status": r.status, "op": r.op,
                        "outputs": dict(r.outputs)} for r in records if r.status == "done"]
            return StepOutcome(outputs={"stack": self.stack.name, "resources": outputs}, evidence=evidence)
        if isinstance(update.error, TransientError):
            self._told[component] = update.generation
        raise _copy(update.error, f"{component} not deployed", evidence)

    def _evidence(self, update: _Update, component: str, records: list[ResourceRecord]) -> dict[str, Any]:
        seen = {(r.type, r.name) for r in records}
        evidence: dict[str, Any] = {
            "stack": self.stack.name,
            "update": {"generation": update.generation, "started_at": iso(update.started_at),
                       "refresh_first": update.refresh, "state": "running" if not update.done else
                       ("failed" if update.error else "succeeded")},
            "resources": [r.to_evidence() for r in records],
        }
        if update.done:
            # Resources the preview expected but the engine said nothing about (nothing to do, or
            # the update stopped before them).
            evidence["expected_without_events"] = sorted(f"{t} {n}" for t, n in self.index.expected(component) - seen)
            evidence["update_summary"] = update.evidence.summary
        return evidence


def _copy(error: BaseException | None, context: str, evidence: dict[str, Any] | None = None) -> Exception:
    """A fresh exception per step (several steps raise the same update's failure at once)."""
    if isinstance(error, TransientError):
        return TransientError(str(error), error.retry_after_s)
    merged = {**(evidence or {}), **(getattr(error, "evidence", None) or {})}
    if isinstance(error, PermanentError):
        return PermanentError(f"{context}: {error}", merged)
    return PermanentError(f"{context}: pulumi up failed: {type(error).__name__}: {error}", merged)
