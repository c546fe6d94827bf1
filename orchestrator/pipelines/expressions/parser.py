"""Data Factory expressions as a tree: function calls, string and number literals, and the accessors
that follow a value (`.name`, `?.name`, `[index]`). The language has no operators; arithmetic and
comparison are functions (https://learn.microsoft.com/azure/data-factory/control-flow-expression-language-functions).

A JSON value is an expression when it is a string starting with `@` (`@@` escapes a literal `@`), or
an object `{"value": "@...", "type": "Expression"}`. String interpolation (`@{...}` inside a string)
is a feature of the language the repository's pipelines do not use: it is refused, by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from orchestrator.pipelines.errors import PipelineError, unsupported


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Member:
    target: Node
    name: str
    optional: bool = False  # `?.`: null instead of an error when the property is absent


@dataclass(frozen=True)
class Index:
    target: Node
    key: Node


Node = Literal | Call | Member | Index

_TOKEN = re.compile(
    r"\s*(?:(?P<number>-?\d+(?:\.\d+)?)|(?P<string>'(?:[^']|'')*')|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<punct>\?\.|[(),.\[\]]))"
)


def expression_text(value: Any) -> str | None:
    """The expression a JSON value holds (without its `@`), or None for a literal. Refuses interpolation."""
    if isinstance(value, dict) and value.get("type") == "Expression":
        value = value.get("value")
        if not isinstance(value, str):
            raise PipelineError(f"an Expression object's value must be a string, not {value!r}")
    if not isinstance(value, str):
        return None
    if value.startswith("@") and not value.startswith("@@") and not value.startswith("@{"):
        return value[1:]
    if "@{" in value.replace("@@", ""):
        raise unsupported(f"string interpolation (@{{...}}) in {value!r}")
    return None


def literal_string(value: str) -> str:
    """A JSON string that is not an expression, as the language reads it: `@@` at the start is `@`."""
    return value[1:] if value.startswith("@@") else value


def _tokens(text: str) -> Iterator[tuple[str, str, int]]:
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            return
        found = _TOKEN.match(text, position)
        if found is None or found.lastgroup is None:
            raise PipelineError(f"expression @{text}: unexpected {text[position:].strip()[:20]!r} at {position}")
        yield found.lastgroup, found.group(found.lastgroup), found.start(found.lastgroup)
        position = found.end()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = list(_tokens(text))
        self.at = 0

    def fail(self, problem: str) -> PipelineError:
        where = self.tokens[self.at][2] if self.at < len(self.tokens) else len(self.text)
        return PipelineError(f"expression @{self.text}: {problem} at {where}")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at][:2] if self.at < len(self.tokens) else None

    def take(self, punct: str) -> bool:
        if self.peek() == ("punct", punct):
            self.at += 1
            return True
        return False

    def expect(self, punct: str) -> None:
        if not self.take(punct):
            raise self.fail(f"expected {punct!r}")

    def whole(self) -> Node:
        node = self.value()
        if self.peek() is not None:
            raise self.fail("unexpected text after the expression")
        return node

    def value(self) -> Node:
        node = self.primary()
        while True:
            if self.take("."):
                node = Member(node, self.name())
            elif self.take("?."):
                node = Member(node, self.name(), optional=True)
            elif self.take("["):
                node = Index(node, self.value())
                self.expect("]")
            else:
                return node

    def name(self) -> str:
        token = self.peek()
        if token is None or token[0] != "name":
            raise self.fail("expected a property name")
        self.at += 1
        return token[1]

    def primary(self) -> Node:
        token = self.peek()
        if token is None:
            raise self.fail("expected a value")
        kind, text = token
        self.at += 1
        if kind == "number":
            return Literal(float(text) if "." in text else int(text))
        if kind == "string":
            return Literal(text[1:-1].replace("''", "'"))
        if kind == "name":
            if not self.take("("):
                raise unsupported(f"the bare name {text!r} in @{self.text} (only function calls, strings and numbers)")
            args: list[Node] = []
            if not self.take(")"):
                args.append(self.value())
                while self.take(","):
                    args.append(self.value())
                self.expect(")")
            return Call(text, tuple(args))
        self.at -= 1
        raise self.fail(f"unexpected {text!r}")


def parse(text: str) -> Node:
    """The tree of an expression's text (without its leading `@`)."""
    return _Parser(text).whole()


def calls(node: Node) -> Iterator[Call]:
    """Every function call of an expression, outermost first."""
    if isinstance(node, Call):
        yield node
        for arg in node.args:
            yield from calls(arg)
    elif isinstance(node, Member):
        yield from calls(node.target)
    elif isinstance(node, Index):
        yield from calls(node.target)
        yield from calls(node.key)
