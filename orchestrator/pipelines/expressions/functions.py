"""The expression functions the repository's pipelines call, as the service documents them
(https://learn.microsoft.com/azure/data-factory/control-flow-expression-language-functions).
Any other function is refused by name when the definitions are loaded (definitions.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.pipelines.errors import PipelineError
from orchestrator.pipelines.expressions.scope import Scope
from orchestrator.pipelines.expressions.timestamps import TICKS_PER_HOUR, to_text, to_ticks

# range(): the service's limits on its count and on where the integers end.
RANGE_MAX_COUNT = 100_000
INT32_MAX = 2_147_483_647


@dataclass(frozen=True)
class Function:
    min_args: int
    max_args: int
    apply: Callable[[Scope, list[Any]], Any]


def _number(value: Any, function: str, position: int) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PipelineError(f"{function}: argument {position} must be a number, got {value!r}")
    return value


def _integer(value: Any, function: str, position: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PipelineError(f"{function}: argument {position} must be an integer, got {value!r}")
    return value


def _string(value: Any, function: str, position: int) -> str:
    if not isinstance(value, str):
        raise PipelineError(f"{function}: argument {position} must be a string, got {value!r}")
    return value


def _add(scope: Scope, args: list[Any]) -> int | float:
    return _number(args[0], "add", 1) + _number(args[1], "add", 2)


def _sub(scope: Scope, args: list[Any]) -> int | float:
    return _number(args[0], "sub", 1) - _number(args[1], "sub", 2)


def _div(scope: Scope, args: list[Any]) -> int | float:
    """Integers divide to an integer, truncated toward zero as .NET's integer division does."""
    dividend, divisor = _number(args[0], "div", 1), _number(args[1], "div", 2)
    if divisor == 0:
        raise PipelineError("div: division by zero")
    if isinstance(dividend, int) and isinstance(divisor, int):
        quotient = abs(dividend) // abs(divisor)
        return quotient if (dividend >= 0) == (divisor >= 0) else -quotient
    return dividend / divisor


def _range(scope: Scope, args: list[Any]) -> list[int]:
    start, count = _integer(args[0], "range", 1), _integer(args[1], "range", 2)
    if not 0 < count <= RANGE_MAX_COUNT:
        raise PipelineError(f"range: the count must be a positive integer up to {RANGE_MAX_COUNT}, got {count}")
    if start + count > INT32_MAX:
        raise PipelineError(f"range: start plus count must not exceed {INT32_MAX}")
    return list(range(start, start + count))


def _concat(scope: Scope, args: list[Any]) -> str:
    return "".join(_string(value, "concat", index + 1) for index, value in enumerate(args))


def _ticks(scope: Scope, args: list[Any]) -> int:
    return to_ticks(args[0], "ticks")


def _start_of_hour(scope: Scope, args: list[Any]) -> str:
    ticks = to_ticks(args[0], "startOfHour")
    return to_text(ticks - ticks % TICKS_PER_HOUR, args[1] if len(args) > 1 else None, "startOfHour")


def _add_hours(scope: Scope, args: list[Any]) -> str:
    hours = _integer(args[1], "addHours", 2)
    return to_text(to_ticks(args[0], "addHours") + hours * TICKS_PER_HOUR, args[2] if len(args) > 2 else None,
                   "addHours")


def _format_date_time(scope: Scope, args: list[Any]) -> str:
    return to_text(to_ticks(args[0], "formatDateTime"), args[1] if len(args) > 1 else None, "formatDateTime")


def _activity(scope: Scope, args: list[Any]) -> Any:
    return scope.activity(_string(args[0], "activity", 1))


FUNCTIONS: dict[str, Function] = {
    "pipeline": Function(0, 0, lambda scope, args: scope.need_pipeline()),
    "item": Function(0, 0, lambda scope, args: scope.need_item()),
    "activity": Function(1, 1, _activity),
    "dataset": Function(0, 0, lambda scope, args: scope.need_dataset()),
    "concat": Function(1, 10_000, _concat),
    "add": Function(2, 2, _add),
    "sub": Function(2, 2, _sub),
    "div": Function(2, 2, _div),
    "range": Function(2, 2, _range),
    "ticks": Function(1, 1, _ticks),
    "startOfHour": Function(1, 2, _start_of_hour),
    "addHours": Function(2, 3, _add_hours),
    "formatDateTime": Function(1, 2, _format_date_time),
}
