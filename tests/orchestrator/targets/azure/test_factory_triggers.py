"""After the handover, the secondary's Data Factory triggers are started: the ingestion schedule the
program deploys stopped goes live, and the handover step's evidence says which were started.

The Data Factory client runs for real through AzureSession; the socket answers with the REST spec's
Triggers_Start example (an empty 200: the long-running operation is done at once).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from components import naming
from components.data_factory_triggers import INGEST_TRIGGER
from orchestrator.model import PermanentError, Step, StepKind
from orchestrator.program.graph import Graph
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.data_steps import AzureDataSteps
from orchestrator.targets.azure.stores.factory_triggers import declared_triggers
from stacks.config import load_stack_config
from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route, example, example_body
from tests.pulumi_mocks import PROJECT_DIR

START = "datafactory/resource-manager/Microsoft.DataFactory/DataFactory/stable/2018-06-01/examples/Triggers_Start.json"
GROUP, FACTORY = naming.resource_group_name("contoso", "data", "ase"), naming.data_factory_name("contoso", "ase")
FACTORY_PATH = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.DataFactory/factories/{FACTORY}"
HANDOVER = Step(id="platform.handover", component="platform", kind=StepKind.HANDOVER, depends_on=(), estimate_s=0)


def start_route(trigger: str, **kwargs) -> Route:
    assert example(START)["operationId"] == "Triggers_Start"
    return Route("POST", f"{FACTORY_PATH}/triggers/{trigger}/start", **({"body": example_body(START)} | kwargs))


def trigger_resource(name: str) -> dict:
    return {"urn": f"urn:trigger:{name}", "type": "azure-native:datafactory:Trigger", "name": name,
            "physical_name": name, "location": None, "component": "data_factory"}


class Context:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def outputs_of(self, step_id: str) -> dict:
        return {}


def handover(tmp_path: Path, *routes: Route, triggers=(INGEST_TRIGGER,), data_factory: bool = True):
    config = load_stack_config(PROJECT_DIR, "secondary")
    config = dataclasses.replace(config, switches={**config.switches, "dataFactory": data_factory})
    graph = Graph(stack="secondary", region=config.region, resources=[trigger_resource(t) for t in triggers],
                  components=[])
    transport = ExampleTransport(list(routes))
    session = AzureSession(FakeCredential(), SUBSCRIPTION, transport=transport, retry_total=0)
    return AzureDataSteps(session, config, graph, tmp_path, poll_interval_s=0).run(HANDOVER, Context(tmp_path)), transport


def test_the_handover_starts_the_factorys_ingestion_trigger_and_records_it(tmp_path):
    outcome, transport = handover(tmp_path, start_route(INGEST_TRIGGER))
    assert outcome.outputs["handover_at"]
    assert outcome.evidence["after_handover"] == {"factory": FACTORY, "factory_triggers_started": [INGEST_TRIGGER]}
    (start,) = transport.requests
    assert start.method == "POST" and start.url.split("?")[0].endswith(f"/factories/{FACTORY}/triggers/{INGEST_TRIGGER}/start")
    assert "api-version=2018-06-01" in start.url


def test_every_declared_trigger_is_started(tmp_path):
    outcome, transport = handover(tmp_path, start_route("a"), start_route("b"), triggers=("b", "a"))
    assert outcome.evidence["after_handover"]["factory_triggers_started"] == ["a", "b"]
    assert len(transport.requests) == 2


def test_no_factory_or_no_trigger_means_no_call(tmp_path):
    for outcome, transport in (handover(tmp_path, triggers=()), handover(tmp_path, data_factory=False)):
        assert outcome.evidence["after_handover"] == {"factory": None, "factory_triggers_started": []}
        assert transport.requests == []


def test_a_trigger_that_will_not_start_fails_the_handover_naming_it(tmp_path):
    missing = start_route(INGEST_TRIGGER, status=404,
                          body={"error": {"code": "TriggerNotFound", "message": "Trigger not found."}})
    with pytest.raises(PermanentError, match=f"start trigger {INGEST_TRIGGER}") as caught:
        handover(tmp_path, missing)
    assert caught.value.evidence["error_code"] == "TriggerNotFound"


def test_the_trigger_started_is_the_one_the_program_declares(repo_graphs):
    assert declared_triggers(repo_graphs.get("secondary").resources) == [INGEST_TRIGGER]
