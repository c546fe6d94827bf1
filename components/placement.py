"""Where a service's resources go and what their names carry: the arguments every service starts from.

Each stack deploys into its own region, names its resources with its prefix and region suffix (so the
paired stack never asks for a name this one holds, components/naming.py), and puts each service in
one of its layer resource groups: data services in the data group, network services in the
connectivity group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import pulumi

from components.spec import Platform


@dataclass(frozen=True)
class Placement:
    location: str
    prefix: str
    name_suffix: str
    resource_group_name: pulumi.Input[str]

    @classmethod
    def from_context(cls, context: Platform, *, layer: str = "data", **fields: Any) -> Self:
        """This stack's placement in its `layer` resource group, plus the service's own `fields`."""
        return cls(
            location=context.region,
            prefix=context.prefix,
            name_suffix=context.suffix,
            resource_group_name=context.resource_groups[layer],
            **fields,
        )
