"""`drctl approve`: a gate's sign-off, by someone the contacts file lets approve it, recorded once.

Locally the approver is named with --by; on Azure their own Entra token names them (a credential
double hands out a JWT: tests/entra_tokens.py says why a double). Every refusal is one line, exit 2,
and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from orchestrator.atomic import write_json_atomic
from orchestrator.engine.journal import Journal
from orchestrator.engine.journal_state import Event
from orchestrator.errors import BadInput
from orchestrator.model import Plan, Step, StepKind
from orchestrator.plan.recovery import plan_to_json
from orchestrator.run.approvers import read_contacts_file
from orchestrator.targets.azure.signed_in import signed_in_person
from orchestrator.verbs.approve import approve
from tests.entra_tokens import INDY_OBJECT_ID, JORDAN_UPN, TENANT, TokenCredential, fake_az, jwt, user_claims

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "dr" / "contacts.yaml"
PLAN = Plan("secondary", (
    Step("lake.smoke", "lake", StepKind.SMOKE, (), 60),
    Step("dataverse.gate", "dataverse", StepKind.GATE, (), 60),  # a SaaS service a person confirms
    Step("platform.gate", "platform", StepKind.GATE, ("lake.smoke", "dataverse.gate"), 900),
    Step("platform.business-gate", "platform", StepKind.GATE, ("platform.gate",), 900),
    Step("platform.handover", "platform", StepKind.HANDOVER, ("platform.business-gate",), 300),
), 14400, 3600)


@pytest.fixture(scope="module")
def contacts(tmp_path_factory):
    """The example contacts file, with a technical SME answering for Dataverse."""
    document = yaml.safe_load(EXAMPLE.read_text())
    document["technical_smes"][0]["components"].append("dataverse")  # Morgan Example
    path = tmp_path_factory.mktemp("contacts") / "contacts.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return read_contacts_file(path, "dr/contacts.yaml")


def make_run(folder: Path, kind: str = "drill-local", *events: tuple[Event, dict]) -> Path:
    """A run directory whose journal records `events` after the run started."""
    folder.mkdir()
    write_json_atomic(folder / "run.json", {"run_id": folder.name, "kind": kind, "stack": "secondary"})
    write_json_atomic(folder / "plan.json", plan_to_json(PLAN))
    with Journal.open(folder) as journal:
        journal.append(Event.RUN_STARTED, plan=plan_to_json(PLAN))
        for event, fields in events:
            journal.append(event, **fields)
    return folder


def waiting_at_the_gates(folder: Path, kind: str = "drill-local") -> Path:
    """The lake proven, Dataverse and the technical gate waiting: how `drill --require-approval` stops."""
    return make_run(folder, kind,
                    (Event.STEP_SUCCEEDED, {"step": "lake.smoke"}),
                    (Event.STEP_WAITING, {"step": "dataverse.gate", "reason": "waits for approval"}),
                    (Event.RUN_FINISHED, {"outcome": "waiting"}))


@pytest.fixture
def run_dir(tmp_path):
    return waiting_at_the_gates(tmp_path / "drill-1")


def recorded(run_dir: Path, step: str) -> dict:
    return json.loads((run_dir / "approvals" / f"{step}.json").read_text())


# -- locally: --by names someone the contacts file lists for the gate's role ---------------------------


def test_a_local_approval_records_who_in_which_role_and_how_they_were_known(run_dir, contacts):
    document = approve(run_dir, "dataverse.gate", by="  morgan   EXAMPLE ", note="status page green",
                       contacts=contacts)
    approval = recorded(run_dir, "dataverse.gate")
    assert approval["approved_by"] == "Morgan Example" and approval["note"] == "status page green"
    assert approval["role"] == "technical" and approval["approved_at"].endswith("Z")
    assert approval["identity"] == {
        "established_by": "named on the command line", "matched_on": "name", "listed_as": "technical_smes[0].primary",
        "contacts_sha256": hashlib.sha256(contacts.path.read_bytes()).hexdigest()}
    assert document["next"].startswith("drctl resume")


def test_an_approver_may_be_named_by_email_and_any_of_an_entrys_people_may_approve(tmp_path, contacts):
    run_dir = waiting_at_the_gates(tmp_path / "drill-2")
    approve(run_dir, "dataverse.gate", by="Casey Example", contacts=contacts)  # technical approvers' escalation
    assert recorded(run_dir, "dataverse.gate")["identity"]["listed_as"] == "technical_approvers[0].escalation"
    with Journal.open(run_dir) as journal:
        journal.append(Event.RUN_RESUMED, reset=["dataverse.gate"])
        journal.append(Event.STEP_SUCCEEDED, step="dataverse.gate", outputs={"approved_by": "Casey Example"})
        journal.append(Event.STEP_WAITING, step="platform.gate", reason="waits for approval")
    approve(run_dir, "platform.gate", by="JORDAN.example@example.com", contacts=contacts)
    approval = recorded(run_dir, "platform.gate")
    assert approval["approved_by"] == "Jordan Example" and approval["identity"]["matched_on"] == "email"


@pytest.mark.parametrize("step, by, words", [
    ("dataverse.gate", "Mallory", "'Mallory' is not listed in dr/contacts.yaml as a technical approver or a "
                                  "technical SME for dataverse"),
    ("dataverse.gate", "Finley Example", "not listed"),  # a business approver: not this gate's role
    ("dataverse.gate", "Quinn Example", "not listed"),  # a technical SME, but for the lake
    ("dataverse.gate", None, "--by: name the person approving"),
    ("dataverse.gate", "   ", "--by: name the person approving"),
])
def test_someone_the_contacts_file_does_not_let_approve_the_gate_is_refused(run_dir, contacts, step, by, words):
    with pytest.raises(BadInput, match=words) as raised:
        approve(run_dir, step, by=by, contacts=contacts)
    assert "\n" not in str(raised.value) and "Indy Example, Jordan Example, Casey Example" in str(raised.value)
    assert not (run_dir / "approvals").exists()


def test_the_business_gate_needs_a_business_approver(tmp_path, contacts):
    run_dir = make_run(tmp_path / "drill-3", "drill-local",
                       (Event.STEP_SUCCEEDED, {"step": "platform.gate", "outputs": {"approved_by": "Indy Example"}}))
    with pytest.raises(BadInput, match=r"not listed in dr/contacts.yaml as a business approver.*Finley Example"):
        approve(run_dir, "platform.business-gate", by="Indy Example", contacts=contacts)
    approve(run_dir, "platform.business-gate", by="Gray Example", contacts=contacts)
    approval = recorded(run_dir, "platform.business-gate")
    assert approval["role"] == "business" and approval["identity"]["listed_as"] == "business_approvers[0].secondary"


# -- the gate must be waiting for an approval ----------------------------------------------------------


REFUSED_GATES = [
    ("unknown step", "platform.gat", [], "'platform.gat' is not a step of this run's plan"),
    ("not a gate", "lake.smoke", [], "lake.smoke is a smoke step, not a gate"),
    ("not reached", "platform.gate", [], r"platform.gate is not reached yet: it waits for lake.smoke \(pending\), dataverse.gate \(waiting\) to succeed"),
    ("after a failure", "platform.business-gate",
     [(Event.STEP_FAILED, {"step": "platform.gate", "error": "x", "final": True})],
     r"not reached yet: it waits for platform.gate \(failed\) to succeed"),
    ("already passed", "dataverse.gate",
     [(Event.STEP_SUCCEEDED, {"step": "dataverse.gate", "outputs": {"approved_by": "drctl (local drill)"}})],
     r"dataverse.gate has already passed \(approved by drctl \(local drill\)\)"),
    ("finished run", "dataverse.gate", [(Event.RUN_FINISHED, {"outcome": "recovered"})],
     r"has finished \(recovered at .*\): its gates can no longer be approved"),
    ("finished partial run", "dataverse.gate", [(Event.RUN_FINISHED, {"outcome": "partial"})], "has finished"),
]


@pytest.mark.parametrize("case, step, events, words", REFUSED_GATES, ids=[c[0] for c in REFUSED_GATES])
def test_a_gate_that_is_not_waiting_for_approval_is_refused_and_nothing_is_written(tmp_path, contacts, case, step,
                                                                                   events, words):
    run_dir = make_run(tmp_path / "drill-4", "drill-local",
                       (Event.STEP_WAITING, {"step": "dataverse.gate", "reason": "waits"}), *events)
    with pytest.raises(BadInput, match=words) as raised:
        approve(run_dir, step, by="Indy Example", contacts=contacts)
    assert "\n" not in str(raised.value)
    assert not (run_dir / "approvals").exists()


def test_a_run_that_was_interrupted_may_still_be_approved_then_resumed(tmp_path, contacts):
    run_dir = make_run(tmp_path / "drill-5", "drill-local",
                       (Event.STEP_WAITING, {"step": "dataverse.gate", "reason": "waits"}),
                       (Event.RUN_INTERRUPTED, {"outcome": "interrupted"}))
    approve(run_dir, "dataverse.gate", by="Indy Example", contacts=contacts)
    assert recorded(run_dir, "dataverse.gate")["approved_by"] == "Indy Example"


def test_a_gate_a_running_fallback_waits_at_in_process_may_be_approved(tmp_path, contacts):
    """An Azure fallback polls for the approval file while its gate step runs."""
    run_dir = make_run(tmp_path / "fallback-1", "fallback-azure",
                       (Event.STEP_STARTED, {"step": "dataverse.gate", "attempt": 1}))
    approve(run_dir, "dataverse.gate", by=" ", contacts=contacts, signed_in=as_signed_in())
    assert recorded(run_dir, "dataverse.gate")["identity"]["established_by"] == "entra token"


def test_a_run_that_has_not_started_has_no_gate_to_approve(tmp_path, contacts):
    run_dir = waiting_at_the_gates(tmp_path / "drill-6")
    (run_dir / "journal.jsonl").unlink()
    with pytest.raises(BadInput, match="has not started its steps"):
        approve(run_dir, "dataverse.gate", by="Indy Example", contacts=contacts)


def test_a_gate_is_approved_once(run_dir, contacts):
    approve(run_dir, "dataverse.gate", by="Indy Example", contacts=contacts)
    before = (run_dir / "approvals" / "dataverse.gate.json").read_bytes()
    with pytest.raises(BadInput, match=r"dataverse\.gate is already approved"):
        approve(run_dir, "dataverse.gate", by="Jordan Example", contacts=contacts)
    assert (run_dir / "approvals" / "dataverse.gate.json").read_bytes() == before


# -- on Azure: the approver's own Entra token names them ----------------------------------------------


def as_signed_in(**claims):
    return lambda: signed_in_person(TokenCredential(user_claims(**claims)))


def test_on_azure_the_approver_is_who_their_token_names_by_object_id(tmp_path, contacts):
    run_dir = waiting_at_the_gates(tmp_path / "failover-1", kind="failover")
    approve(run_dir, "dataverse.gate", by=None, contacts=contacts, signed_in=as_signed_in())
    approval = recorded(run_dir, "dataverse.gate")
    assert approval["approved_by"] == "Indy Example" and approval["role"] == "technical"
    identity = approval["identity"]
    assert (identity["established_by"], identity["matched_on"], identity["listed_as"]) == \
        ("entra token", "object_id", "technical_approvers[0].primary")
    assert identity["entra"] == {"object_id": INDY_OBJECT_ID, "upn": "indy@contoso.example", "tenant_id": TENANT,
                                 "display_name": "Indy Example", "token_id": "AbCdEf123456"}
    assert "bm90LXNpZ25lZA" not in json.dumps(approval)  # the token itself is never recorded


def test_on_azure_an_approver_listed_by_upn_is_matched_by_it_and_by_must_agree(tmp_path, contacts):
    run_dir = waiting_at_the_gates(tmp_path / "failover-2", kind="failover")
    jordan = as_signed_in(oid="99999999-0000-0000-0000-000000000132", upn=JORDAN_UPN.upper(), name="Jordan")
    with pytest.raises(BadInput, match=r"--by: 'Indy Example' is not who is signed in to Entra \(JORDAN"):
        approve(run_dir, "dataverse.gate", by="Indy Example", contacts=contacts, signed_in=jordan)
    assert not (run_dir / "approvals").exists()
    approve(run_dir, "dataverse.gate", by="Jordan Example", contacts=contacts, signed_in=jordan)
    identity = recorded(run_dir, "dataverse.gate")["identity"]
    assert identity["matched_on"] == "upn" and recorded(run_dir, "dataverse.gate")["approved_by"] == "Jordan Example"


@pytest.mark.parametrize("claims, by", [
    ({"oid": "99999999-0000-0000-0000-000000000999", "upn": "mallory@contoso.example"}, None),
    # --by naming a listed approver changes nothing: the token says who is approving.
    ({"oid": "99999999-0000-0000-0000-000000000999", "upn": "mallory@contoso.example"}, "Indy Example"),
    # Finley signs in with her listed upn, but is a business approver: not this gate's role.
    ({"oid": "99999999-0000-0000-0000-000000000121", "upn": "finley.example@example.com"}, None),
], ids=["not listed", "not listed, --by a listed name", "listed in the other role"])
def test_on_azure_an_identity_the_contacts_file_does_not_list_for_the_role_is_refused(tmp_path, contacts, claims, by):
    run_dir = waiting_at_the_gates(tmp_path / "failover-3", kind="failover")
    with pytest.raises(BadInput, match=r"the signed-in Entra identity \S+ \(object id 99999999-.*\) is not listed in "
                                       r"dr/contacts.yaml by object_id or upn as a technical approver"):
        approve(run_dir, "dataverse.gate", by=by, contacts=contacts, signed_in=as_signed_in(**claims))
    assert not (run_dir / "approvals").exists()


def test_on_azure_a_name_without_a_token_is_not_enough(tmp_path, contacts):
    run_dir = waiting_at_the_gates(tmp_path / "failover-4", kind="failover")

    def nobody_signed_in():
        raise BadInput("approving a run on Azure needs your own Entra sign-in (no az): sign in as yourself")

    with pytest.raises(BadInput, match="needs your own Entra sign-in"):
        approve(run_dir, "dataverse.gate", by="Indy Example", contacts=contacts, signed_in=nobody_signed_in)
    assert not (run_dir / "approvals").exists()


def test_the_gate_is_checked_before_anyone_is_asked_to_sign_in(tmp_path, contacts):
    run_dir = make_run(tmp_path / "failover-5", "failover", (Event.RUN_FINISHED, {"outcome": "failed"}))

    def must_not_be_called():
        raise AssertionError("a token was asked for a run that has finished")

    with pytest.raises(BadInput, match="has finished"):
        approve(run_dir, "dataverse.gate", by=None, contacts=contacts, signed_in=must_not_be_called)


def test_the_azure_gate_step_reads_the_approval(tmp_path, contacts):
    from orchestrator.model import GateWaiting
    from orchestrator.targets.azure.data_steps import AzureDataSteps

    run_dir = waiting_at_the_gates(tmp_path / "failover-6", kind="failover")
    steps = AzureDataSteps.__new__(AzureDataSteps)  # only the gate logic is used: no Azure session
    steps.run_dir = run_dir
    gate = Step("dataverse.gate", "dataverse", StepKind.GATE, (), 60)
    with pytest.raises(GateWaiting):
        steps.run(gate, None)
    approve(run_dir, "dataverse.gate", by=None, contacts=contacts, signed_in=as_signed_in())
    outcome = steps.run(gate, None)
    assert outcome.outputs["approved_by"] == "Indy Example"
    assert outcome.evidence["approval"]["identity"]["established_by"] == "entra token"


# -- the command line -----------------------------------------------------------------------------------


def drctl(*argv: str, capsys) -> tuple[int, str, str]:
    from orchestrator.cli.main import main

    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_drctl_approve_says_who_approved_in_which_role_and_how(run_dir, contacts, capsys):
    code, out, err = drctl("approve", str(run_dir), "dataverse.gate", "--by", "Indy Example",
                           "--contacts", str(contacts.path), capsys=capsys)
    assert code == 0, err
    assert out.startswith("dataverse.gate approved by Indy Example (technical approver, named on the command line); "
                          "continue with: drctl resume ")


@pytest.mark.parametrize("case, by, events, words", [
    ("not in the contacts file", "Mallory", [], "drctl: --by: 'Mallory' is not listed in "),
    ("finished run", "Indy Example", [(Event.RUN_FINISHED, {"outcome": "recovered"})], "has finished (recovered"),
], ids=["not in the contacts file", "finished run"])
def test_drctl_approve_refuses_with_one_line_and_exit_2(tmp_path, contacts, capsys, case, by, events, words):
    run_dir = make_run(tmp_path / "drill-7", "drill-local",
                       (Event.STEP_WAITING, {"step": "dataverse.gate", "reason": "waits"}), *events)
    code, out, err = drctl("approve", str(run_dir), "dataverse.gate", "--by", by, capsys=capsys)
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and words in err, err
    assert not (run_dir / "approvals").exists()


def test_a_bad_contacts_file_is_one_line_naming_the_key_and_exit_2(run_dir, tmp_path, capsys):
    document = yaml.safe_load(EXAMPLE.read_text())
    document["technical_approvers"][0]["primary"]["object_id"] = "indy"
    path = tmp_path / "contacts.yaml"
    path.write_text(yaml.safe_dump(document))
    code, _, err = drctl("approve", str(run_dir), "dataverse.gate", "--by", "Indy Example", "--contacts", str(path),
                         capsys=capsys)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert f"{path}: technical_approvers[0].primary.object_id: an Entra object id" in err
    assert not (run_dir / "approvals").exists()


def test_drctl_approve_on_azure_reads_the_token_of_the_persons_own_az_login(tmp_path, monkeypatch, capsys):
    """End to end: the real DefaultAzureCredential chain drctl builds, the Azure CLI answering it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_az(bin_dir, jwt(user_claims()))
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("HOME", str(tmp_path))
    run_dir = waiting_at_the_gates(tmp_path / "failover-7", kind="failover")
    code, out, err = drctl("approve", str(run_dir), "dataverse.gate", "--json", capsys=capsys)  # the repo's contacts
    assert code == 0, err
    document = json.loads(out)
    assert document["approved_by"] == "Indy Example"
    assert document["identity"]["entra"]["object_id"] == INDY_OBJECT_ID
    assert document["identity"]["contacts_sha256"] == hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
