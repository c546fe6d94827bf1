"""YAML of a stack file, loaded with its alias expansion bounded.

`yaml.safe_load` shares an anchored node among its aliases, so loading a "billion laughs" document
(each level an alias list of the one before) is quick and small; what exhausts memory is the first
walk over the result: validation, a JSON dump, the config digest at the end of a run. So the
composed document is measured as it would be walked, every alias expanded, and refused beyond
MAX_NODES (or MAX_ALIASES alias uses, or nesting Python cannot recurse through) before any Python
object is built from it. The reference stack is under 600 nodes, the limits far above what a stack
file has any use for.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode

MAX_NODES = 50_000
MAX_ALIASES = 1_000


class YamlTooLarge(yaml.YAMLError):
    """A document past the bounds: what it exceeds, in words."""


class _BoundedLoader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise YamlTooLarge(f"more than {MAX_ALIASES} YAML aliases")
        return super().compose_node(parent, index)


def safe_load_bounded(text: str) -> Any:
    """`yaml.safe_load(text)`, or YamlTooLarge when its aliases expand past the bounds (a YAMLError
    too, so a caller that refuses bad YAML refuses this)."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node)
        return loader.construct_document(node)
    except RecursionError:
        raise YamlTooLarge("YAML nested too deeply") from None
    finally:
        loader.dispose()


def _check_expanded_size(root: Node) -> int:
    """Nodes in the document with every alias expanded, counted once per anchored node (memoised),
    so a bomb is measured without being expanded."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise YamlTooLarge("a YAML alias refers to a node that contains it (a recursive document)")
        open_nodes.add(key)
        if isinstance(node, SequenceNode):
            children: list[Node] = list(node.value)
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_NODES:
                raise YamlTooLarge(f"YAML aliases expand to more than {MAX_NODES} nodes")
        open_nodes.discard(key)
        sizes[key] = total
        return total

    return size(root)
