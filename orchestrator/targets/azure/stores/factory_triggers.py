"""Start the factory's triggers after the handover: the secondary's ingestion schedule goes live.

The program deploys every trigger stopped (ARM creates them so; components/data_factory_triggers.py),
which keeps the secondary from ingesting while it is a standby. Once the platform is handed over
its schedule must run, or nothing is ingested after the replay. The triggers started are the ones
the stack's program declares (the captured graph), by the names it gives them.
https://learn.microsoft.com/rest/api/datafactory/triggers/start

Starting a trigger that is already started succeeds, so a retried handover step starts them again
harmlessly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from orchestrator.targets.azure.errors import call, wait_for

TRIGGER_TYPE = "azure-native:datafactory:Trigger"


def declared_triggers(resources: Iterable[Mapping[str, object]]) -> list[str]:
    """The Data Factory trigger names of a captured graph's resources."""
    return sorted({str(r["physical_name"]) for r in resources if r.get("type") == TRIGGER_TYPE and r.get("physical_name")})


def start_triggers(adf: Any, resource_group: str, factory: str, triggers: Iterable[str], *,
                   timeout_s: float = 300.0) -> list[str]:
    """Start each trigger (a long-running operation, waited on within `timeout_s`); the names started."""
    started = []
    for trigger in triggers:
        what = f"data factory {factory}: start trigger {trigger}"
        wait_for(what, call(what, adf.triggers.begin_start, resource_group, factory, trigger), timeout_s)
        started.append(trigger)
    return started


def after_handover(adf: Callable[[], Any], resource_group: str, factory: str,
                   resources: Iterable[Mapping[str, object]]) -> dict:
    """The handover step's action: start the triggers the program declares in `resources` (none: no
    call at all). A trigger that will not start fails the step, which is retried; the platform is
    not fully handed over while nothing ingests."""
    triggers = declared_triggers(resources)
    started = start_triggers(adf(), resource_group, factory, triggers) if triggers else []
    return {"factory": factory if started else None, "factory_triggers_started": started}
