"""The paired stack's ids (components/paired.py) and the placement services start from (components/placement.py)."""

from __future__ import annotations

import dataclasses

import pytest
from pulumi_mocks import stack_config
from service_harness import context_for

from components.paired import PairedPlacement, resource_id
from components.placement import Placement
from orchestrator.program.capture import run_under_mocks

SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"


def test_resource_id_lies_in_the_named_stacks_layer_group():
    assert resource_id(SUBSCRIPTION, "contoso", "ase", "Microsoft.Sql/servers/contoso-sql-ase") == (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-contoso-data-ase/providers/Microsoft.Sql/servers/contoso-sql-ase"
    )
    assert "/resourceGroups/rg-contoso-connectivity-ase/" in resource_id(SUBSCRIPTION, "contoso", "ase", "x/y", "connectivity")


@pytest.mark.parametrize("layer", ["data", "connectivity"])
def test_placement_comes_from_the_stack(layer):
    context = context_for(stack_config("primary"))
    placement = Placement.from_context(context, layer=layer)
    assert (placement.location, placement.prefix, placement.name_suffix) == (context.region, context.prefix, context.suffix)
    assert placement.resource_group_name == context.resource_groups[layer]


def test_paired_placement_knows_the_paired_stack():
    config = stack_config("primary")
    placement = PairedPlacement.from_context(context_for(config))
    assert placement.paired_region == config.paired_region
    assert (placement.paired_prefix, placement.paired_name_suffix) == (config.paired_prefix, config.paired_name_suffix)
    assert placement.subscription_id == context_for(config).subscription_id


def test_paired_id_is_derived_from_the_paired_names():
    placement = dataclasses.replace(
        PairedPlacement.from_context(context_for(stack_config("primary"))), subscription_id=SUBSCRIPTION
    )
    found: list[str] = []

    def program():
        placement.paired_id(lambda prefix, suffix: f"Microsoft.Sql/servers/{prefix}-sql-{suffix}", unknown="-").apply(
            found.append
        )

    run_under_mocks(program, project="dataplatform", stack="primary")
    prefix, suffix = placement.paired_prefix, placement.paired_name_suffix
    assert found == [resource_id(SUBSCRIPTION, prefix, suffix, f"Microsoft.Sql/servers/{prefix}-sql-{suffix}")]


def test_paired_id_without_the_paired_names_says_what_to_set():
    placement = dataclasses.replace(PairedPlacement.from_context(context_for(stack_config("primary"))), paired_prefix=None)
    with pytest.raises(ValueError, match=r"set restore.sourceId"):
        placement.paired_id(lambda prefix, suffix: "x", unknown="paired names unknown: set restore.sourceId")
