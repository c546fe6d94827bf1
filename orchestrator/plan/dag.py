"""The order of a recovery plan's steps: Kahn's algorithm, and one memo per question.

A plan and its steps are frozen, so what is computed from one plan object (its order, its
critical path) can be remembered by identity: building, printing and explaining a plan of tens of
thousands of steps asked for them again and again.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import Any

from orchestrator.model import Plan, Step


def topological_order(steps: Iterable[Step], rank: Callable[[Step], Any] | None = None) -> list[Step]:
    """Kahn's algorithm; among ready steps the lowest `rank` (default: input order) comes first.

    Raises ValueError naming duplicate ids, unknown dependencies or a dependency cycle.
    """
    steps = list(steps)
    index: dict[str, int] = {}
    for position, step in enumerate(steps):
        if step.id in index:
            raise ValueError(f"duplicate step id {step.id!r}")
        index[step.id] = position
    for step in steps:
        for dep in step.depends_on:
            if dep not in index:
                raise ValueError(f"step {step.id!r} depends on unknown step {dep!r}")
            if dep == step.id:
                raise ValueError(f"dependency cycle: {step.id} -> {step.id}")

    key = rank or (lambda step: index[step.id])
    # By position rather than by id: a plan of tens of thousands of steps is ordered many times.
    missing = [0] * len(steps)
    dependents: list[list[int]] = [[] for _ in steps]
    for position, step in enumerate(steps):
        deps = set(step.depends_on)
        missing[position] = len(deps)
        for dep in deps:
            dependents[index[dep]].append(position)
    ready = [(key(step), position) for position, step in enumerate(steps) if not missing[position]]
    heapq.heapify(ready)
    ordered: list[Step] = []
    while ready:
        _, position = heapq.heappop(ready)
        ordered.append(steps[position])
        for child in dependents[position]:
            missing[child] -= 1
            if not missing[child]:
                heapq.heappush(ready, (key(steps[child]), child))
    if len(ordered) != len(steps):
        left = {step.id: missing[position] for position, step in enumerate(steps)}
        raise ValueError(f"dependency cycle: {' -> '.join(_find_cycle(steps, left))}")
    return ordered


def _find_cycle(steps: list[Step], missing: dict[str, int]) -> list[str]:
    """One cycle among the steps Kahn could not order, for an error message a person can act on."""
    deps = {step.id: [d for d in step.depends_on if missing.get(d, 0) > 0] for step in steps if missing[step.id] > 0}
    start = min(deps)
    path, seen = [start], {start: 0}
    while True:
        # Every unordered step has at least one unordered dependency, so this walk must loop.
        nxt = sorted(deps[path[-1]])[0]
        if nxt in seen:
            return [*path[seen[nxt]:], nxt]
        seen[nxt] = len(path)
        path.append(nxt)


def _in_order(steps: list[Step]) -> bool:
    """Whether every step comes after its dependencies, ids unique: true of any plan build_plan
    made, and checked in one pass."""
    seen: set[str] = set()
    for step in steps:
        if step.id in seen or not all(dep in seen for dep in step.depends_on):
            return False
        seen.add(step.id)
    return True


# The last plan each question was asked about, by identity (a Plan and its steps are frozen):
# building, printing and explaining one plan ask for its order and critical path several times.
_last: dict[str, tuple[Plan, Any]] = {}


def remembered(question: str, plan: Plan, answer: Callable[[], Any]) -> Any:
    found = _last.get(question)
    if found is not None and found[0] is plan:
        return found[1]
    value = answer()
    _last[question] = (plan, value)
    return value


def validate_plan(plan: Plan) -> list[Step]:
    """The plan's steps in topological order; ValueError if the plan is not a DAG.

    A plan already in order is returned as it is: what topological_order would give it too
    (the lowest position first), without its sort, which critical-path questions on a large plan
    repeat many times."""

    def order() -> tuple[Step, ...]:
        steps = list(plan.steps)
        return tuple(steps if _in_order(steps) else topological_order(steps))

    return list(remembered("order", plan, order))
