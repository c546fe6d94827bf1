"""Evaluating a JSON value of a definition: a literal stays itself, an expression is parsed and run
against a Scope. Functions the runner does not implement are refused by name (functions.py)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from orchestrator.pipelines.errors import PipelineError, unsupported
from orchestrator.pipelines.expressions.functions import FUNCTIONS
from orchestrator.pipelines.expressions.parser import (
    Call,
    Literal,
    Member,
    Node,
    calls,
    expression_text,
    literal_string,
    parse,
)
from orchestrator.pipelines.expressions.scope import Scope
from orchestrator.pipelines.expressions.timestamps import to_text


def evaluate(value: Any, scope: Scope) -> Any:
    """The value a definition's JSON value has in `scope`."""
    text = expression_text(value)
    if text is None:
        return literal_string(value) if isinstance(value, str) else value
    return _run(parse(text), scope, text)


def _run(node: Node, scope: Scope, text: str) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Call):
        function = FUNCTIONS.get(node.name)
        if function is None:
            raise unsupported(f"the function {node.name!r}")
        if not function.min_args <= len(node.args) <= function.max_args:
            wanted = (str(function.min_args) if function.min_args == function.max_args
                      else f"{function.min_args} to {function.max_args}")
            raise PipelineError(f"{node.name}() takes {wanted} arguments, got {len(node.args)} (in @{text})")
        return function.apply(scope, [_run(arg, scope, text) for arg in node.args])
    if isinstance(node, Member):
        target = _run(node.target, scope, text)
        if isinstance(target, Mapping) and node.name in target:
            return target[node.name]
        if node.optional:
            return None
        known = f" (it has {', '.join(sorted(map(str, target)))})" if isinstance(target, Mapping) else ""
        raise PipelineError(f"@{text}: no property {node.name!r} in {_kind(target)}{known}")
    target, key = _run(node.target, scope, text), _run(node.key, scope, text)
    try:
        return target[key]
    except (KeyError, IndexError, TypeError):
        raise PipelineError(f"@{text}: cannot index {_kind(target)} with {key!r}") from None


_KINDS: dict[type, str] = {dict: "an object", list: "an array", str: "a string"}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def expressions_in(value: Any) -> Iterator[str]:
    """Every expression's text a JSON value holds, at any depth."""
    text = expression_text(value)
    if text is not None:
        yield text
    elif isinstance(value, dict):
        for item in value.values():
            yield from expressions_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from expressions_in(item)


# The date functions' format argument, by position: a literal one is checked with the definitions.
FORMAT_ARGUMENT = {"formatDateTime": 1, "startOfHour": 1, "addHours": 2}


def check_supported(value: Any) -> None:
    """Parse every expression of `value` and refuse, by name, a function the runner does not implement,
    or a date format it cannot write (when the format is a literal, as it is in the repository's pipelines)."""
    for text in expressions_in(value):
        for call in calls(parse(text)):
            if call.name not in FUNCTIONS:
                raise unsupported(f"the function {call.name!r} (in @{text})")
            position = FORMAT_ARGUMENT.get(call.name)
            argument = call.args[position] if position is not None and len(call.args) > position else None
            if isinstance(argument, Literal):
                to_text(0, argument.value, call.name)
