"""What an expression can see where it is evaluated: the pipeline run (`pipeline()`), the ForEach
item (`item()`), the outputs of the activities that ran before it in its container and the ones
around it (`activity('name')`), and inside a dataset its parameters (`dataset()`)."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from orchestrator.pipelines.errors import PipelineError

NO_ITEM = object()


@dataclass(frozen=True)
class Scope:
    pipeline: Mapping[str, Any] | None = None  # what pipeline() returns: parameters, Pipeline, RunId
    item: Any = NO_ITEM
    activities: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # name -> {"output": ...}
    dataset: Mapping[str, Any] | None = None  # a dataset's parameters, inside that dataset only

    def for_item(self, item: Any) -> Scope:
        return replace(self, item=item)

    def after(self, ran: Mapping[str, Mapping[str, Any]]) -> Scope:
        """This scope, seeing also the activities that ran in a nested container (an iteration, a branch)."""
        return replace(self, activities=ChainMap(dict(ran), dict(self.activities)))

    def in_dataset(self, parameters: Mapping[str, Any]) -> Scope:
        """A dataset's expressions see its parameters only, as in the service."""
        return Scope(dataset=parameters)

    def need_pipeline(self) -> Mapping[str, Any]:
        if self.pipeline is None:
            raise PipelineError("pipeline() is only available in a pipeline's activities, not in a dataset")
        return self.pipeline

    def need_item(self) -> Any:
        if self.item is NO_ITEM:
            raise PipelineError("item() is only available inside a ForEach")
        return self.item

    def need_dataset(self) -> Mapping[str, Any]:
        if self.dataset is None:
            raise PipelineError("dataset() is only available inside a dataset's definition")
        return self.dataset

    def activity(self, name: str) -> Mapping[str, Any]:
        if name not in self.activities:
            raise PipelineError(f"activity({name!r}): no activity of that name has run before this one")
        return self.activities[name]
