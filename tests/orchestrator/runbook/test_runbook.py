"""`drctl runbook`: the DR plan document, generated from the plan the engine runs.

The runbook of the real secondary stack is generated once (Markdown, and HTML from a contacts file
full of markup) beside `drctl plan --json` with the same history, so the document can be checked
against the plan step by step: same steps, same order, same estimates. Bad input is exit 2 with
one line, before the program is run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from orchestrator.runbook.contacts import load_contacts
from orchestrator.runbook.model import Bullets, Para, Runbook, Section, Subsection, Table, duration
from orchestrator.runbook.render import render_html, render_markdown

REPO = Path(__file__).resolve().parents[3]
DRCTL = [sys.executable, "-m", "orchestrator.cli"]
TIMEOUT_S = 180

# The seed's DR plan structure (003, "DR plan structure"): every top-level entry, in order.
SEED_SECTIONS = [
    "Process Requirements",
    "Contact Listing",
    "Architecture Design",
    "Dependencies",
    "DR Prerequisites",
    "Technical Recovery - Step-by-Step Instructions",
    "Technical Recovery - Post Requisites",
    "Business Stakeholder Review and Approval",
    "Recovery Post Requisites",
]
STEP_FIELDS = ("Prerequisite", "Detailed actions", "Validation and evidence required", "Expected time",
               "If the step fails", "Escalation")
EVIL_NAME = '<script>alert("x")</script> & <b>Co|op</b>'
SECRET = "SIGNATUREVALUE123456"
# Three Azure failovers measured lake.rehydrate: median 120 s, so the plan says 150 s (2m30s).
HISTORY = [{"run_id": f"r{n}", "kind": "failover", "target": "azure", "outcome": "recovered",
            "finished_at": f"2025-01-0{n}T00:00:00+00:00", "durations_s": {"lake.rehydrate": seconds}}
           for n, seconds in ((1, 100.0), (2, 140.0), (3, 120.0))]


def _env() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("DRCTL_TEST_")}, "NO_COLOR": "1"}


def drctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*DRCTL, *args], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=TIMEOUT_S)


def example_contacts() -> dict:
    return yaml.safe_load((REPO / "dr" / "contacts.yaml").read_text(encoding="utf-8"))


def write_contacts(path: Path, document: dict) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("runbook")
    workdir = root / "work"
    (workdir / "history").mkdir(parents=True)
    (workdir / "history" / "secondary.jsonl").write_text("".join(json.dumps(h) + "\n" for h in HISTORY))
    evil = example_contacts()
    evil["dr_lead"]["primary"]["name"] = EVIL_NAME
    evil["vendors"][0]["primary"]["url"] = f"https://support.example.com/ticket?id=1&sig={SECRET}"
    contacts = write_contacts(root / "evil.yaml", evil)
    html_path = root / "runbook.html"
    runs = {
        "md": ["runbook", "--stack", "secondary", "--workdir", str(workdir)],
        "html": ["runbook", "--stack", "secondary", "--format", "html", "--output", str(html_path),
                 "--contacts", str(contacts), "--workdir", str(workdir)],
        "plan": ["plan", "--stack", "secondary", "--json", "--workdir", str(workdir)],
    }
    # Each runs the whole program under the mock runtime: seconds of CPU, so all at once.
    procs = {key: subprocess.Popen([*DRCTL, *argv], cwd=REPO, env=_env(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for key, argv in runs.items()}
    results = {key: (*proc.communicate(timeout=TIMEOUT_S), proc.returncode) for key, proc in procs.items()}
    for key, (_, err, code) in results.items():
        assert code == 0, f"{key}: {err[-3000:]}"
    return {"md": results["md"][0], "html": html_path.read_text(encoding="utf-8"), "html_stderr": results["html"][1],
            "plan": json.loads(results["plan"][0])}


def step_blocks(markdown: str) -> list[tuple[int, str, str]]:
    """(number, step id, the step's text) for every `### Step N. `id`` heading, in document order."""
    heads = list(re.finditer(r"^### Step (\d+)\. `([^`]+)`.*$", markdown, flags=re.M))
    ends = [m.start() for m in heads[1:]] + [markdown.find("\n## ", heads[-1].end()) if heads else 0]
    return [(int(m.group(1)), m.group(2), markdown[m.start():end]) for m, end in zip(heads, ends, strict=False)]


# -- the document against the seed and the plan --------------------------------------------------------


def test_every_section_of_the_seed_structure_is_a_heading_in_order(generated):
    headings = re.findall(r"^## (.+)$", generated["md"], flags=re.M)
    assert [h for h in headings if h != "Contents"] == SEED_SECTIONS


def test_the_numbered_steps_are_plan_commands_steps_in_order(generated):
    plan_ids = [step["id"] for step in generated["plan"]["steps"]]
    blocks = step_blocks(generated["md"])
    assert [number for number, _, _ in blocks] == list(range(1, len(plan_ids) + 1))
    assert [step_id for _, step_id, _ in blocks] == plan_ids
    assert len(plan_ids) > 20 and {"lake.rehydrate", "platform.gate", "platform.handover"} <= set(plan_ids)


def test_every_step_has_each_part_and_the_plans_estimate(generated):
    by_id = {step["id"]: step for step in generated["plan"]["steps"]}
    for _number, step_id, text in step_blocks(generated["md"]):
        for label in STEP_FIELDS:
            assert f"**{label}:**" in text, (step_id, label)
        expected = re.search(r"\*\*Expected time:\*\* (.+)", text).group(1)
        assert expected.startswith(duration(by_id[step_id]["estimate_s"]) + " ("), (step_id, expected)
        for dep in by_id[step_id]["depends_on"]:
            assert f"(`{dep}`)" in text, (step_id, dep)  # each plan dependency is a stated prerequisite


def test_estimates_come_from_history_with_contingency_said_once(generated):
    steps = dict((sid, text) for _, sid, text in step_blocks(generated["md"]))
    # History: median 120 s + 25% = 150 s; the contingency is in it already, not added twice.
    assert "**Expected time:** 2m30s (history (3 runs, median 120.0s + 25%): contingency included)" in steps["lake.rehydrate"]
    # Profile: lake.deploy's 60 s, plus 25% on top.
    assert "**Expected time:** 1m00s (estimate from the component's profile); with 25% contingency: 1m15s" \
        in steps["lake.deploy"]
    assert "3 azure run(s) recorded" in generated["md"]


def test_steps_say_what_drctl_does_and_whom_to_call(generated):
    steps = dict((sid, text) for _, sid, text in step_blocks(generated["md"]))
    assert "RA-GRS secondary endpoint" in steps["lake.rehydrate"]  # the profile's data source
    assert "`container-counts`" in steps["lake.validate"]  # the profile's data checks
    assert "drctl approve RUN platform.gate --by NAME" in steps["platform.gate"]
    assert "`evidence/lake.smoke.json`" in steps["lake.smoke"]
    assert "drctl resume RUN" in steps["postgres.deploy"]
    assert "Quinn Example" in steps["lake.replay"]  # the SME dr/contacts.yaml names for the lake
    assert "Indy Example" in steps["platform.gate"]  # the technical approver
    assert "`contosolakease`" in generated["md"] and "10.20.2.4" in generated["md"]  # DR names and IPs


def test_html_is_self_contained_parses_and_escapes_the_contacts(generated):
    page = generated["html"]

    class Collect(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.tags, self.h2, self.text, self.links, self._in_h2 = [], [], [], [], False

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            self.links += [value for name, value in attrs if name in ("href", "src")]
            self._in_h2 = tag == "h2"
            if self._in_h2:
                self.h2.append("")

        def handle_endtag(self, tag):
            self._in_h2 = False if tag == "h2" else self._in_h2

        def handle_data(self, data):
            self.text.append(data)
            if self._in_h2:
                self.h2[-1] += data

    parser = Collect()
    parser.feed(page)
    parser.close()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert [h for h in parser.h2 if h != "Contents"] == SEED_SECTIONS
    assert not {"script", "b", "link", "img", "iframe"} & set(parser.tags)  # the contact's markup stayed text
    assert all(link.startswith("#") for link in parser.links)  # nothing fetched, only in-page anchors
    assert EVIL_NAME in "".join(parser.text)  # shown as written once unescaped by the parser
    assert len(re.findall(r'<section id="step-\d+" class="step">', page)) == len(generated["plan"]["steps"])
    assert SECRET not in page  # a SAS-like signature in the contacts is redacted on the way out
    assert "runbook:" in generated["html_stderr"]


def test_markdown_and_html_escape_markup_and_table_pipes():
    book = Runbook(title="T <i>", stack="s", intro=(Para("a <b>bold</b> `x<y>`"),), sections=(
        Section("S", (Table(("h",), (("p|q <br>",),)), Bullets(("*star*",)), Subsection("U & V", ())),),))
    markdown = render_markdown(book)
    assert "a &lt;b&gt;bold&lt;/b&gt; `x<y>`" in markdown  # markup neutralised; code kept verbatim
    assert "| p\\|q &lt;br&gt; |" in markdown and "\\*star\\*" in markdown
    page = render_html(book)
    assert "a &lt;b&gt;bold&lt;/b&gt; <code>x&lt;y&gt;</code>" in page
    assert "<td>p|q &lt;br&gt;</td>" in page and "<title>T &lt;i&gt;</title>" in page and "U &amp; V" in page


# -- the contacts file -----------------------------------------------------------------------------------


def test_the_example_contacts_are_valid_and_obviously_placeholders():
    contacts = load_contacts(REPO / "dr" / "contacts.yaml")
    people = [contacts.dr_lead, contacts.dr_executor, contacts.microsoft_support]
    for group in ("business_approvers", "technical_approvers", "business_smes", "technical_smes",
                  "upstream_support", "downstream_support", "shared_services", "vendors"):
        people += list(getattr(contacts, group))
    for role in people:
        for person in (role.primary, role.secondary, role.escalation):
            assert person.email is None or person.email.endswith("@example.com"), person
            assert person.url or person.name.endswith(" Example"), person
            assert person.phone is None or person.phone.startswith("+61 2 5550 "), person
    assert contacts.sme_for("lake") is not None and contacts.sme_for("no_such_component") is None


def _broken(change) -> dict:
    document = example_contacts()
    change(document)
    return document


BAD_CONTACTS = [
    ("missing role", lambda d: d.pop("dr_executor"), "dr_executor"),
    ("missing secondary", lambda d: d["dr_lead"].pop("secondary"), "dr_lead.secondary"),
    ("unreachable person", lambda d: d["dr_lead"].__setitem__("primary", {"name": "Nobody Example"}),
     "dr_lead.primary: give a phone, email or url"),
    ("misspelt key", lambda d: d.__setitem__("dr_leed", d["dr_lead"]), "dr_leed: unknown key"),
    ("bad phone", lambda d: d["business_smes"][0]["primary"].__setitem__("phone", "call me"),
     "business_smes[0].primary.phone"),
    ("unknown component", lambda d: d["technical_smes"][1]["components"].append("lakes"),
     "technical_smes[1].components: unknown component 'lakes'"),
    ("no approver", lambda d: d.__setitem__("business_approvers", []), "business_approvers"),
]


@pytest.mark.parametrize("case, change, words", BAD_CONTACTS, ids=[case[0] for case in BAD_CONTACTS])
def test_a_bad_contacts_file_is_one_line_naming_file_and_key_exit_2(tmp_path, case, change, words):
    path = write_contacts(tmp_path / "contacts.yaml", _broken(change))
    out = tmp_path / "runbook.md"
    result = drctl("runbook", "--stack", "secondary", "--contacts", str(path), "--output", str(out))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"drctl: {path}: ") and words in lines[0], lines[0]
    assert not out.exists() and result.stdout == ""


@pytest.mark.parametrize("argv, words", [
    (["--stack", "nosuchstack"], "--stack: unknown stack 'nosuchstack'"),
    (["--stack", "secondary", "--format", "pdf"], "'pdf' is not one of 'md', 'html'"),
    (["--stack", "secondary", "--contacts", "/nonexistent/contacts.yaml"], "--contacts: no contacts file"),
    (["--stack", "secondary", "--contacts", "README.md"], "README.md: "),
    (["--stack", "secondary", "--output", "/nonexistent/dir/runbook.md"], "--output: no folder"),
], ids=["unknown stack", "pdf", "missing contacts", "not a contacts file", "output folder"])
def test_bad_input_is_one_line_exit_2(argv, words):
    result = drctl("runbook", *argv)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("drctl: ") and words in lines[0], result.stderr
    assert result.stdout == ""


# -- what `drctl status` can prove: only the steps drctl exercises on Azure --------------------------------

# The secondary stack's steps drctl has no Azure implementation of: PostgreSQL validation (no manifest
# of the geo-restore's point), the replays no pipeline performs. (The SaaS services' readiness checks run.)
NOT_EXERCISED_ON_AZURE = {"postgres.validate", "postgres.replay", "event_hubs.replay"}


def _validation_of(text: str) -> str:
    return text.split("**Validation and evidence required:**", 1)[1].split("**Expected time:**", 1)[0]


def test_only_steps_drctl_exercises_are_called_verified_by_drctl_status(generated):
    steps = dict((sid, text) for _, sid, text in step_blocks(generated["md"]))
    assert set(steps) >= NOT_EXERCISED_ON_AZURE
    for sid, text in steps.items():
        claims_success = f"`drctl status RUN` shows `{sid}` succeeded" in text
        by_hand = "Not exercised by drctl on Azure: confirm by hand: " in _validation_of(text)
        if sid in NOT_EXERCISED_ON_AZURE:
            assert not claims_success and by_hand, sid
            assert "succeeded" not in _validation_of(text), sid
        else:
            assert claims_success, sid
    # Exercised: the lake's recovery. Not exercised: PostgreSQL's validation, said what to check instead.
    assert "`drctl status RUN` shows `lake.rehydrate` succeeded" in steps["lake.rehydrate"]
    assert "confirm by hand: the recovered Azure Database for PostgreSQL flexible server matches its copy: " \
           "`row-counts`" in _validation_of(steps["postgres.validate"])
    # Every smoke check of Event Hubs runs on Azure: nothing of its smoke step is left to a person, and
    # a SaaS service's readiness check is drctl's too.
    assert "confirm by hand" not in _validation_of(steps["event_hubs.smoke"])
    assert "`drctl status RUN` shows `entra_id.smoke` succeeded" in steps["entra_id.smoke"]


def test_the_gate_names_the_steps_left_to_a_person(generated):
    gate = dict((sid, text) for _, sid, text in step_blocks(generated["md"]))["platform.gate"]
    assert "shows every earlier step succeeded" not in gate
    assert f"the {len(NOT_EXERCISED_ON_AZURE)} step(s) drctl does not exercise on Azure" in gate
    for sid in NOT_EXERCISED_ON_AZURE:
        assert f"(`{sid}`)" in gate, sid


def test_the_runbooks_azure_rules_match_the_azure_data_steps_dispatch():
    """exercise.py restates AzureDataSteps.run's store handlers: run the real dispatch to pin them."""
    from components.profile import RecoveryAction
    from orchestrator.model import Step, StepKind, StepOutcome
    from orchestrator.runbook import exercise
    from orchestrator.stack import load_stack
    from orchestrator.targets.azure.data_steps import NOT_YET, AzureDataSteps
    from orchestrator.targets.azure.stores.replay import REPLAYED_BY_PIPELINE

    assert set(REPLAYED_BY_PIPELINE) == exercise.REPLAYED_BY_PIPELINE
    # A thin double: the instance without its Azure session, every store handler answering "ran".
    ran = StepOutcome(evidence={"ran": True})
    steps = object.__new__(AzureDataSteps)
    handler = lambda *args, **kwargs: ran  # noqa: E731
    steps.lake = type("Lake", (), {"rehydrate": handler, "validate": handler})()
    steps.explorer = type("Explorer", (), {"rehydrate": handler, "validate": handler})()
    for name in ("postgres_rehydrate", "postgres_validate", "sql_rehydrate", "cosmos_validate", "validate_checks"):
        setattr(steps, name, handler)
    steps.profiles = {p.key: p for p in load_stack(REPO, "reference").profiles_by_key.values()}
    for key, profile in steps.profiles.items():
        if profile.recovery_action == RecoveryAction.SAAS:
            continue
        for kind, rule in ((StepKind.REHYDRATE, lambda k, _p: k in exercise.REHYDRATED),
                           (StepKind.VALIDATE, exercise.validated_on_azure)):
            outcome = steps.run(Step(f"{key}.{kind}", key, kind, (), 1.0), context=None)
            assert (outcome is ran) == rule(key, profile), (key, kind)
            assert outcome is ran or outcome.evidence["note"] == NOT_YET
