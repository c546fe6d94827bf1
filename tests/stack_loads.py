"""Counting how often a stack file is read and validated, to keep it once per stack per command."""

from __future__ import annotations

import sys
from collections import Counter

import stacks.config


def count_stack_loads(monkeypatch) -> Counter:
    """Calls of stacks.config.load_stack_config by stack from now on, in every module that imported
    it by name as well: a verb, target or report that reads the stack file again is counted."""
    original = stacks.config.load_stack_config
    counted: Counter = Counter()

    def counting(project_dir, stack):
        counted[stack] += 1
        return original(project_dir, stack)

    for module in list(sys.modules.values()):
        if getattr(module, "load_stack_config", None) is original:
            monkeypatch.setattr(module, "load_stack_config", counting)
    return counted
