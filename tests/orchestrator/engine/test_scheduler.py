"""The engine: dependency-driven start, bounded workers, retries, failures, gates, resume, Ctrl-C.

Nothing here sleeps for timing: threads meet through Events (their timeouts only stop a broken
engine from hanging the suite), and retries use an injected sleep that returns at once.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.profile import Dependency, DRProfile, Estimates, RecoveryAction
from orchestrator.engine.journal import Journal
from orchestrator.engine.journal_state import Event
from orchestrator.engine.retry import RetryPolicy
from orchestrator.engine.scheduler import Engine, Outcome, status_from_journal
from orchestrator.model import GateWaiting, PermanentError, Plan, Step, StepKind, StepOutcome, StepState, TransientError
from orchestrator.plan.recovery import build_plan, plan_to_json
from orchestrator.run.rundir import RunDir

SAFETY_S = 10  # only for Event.wait, so a broken engine fails the test instead of hanging it


def no_sleep_policy(**overrides) -> RetryPolicy:
    overrides.setdefault("jitter_s", 0.0)
    overrides.setdefault("initial_backoff_s", 1.0)
    return RetryPolicy(sleep=lambda _s: None, **overrides)


def dag(edges: dict[str, list[str]], kind: StepKind = StepKind.DEPLOY, estimates: dict[str, float] | None = None) -> Plan:
    steps = tuple(Step(sid, sid, kind, tuple(deps), (estimates or {}).get(sid, 60.0)) for sid, deps in edges.items())
    return Plan("test", steps, 3600, 900)


class Runner:
    """Runs scripted behaviours per step id; records every call, thread-safely."""

    def __init__(self, behaviours=None):
        self.behaviours = behaviours or {}
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, step, ctx):
        with self._lock:
            self.calls.append(step.id)
        behaviour = self.behaviours.get(step.id)
        return behaviour(step, ctx) if behaviour else StepOutcome(outputs={"done": step.id})


def engine(tmp_path, plan, runner, **kwargs) -> Engine:
    kwargs.setdefault("retry", no_sleep_policy())
    return Engine(plan, runner, Journal.open(tmp_path), **kwargs)


def events(tmp_path, name=None) -> list[dict]:
    records = [json.loads(line) for line in (tmp_path / RunDir.JOURNAL).read_text().splitlines()]
    return [r for r in records if name is None or r["event"] == name]


def platform_plan() -> Plan:
    def profile(key, deps=(), stateful=False, action=RecoveryAction.REDEPLOY, priority=50):
        return DRProfile(key=key, title=key, stateful=stateful, recovery_action=action, checks=(), depends_on=tuple(Dependency(d, "needs it") for d in deps),
                         priority=priority, estimates=Estimates(deploy=100), seed=())
    return build_plan("dev", [
        profile("net", priority=1),
        profile("lake", deps=("net",), stateful=True, action=RecoveryAction.GEO_RESTORE),
        profile("web", deps=("net",)),
    ], 3600, 900)


def test_a_step_starts_when_its_own_dependencies_are_done_while_an_unrelated_step_runs(tmp_path):
    b_started = threading.Event()

    def long(step, ctx):
        # Finishes only once b has started: b must not wait for this unrelated step.
        assert b_started.wait(SAFETY_S), "b did not start while the long step was running"
        return StepOutcome()

    def b(step, ctx):
        b_started.set()
        return StepOutcome()

    plan = dag({"long": [], "a": [], "b": ["a"]}, estimates={"long": 3000})
    result = engine(tmp_path, plan, Runner({"long": long, "b": b}), max_workers=2).run()
    assert result.outcome == Outcome.RECOVERED
    assert all(state == StepState.SUCCEEDED for state in result.states.values())


def test_concurrency_never_exceeds_max_workers(tmp_path):
    lock, running, peak = threading.Lock(), [0], [0]
    three_running = threading.Event()

    def step_fn(step, ctx):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            if running[0] == 3:
                three_running.set()
        try:
            if step.id in ("s0", "s1", "s2"):
                assert three_running.wait(SAFETY_S)
            return StepOutcome()
        finally:
            with lock:
                running[0] -= 1

    plan = dag({f"s{n}": [] for n in range(9)}, estimates={"s0": 9, "s1": 8, "s2": 7})
    runner = Runner({f"s{n}": step_fn for n in range(9)})
    result = engine(tmp_path, plan, runner, max_workers=3).run()
    assert result.outcome == Outcome.RECOVERED
    assert peak[0] == 3
    assert sorted(runner.calls) == sorted(f"s{n}" for n in range(9))


def test_ready_steps_start_critical_path_first(tmp_path):
    plan = dag({"short": [], "long": [], "after_long": ["long"]}, estimates={"short": 10, "long": 10, "after_long": 500})
    runner = Runner()
    engine(tmp_path, plan, runner, max_workers=1).run()
    assert runner.calls == ["long", "after_long", "short"]


def test_outputs_of_upstream_steps_are_available_and_others_are_refused(tmp_path):
    seen = {}

    def c(step, ctx):
        seen["a"] = ctx.outputs_of("a")
        with pytest.raises(KeyError, match="not upstream"):
            ctx.outputs_of("other")
        return StepOutcome()

    plan = dag({"a": [], "b": ["a"], "c": ["b"], "other": []})
    engine(tmp_path, plan, Runner({"c": c})).run()
    assert seen["a"] == {"done": "a"}


def test_transient_errors_are_retried_then_succeed_with_attempts_recorded(tmp_path):
    failures = iter([TransientError("429 throttled"), TransientError("503", retry_after_s=7)])
    sleeps = []

    def flaky(step, ctx):
        error = next(failures, None)
        if error:
            raise error
        return StepOutcome()

    policy = replace(no_sleep_policy(max_attempts=5), sleep=sleeps.append)
    result = engine(tmp_path, dag({"a": []}), Runner({"a": flaky}), retry=policy).run()
    assert result.outcome == Outcome.RECOVERED
    assert result.attempts["a"] == 3
    assert sleeps == [1.0, 7.0]  # exponential backoff, then the service's Retry-After
    assert [(e["attempt"], e["final"]) for e in events(tmp_path, Event.STEP_FAILED)] == [(1, False), (2, False)]
    assert [e["attempt"] for e in events(tmp_path, Event.STEP_STARTED)] == [1, 2, 3]
    assert [e["delay_s"] for e in events(tmp_path, Event.STEP_RETRYING)] == [1.0, 7.0]


def test_transient_errors_that_persist_fail_the_step_after_the_attempt_bound(tmp_path):
    def always(step, ctx):
        raise TransientError("503")

    result = engine(tmp_path, dag({"a": []}), Runner({"a": always}), retry=no_sleep_policy(max_attempts=3)).run()
    assert result.steps["a"].state == StepState.FAILED and result.attempts["a"] == 3
    final = events(tmp_path, Event.STEP_FAILED)[-1]
    assert (final["final"], final["retriable"], final["error"]) == (True, True, "TransientError: 503")


@pytest.mark.parametrize("error", [PermanentError("bad manifest"), ValueError("a bug")], ids=["permanent", "unexpected"])
def test_a_permanent_failure_fails_at_once_skips_dependents_and_independent_branches_go_on(tmp_path, error):
    def broken(step, ctx):
        raise error

    runner = Runner({"lake.rehydrate": broken})
    result = engine(tmp_path, platform_plan(), runner, retry=no_sleep_policy(max_attempts=5)).run()

    assert result.steps["lake.rehydrate"].state == StepState.FAILED
    assert result.attempts["lake.rehydrate"] == 1
    for dependent in ("lake.validate", "lake.replay", "lake.smoke", "platform.gate", "platform.handover"):
        assert result.steps[dependent].state == StepState.SKIPPED
        assert result.steps[dependent].reason == "lake.rehydrate failed"  # the cause, not the step between
        assert dependent not in runner.calls
    assert result.steps["web.smoke"].state == StepState.SUCCEEDED
    assert result.outcome == Outcome.PARTIAL
    assert events(tmp_path, Event.RUN_FINISHED)[-1]["outcome"] == "partial"


def test_a_failed_step_keeps_the_evidence_its_error_carries(tmp_path):
    mismatch = {"store": "lake", "exact": False, "mismatches": ["raw: blobs expected 8, found 7"]}

    def mismatched(step, ctx):
        raise PermanentError("lake does not match its manifest", mismatch)

    engine(tmp_path, platform_plan(), Runner({"lake.rehydrate": mismatched})).run()
    assert events(tmp_path, Event.STEP_FAILED)[-1]["evidence"] == mismatch
    assert Journal.open(tmp_path).state.steps["lake.rehydrate"].evidence == mismatch


def test_a_failure_in_the_first_deploy_fails_the_run(tmp_path):
    def broken(step, ctx):
        raise PermanentError("no quota")

    result = engine(tmp_path, platform_plan(), Runner({"net.deploy": broken})).run()
    assert result.outcome == Outcome.FAILED
    assert {s for s, state in result.states.items() if state == StepState.SKIPPED} == set(result.steps) - {"net.deploy"}


def test_a_gate_waits_then_resumes_after_approval(tmp_path):
    approved = False

    def gate(step, ctx):
        if not approved:
            raise GateWaiting("waiting for approval by the incident manager")
        return StepOutcome(evidence={"approved_by": "ops"})

    runner = Runner({"platform.gate": gate})
    result = engine(tmp_path, platform_plan(), runner).run()
    assert result.outcome == Outcome.WAITING
    assert result.steps["platform.gate"].state == StepState.WAITING
    assert result.steps["platform.handover"].state == StepState.PENDING
    assert "platform.handover" not in runner.calls

    approved = True
    runner.calls.clear()
    resumed = engine(tmp_path, platform_plan(), runner).run()
    assert resumed.outcome == Outcome.RECOVERED
    assert runner.calls == ["platform.gate", "platform.handover"]


def write_crashed_run(tmp_path, plan):
    """A journal as a process killed mid-run leaves it: a succeeded, b running, a torn last line."""
    journal = Journal.open(tmp_path)
    journal.append(Event.RUN_STARTED, plan=plan_to_json(plan))
    journal.append(Event.STEP_STARTED, step="a", attempt=1)
    journal.append(Event.STEP_SUCCEEDED, step="a", outputs={"endpoint": "https://a"}, evidence={}, duration_s=3.0)
    journal.append(Event.STEP_STARTED, step="b", attempt=1)
    journal.close()
    with (tmp_path / RunDir.JOURNAL).open("ab") as handle:
        handle.write(b'{"seq":5,"ts":"2024-01-01T00:00:00.000+00:00","event":"step_succ')


def test_resume_after_a_crash_runs_only_unfinished_steps_and_restores_outputs(tmp_path):
    plan = dag({"a": [], "b": ["a"], "c": ["b"], "d": ["a"]})
    write_crashed_run(tmp_path, plan)
    seen = {}

    def c(step, ctx):
        seen["a"] = ctx.outputs_of("a")
        return StepOutcome()

    runner = Runner({"c": c})
    eng = engine(tmp_path, plan, runner)
    assert [t.line_no for t in eng.journal.torn_lines] == [5]
    result = eng.run()
    assert result.outcome == Outcome.RECOVERED
    assert sorted(runner.calls) == ["b", "c", "d"]  # a succeeded before the crash: never again
    assert seen["a"] == {"endpoint": "https://a"}
    assert result.attempts["b"] == 2
    resumed = events(tmp_path, Event.RUN_RESUMED)[0]
    assert resumed["reset"] == ["b"] and resumed["torn_lines"][0]["line_no"] == 5


def test_resume_leaves_failed_steps_alone_unless_asked_to_retry_them(tmp_path):
    broken = [True]

    def b(step, ctx):
        if broken[0]:
            raise PermanentError("missing source")
        return StepOutcome()

    plan = dag({"a": [], "b": ["a"], "c": ["b"]})
    runner = Runner({"b": b})
    assert engine(tmp_path, plan, runner).run().outcome == Outcome.PARTIAL

    runner.calls.clear()
    again = engine(tmp_path, plan, runner).run()
    assert runner.calls == [] and again.states["b"] == StepState.FAILED

    broken[0] = False
    retried = engine(tmp_path, plan, runner, retry_failed=True).run()
    assert runner.calls == ["b", "c"]
    assert retried.outcome == Outcome.RECOVERED and retried.attempts["b"] == 2


def test_resume_refuses_a_journal_written_for_another_plan(tmp_path):
    engine(tmp_path, dag({"a": []}), Runner()).run()
    with pytest.raises(ValueError, match="different plan"):
        engine(tmp_path, dag({"a": [], "b": []}), Runner())


def test_ctrl_c_stops_scheduling_lets_running_steps_finish_and_keeps_the_journal_consistent(tmp_path):
    release_a = threading.Event()

    def a(step, ctx):
        assert release_a.wait(SAFETY_S)
        return StepOutcome()

    def on_event(record):
        # Ctrl-C arrives in the main thread just as b is journaled started.
        if record["event"] == Event.STEP_STARTED and record["step"] == "b":
            release_a.set()
            raise KeyboardInterrupt

    # b starts in a later pass than a (after z): the starts of one pass go to workers together,
    # once the pass's journal group is durable, so a is running by the time b is journaled.
    plan = dag({"a": [], "z": [], "b": ["z"], "c": ["a"]}, estimates={"a": 100})
    runner = Runner({"a": a})
    with pytest.raises(KeyboardInterrupt):
        engine(tmp_path, plan, runner, max_workers=2, on_event=on_event).run()
    state = Journal.open(tmp_path).state
    assert state.steps["a"].state == StepState.SUCCEEDED  # finished during the drain: recorded
    assert state.steps["b"].state == StepState.PENDING  # abandoned: runs again on resume
    assert state.steps["c"].state == StepState.PENDING  # never scheduled after the interrupt
    assert state.outcome == "interrupted"

    runner.calls.clear()
    assert engine(tmp_path, plan, runner).run().outcome == Outcome.RECOVERED
    assert sorted(runner.calls) == ["b", "c"]


@pytest.fixture
def python_ctrl_c():
    """Python's own Ctrl-C handler, whatever pytest inherited: a background job starts with SIGINT
    ignored, and then the signal would never reach the engine."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_real_sigint_in_the_main_thread_is_handled_the_same_way(tmp_path, python_ctrl_c):
    def a(step, ctx):
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does; Python raises it in the main thread
        return StepOutcome()

    plan = dag({"a": [], "b": ["a"]})
    runner = Runner({"a": a})
    with pytest.raises(KeyboardInterrupt):
        engine(tmp_path, plan, runner).run()
    reopened = Journal.open(tmp_path)
    assert reopened.torn_lines == [] and reopened.state.outcome == "interrupted"
    assert reopened.state.steps["a"].state == StepState.SUCCEEDED
    assert runner.calls == ["a"]

    runner.calls.clear()
    assert engine(tmp_path, plan, runner).run().outcome == Outcome.RECOVERED
    assert runner.calls == ["b"]


