"""What every service's settings model shares: strictness, and the checks that need the stack.

Light on purpose (pydantic only): stacks/config.py validates stack files with these models without
loading Pulumi.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo


class ServiceSettings(BaseModel):
    """Base of every service's settings model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# The validation context stacks/config.py gives every service's settings: Azure's region names
# (stacks/regions.py), which components do not import.
# An Entra object id (a user, group, service principal or managed identity): Azure names role
# assignments and server administrators by it, so a placeholder would only fail at deploy time.
GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

REGIONS_CONTEXT = "azure_regions"


def _known_region(value: str, info: ValidationInfo) -> str:
    regions = (info.context or {}).get(REGIONS_CONTEXT)
    if regions is not None and value not in regions:
        raise ValueError(f"{value!r} is not an Azure region name (e.g. australiaeast)")
    return value


# A region named in a service's settings, checked against Azure's when the stack file is read.
AzureRegion = Annotated[str, AfterValidator(_known_region)]
