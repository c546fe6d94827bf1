"""Who may approve a gate, and who is approving it: what `drctl approve` records besides the time.

The people who may approve are the contacts file's (`dr/contacts.yaml`, validated by
orchestrator/runbook/contacts.py), by the gate's role:

- `platform.gate`, the technical gate (in a fallback: the approval to switch back), and a service's
  own gate (`<service>.gate`: a person confirms that a SaaS service with no readiness API is
  available) need a technical approver: an entry of `technical_approvers`. A service's own gate
  may also be confirmed by the technical SME whose `components` list the service: reading a
  vendor's status page is a technical check, and the runbook names that SME for the service's steps;
- `platform.business-gate` needs a business approver: an entry of `business_approvers`.

Any of an entry's people (primary, secondary, escalation) may approve: the escalation point is
who decides when the other two cannot.

How the approver is known depends on where the run is. On Azure (a failover, an Azure fallback or
a rehearsal there) it is from their own Entra token (orchestrator/targets/azure/signed_in.py),
matched to the contacts file by `object_id` (preferred: it never changes, where a UPN can be
reassigned) or `upn`; `--by` is optional there and must name the same person if given. Locally (a
drill with --require-approval) `--by` names them, matched to a name, e-mail or UPN in the file.
The record says which it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from orchestrator.errors import BadInput
from orchestrator.model import Step
from orchestrator.plan.recovery import BUSINESS_GATE, PLATFORM
from orchestrator.runbook.contacts import AreaContact, Contacts, Person, load_contacts
from orchestrator.targets.azure.signed_in import EntraIdentity, signed_in_person

AZURE_KINDS = frozenset({"failover", "fallback-azure"})  # run.json kinds of runs on Azure
ENTRA_TOKEN = "entra token"
NAMED = "named on the command line"
_SLOTS = ("primary", "secondary", "escalation")


class Role(StrEnum):
    TECHNICAL = "technical"
    BUSINESS = "business"


@dataclass(frozen=True)
class ContactsFile:
    """The validated contacts file, how to name it in a message, and its digest for the record."""

    contacts: Contacts
    path: Path
    shown_as: str
    sha256: str


def read_contacts_file(path: Path, shown_as: str | None = None) -> ContactsFile:
    """The contacts file; BadInput (one line naming the file and the key) when it is bad."""
    contacts = load_contacts(path, shown_as)
    return ContactsFile(contacts, Path(path), shown_as or str(path), hashlib.sha256(Path(path).read_bytes()).hexdigest())


@dataclass(frozen=True)
class Listed:
    person: Person
    listed_as: str  # where in the contacts file, e.g. technical_approvers[0].primary


@dataclass(frozen=True)
class Approver:
    """A person the contacts file lists for the gate's role, and how drctl knows it is them."""

    listed: Listed
    role: Role
    established_by: str  # ENTRA_TOKEN or NAMED
    matched_on: str  # object_id, upn, name or email
    entra: EntraIdentity | None = None

    @property
    def name(self) -> str:
        return self.listed.person.name

    def record(self, contacts: ContactsFile) -> dict[str, Any]:
        """What the approval file says of the approver, besides `approved_by` (their listed name)."""
        identity: dict[str, Any] = {"established_by": self.established_by, "matched_on": self.matched_on,
                                    "listed_as": self.listed.listed_as, "contacts_sha256": contacts.sha256}
        if self.entra is not None:
            identity["entra"] = self.entra.record()
        return {"role": str(self.role), "identity": identity}


def on_azure(run: dict[str, Any]) -> bool:
    """A run whose gates a person on Azure approves; anything else is a local run."""
    return (run.get("kind") in AZURE_KINDS or run.get("target") == "azure"
            or run.get("rehearsal_target") == "azure")


def gate_role(step: Step) -> Role:
    return Role.BUSINESS if step.id == BUSINESS_GATE else Role.TECHNICAL


def who_may_approve(contacts: Contacts, step: Step) -> list[Listed]:
    """Everyone the contacts file lets approve `step`, in file order."""
    role = gate_role(step)
    group = "business_approvers" if role == Role.BUSINESS else "technical_approvers"
    listed = [*_people(group, getattr(contacts, group))]
    if step.component != PLATFORM:  # a service's own gate: its SME may confirm it too
        listed += _people("technical_smes", contacts.technical_smes, lambda e: step.component in e.components)
    return listed


def identify_approver(run: dict[str, Any], step: Step, contacts: ContactsFile, *, by: str | None,
                      signed_in: Callable[[], EntraIdentity] | None = None) -> Approver:
    """The approver of `step`; BadInput (one line) when they may not approve it or are not who they say.
    `signed_in`: who holds the Entra token (default: the person's own credential), for runs on Azure."""
    by = by if by is not None and by.strip() else None
    listed, role = who_may_approve(contacts.contacts, step), gate_role(step)
    who_may = _who_may(step, role, listed)
    if on_azure(run):
        identity = (signed_in or signed_in_person)()
        found = _by_entra(listed, identity)
        if found is None:
            raise BadInput(f"the signed-in Entra identity {identity.shown()} is not listed in {contacts.shown_as} "
                           f"by object_id or upn as {who_may}")
        match, matched_on = found
        if by is not None and _by_name(by, [match]) is None:
            raise BadInput(f"--by: {by.strip()!r} is not who is signed in to Entra ({identity.shown()}, "
                           f"listed as {match.person.name})")
        return Approver(match, role, ENTRA_TOKEN, matched_on, identity)
    if by is None:
        raise BadInput(f"--by: name the person approving, as {contacts.shown_as} lists them ({who_may})")
    found = _by_name(by, listed)
    if found is None:
        raise BadInput(f"--by: {by.strip()!r} is not listed in {contacts.shown_as} as {who_may}")
    match, matched_on = found
    return Approver(match, role, NAMED, matched_on)


def _people(group: str, entries: tuple[AreaContact, ...],
            keep: Callable[[AreaContact], bool] = lambda entry: True) -> list[Listed]:
    return [Listed(getattr(entry, slot), f"{group}[{index}].{slot}")
            for index, entry in enumerate(entries) if keep(entry) for slot in _SLOTS]


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def _by_name(by: str, listed: list[Listed]) -> tuple[Listed, str] | None:
    wanted = _normal(by)
    for entry in listed:
        for field in ("name", "email", "upn"):
            value = getattr(entry.person, field)
            if value and _normal(value) == wanted:
                return entry, field
    return None


def _by_entra(listed: list[Listed], identity: EntraIdentity) -> tuple[Listed, str] | None:
    # Object ids first: a listing by object id wins over another person's by a (reassigned) UPN.
    for entry in listed:
        if entry.person.object_id and entry.person.object_id == identity.object_id:
            return entry, "object_id"
    for entry in listed:
        if entry.person.upn and identity.upn and _normal(entry.person.upn) == _normal(identity.upn):
            return entry, "upn"
    return None


def _who_may(step: Step, role: Role, listed: list[Listed]) -> str:
    names = ", ".join(dict.fromkeys(entry.person.name for entry in listed))
    what = f"a {role} approver"
    if step.component != PLATFORM:
        what += f" or a technical SME for {step.component}"
    return f"{what}, which {step.id} needs (who may: {names})"