def test_status_from_journal_reports_states_attempts_and_errors(tmp_path):
    def broken(step, ctx):
        raise PermanentError("refused")

    engine(tmp_path, dag({"a": [], "b": ["a"]}), Runner({"a": broken})).run()
    document = status_from_journal(tmp_path)
    by_id = {s["id"]: s for s in document["steps"]}
    assert document["outcome"] == "failed"
    assert (by_id["a"]["state"], by_id["a"]["attempts"], by_id["a"]["error"]) == ("failed", 1, "PermanentError: refused")
    assert (by_id["b"]["state"], by_id["b"]["reason"]) == ("skipped", "a failed")


def test_retry_policy_is_bounded_by_total_time_on_an_injected_clock():
    now = [0.0]
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    def always(attempt):
        raise TransientError("timeout")

    policy = RetryPolicy(max_attempts=10, max_total_s=10, initial_backoff_s=4, jitter_s=0, sleep=sleep, clock=lambda: now[0])
    with pytest.raises(TransientError):
        policy.call(always)
    assert sleeps == [4.0]  # the next wait (8 s) would end past the 10 s budget


def test_retry_policy_classifier_and_retry_notices():
    class Throttled(Exception):
        pass

    calls, notices = [], []

    def fn(attempt):
        calls.append(attempt)
        if attempt == 1:
            raise Throttled()
        return "ok"

    policy = RetryPolicy(classifier=lambda e: isinstance(e, Throttled), jitter_s=0, sleep=lambda s: None)
    assert policy.call(fn, on_retry=notices.append) == "ok"
    assert calls == [1, 2] and [(n.attempt, n.delay_s) for n in notices] == [(1, 2.0)]
    assert not policy.is_transient(PermanentError("x")) and not policy.is_transient(GateWaiting("x"))
    assert not RetryPolicy().is_transient(Throttled())


