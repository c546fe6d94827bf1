"""The paired stack's resources by id: what a geo-restore reads from, what a failover group pairs with.

Both stacks deploy into one subscription under one naming scheme (components/naming.py), so the id
of the paired stack's server, pool or namespace follows from its prefix and name suffix alone: no
call to Azure, no stack reference, and it still works while the paired region is down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

import pulumi

from components import naming
from components.placement import Placement
from components.spec import Platform


def resource_id(subscription_id: str, prefix: str, suffix: str, path: str, layer: str = "data") -> str:
    """ARM id of `path` ("Microsoft.Sql/servers/<name>") in the `layer` resource group of the stack
    named with `prefix` and `suffix`."""
    group = naming.resource_group_name(prefix, layer, suffix)
    return f"/subscriptions/{subscription_id}/resourceGroups/{group}/providers/{path}"


@dataclass(frozen=True, kw_only=True)
class PairedPlacement(Placement):
    """A placement that also knows the paired stack: its region, the subscription both stacks share,
    and its prefix and name suffix (None when its stack file is not known)."""

    subscription_id: pulumi.Input[str]
    paired_region: str
    paired_prefix: str | None = None
    paired_name_suffix: str | None = None

    @classmethod
    def from_context(cls, context: Platform, *, layer: str = "data", **fields: Any) -> Self:
        config = context.config
        return super().from_context(
            context,
            layer=layer,
            subscription_id=context.subscription_id,
            paired_region=config.paired_region,
            paired_prefix=config.paired_prefix,
            paired_name_suffix=config.paired_name_suffix,
            **fields,
        )

    def paired_id(self, path: Callable[[str, str], str], *, unknown: str) -> pulumi.Output[str]:
        """ARM id of the paired stack's `path(prefix, suffix)` in its data group. Raises ValueError
        with `unknown` (which names the setting that would do instead) when its names are not known."""
        prefix, suffix = self.paired_prefix, self.paired_name_suffix
        if not prefix or not suffix:
            raise ValueError(unknown)
        return pulumi.Output.from_input(self.subscription_id).apply(
            lambda subscription: resource_id(subscription, prefix, suffix, path(prefix, suffix))
        )
