"""The runner's two failures, both PermanentError (a retry would meet them again): a definition uses
what the runner does not implement, or a run cannot go on (a parameter missing, a value of the wrong
type, a source folder that does not exist). Each is one line saying where and what."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from orchestrator.model import PermanentError


class RunnerError(PermanentError):
    placed = False  # already says which activity it happened in

    def prefixed(self, place: str, activity: bool) -> RunnerError:
        error = type(self)(f"{place}: {self}", self.evidence)
        error.placed = self.placed or activity
        return error


class Unsupported(RunnerError):
    """A function, activity, property or format the local pipeline runner does not implement."""


class PipelineError(RunnerError):
    """A run that cannot go on, or a definition the runner cannot read."""


def unsupported(what: str) -> Unsupported:
    return Unsupported(f"{what} is not supported by the local pipeline runner")


@contextmanager
def where(place: str, *, activity: bool = False) -> Iterator[None]:
    """Prefix the runner's errors raised inside with `place` (a file, an activity), still one line.
    An activity's place is given once, by the innermost activity (its path names those around it)."""
    try:
        yield
    except RunnerError as exc:
        if activity and exc.placed:
            raise
        raise exc.prefixed(place, activity) from None