@st.composite
def random_dags(draw):
    size = draw(st.integers(1, 8))
    edges = {f"s{n}": [f"s{d}" for d in range(n) if draw(st.booleans())] for n in range(size)}
    failing = {sid for sid in edges if draw(st.integers(0, 4)) == 0}
    return edges, failing, draw(st.integers(1, 4))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_dags())
def test_every_step_runs_at_most_once_only_after_its_dependencies_and_within_the_worker_bound(case):
    edges, failing, workers = case
    lock, done = threading.Lock(), set()
    calls = Counter()

    def step_fn(step, ctx):
        with lock:
            assert all(dep in done for dep in step.depends_on), f"{step.id} started before its dependencies"
            calls[step.id] += 1
            if step.id in failing:
                raise PermanentError("scripted")
            done.add(step.id)
        return StepOutcome()

    with tempfile.TemporaryDirectory() as run_dir:
        plan = dag(edges)
        journal = Journal.open(run_dir)
        result = Engine(plan, Runner({sid: step_fn for sid in edges}), journal,
                        max_workers=workers, retry=no_sleep_policy()).run()
        journal.close()
        replayed = Journal.open(run_dir).state

    assert all(count == 1 for count in calls.values())
    # The journal's own account: never more than max_workers steps between started and done.
    in_flight, journal_peak = set(), 0
    for record in replayed.events:
        if record["event"] == Event.STEP_STARTED:
            in_flight.add(record["step"])
        elif record["event"] in (Event.STEP_SUCCEEDED, Event.STEP_FAILED):
            in_flight.discard(record["step"])
        journal_peak = max(journal_peak, len(in_flight))
    assert journal_peak <= workers
    assert {sid: rec.state for sid, rec in replayed.steps.items()} == result.states
    blocked = set()
    for sid, deps in edges.items():  # edges are in topological order
        if any(dep in failing or dep in blocked for dep in deps):
            blocked.add(sid)
    for sid in edges:
        expected = (StepState.SKIPPED if sid in blocked else
                    StepState.FAILED if sid in failing else StepState.SUCCEEDED)
        assert result.states[sid] == expected
        assert (sid in calls) == (sid not in blocked)
