"""The subset of Data Factory's expression language that the repository's pipelines use."""

from orchestrator.pipelines.expressions.evaluate import check_supported, evaluate
from orchestrator.pipelines.expressions.scope import Scope

__all__ = ["Scope", "check_supported", "evaluate"]
