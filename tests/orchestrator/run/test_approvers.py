"""Who may approve which gate, and how an approver on Azure is matched to the contacts file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orchestrator.model import Step, StepKind
from orchestrator.run.approvers import Role, gate_role, identify_approver, on_azure, read_contacts_file, who_may_approve
from orchestrator.targets.azure.signed_in import EntraIdentity
from tests.entra_tokens import INDY_OBJECT_ID, JORDAN_UPN

REPO = Path(__file__).resolve().parents[3]
GATE = Step("platform.gate", "platform", StepKind.GATE, (), 900)


@pytest.fixture(scope="module")
def contacts():
    return read_contacts_file(REPO / "dr" / "contacts.yaml", "dr/contacts.yaml")


def test_each_gate_has_its_role():
    assert gate_role(GATE) == Role.TECHNICAL
    assert gate_role(Step("platform.business-gate", "platform", StepKind.GATE, (), 1)) == Role.BUSINESS
    assert gate_role(Step("dataverse.gate", "dataverse", StepKind.GATE, (), 1)) == Role.TECHNICAL


def test_the_platform_gates_are_the_approvers_own_and_no_sme_may_approve_them(contacts):
    technical = [entry.person.name for entry in who_may_approve(contacts.contacts, GATE)]
    assert technical == ["Indy Example", "Jordan Example", "Casey Example"]
    business = who_may_approve(contacts.contacts, Step("platform.business-gate", "platform", StepKind.GATE, (), 1))
    assert [entry.listed_as for entry in business] == [f"business_approvers[0].{slot}"
                                                        for slot in ("primary", "secondary", "escalation")]
    # entra_id is an SME's component, but the platform's gate is not a service's own.
    assert "Morgan Example" not in technical


def test_a_services_own_gate_may_also_be_confirmed_by_its_technical_sme(contacts):
    names = [entry.person.name for entry in who_may_approve(contacts.contacts,
                                                            Step("entra_id.gate", "entra_id", StepKind.GATE, (), 1))]
    assert names[:3] == ["Indy Example", "Jordan Example", "Casey Example"]
    assert names[3:] == ["Morgan Example", "Noel Example", "Jordan Example"]  # technical_smes[0]


@pytest.mark.parametrize("run, azure", [
    ({"kind": "failover"}, True),
    ({"kind": "fallback-azure", "target": "azure"}, True),
    ({"kind": "failover", "rehearsal_target": "azure"}, True),
    ({"kind": "drill-local"}, False),
    ({"kind": "fallback-local"}, False),
])
def test_runs_on_azure_are_known_by_their_kind(run, azure):
    assert on_azure(run) is azure


def test_a_listing_by_object_id_wins_over_another_persons_by_upn(tmp_path):
    document = yaml.safe_load((REPO / "dr" / "contacts.yaml").read_text())
    # Jordan (secondary, listed by upn) left, and the UPN went to Casey's account (escalation, listed
    # by object id): the object id says who it is, though Jordan comes first in the file.
    casey = "99999999-0000-0000-0000-000000000103"
    document["technical_approvers"][0]["escalation"]["object_id"] = casey
    document["technical_approvers"][0]["primary"]["object_id"] = INDY_OBJECT_ID.upper()  # GUIDs: any case
    path = tmp_path / "contacts.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    signed_in = EntraIdentity(casey, JORDAN_UPN, None, None, None)
    approver = identify_approver({"kind": "failover"}, GATE, read_contacts_file(path), by=None,
                                 signed_in=lambda: signed_in)
    assert (approver.name, approver.matched_on) == ("Casey Example", "object_id")
    jordan = EntraIdentity("99999999-0000-0000-0000-000000000132", JORDAN_UPN.upper(), None, None, None)
    approver = identify_approver({"kind": "failover"}, GATE, read_contacts_file(path), by=None,
                                 signed_in=lambda: jordan)
    assert (approver.name, approver.matched_on) == ("Jordan Example", "upn")  # upn matched case-insensitively
    indy = EntraIdentity(INDY_OBJECT_ID, None, None, None, None)
    assert identify_approver({"kind": "failover"}, GATE, read_contacts_file(path), by=None,
                             signed_in=lambda: indy).name == "Indy Example"
