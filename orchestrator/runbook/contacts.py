"""The people a DR runbook names: read from a contacts file in the repository (`dr/contacts.yaml`).

The runbook's contact listing, its per-step escalation and its sign-off table all come from this
one file, validated here so that a typo (a missing phone number, a misspelt role, an SME covering
a component that does not exist) is refused with one line naming the file and the key, instead of
surfacing as a blank cell in a document someone reads during an outage.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from orchestrator.errors import BadInput

DEFAULT_CONTACTS = Path("dr") / "contacts.yaml"

_PHONE_CHARS = set("+0123456789 ()-.")
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


class _Strict(BaseModel):
    # A key the model does not know is a typo until proven otherwise: refuse it.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Person(_Strict):
    """One way to reach someone (or a support channel): at least one of phone, email or url.
    `object_id` and `upn`: their Entra identity, by which `drctl approve` knows an approver on Azure
    (orchestrator/run/approvers.py)."""

    name: str = Field(min_length=1)
    title: str | None = None
    phone: str | None = None
    email: str | None = None
    url: str | None = None
    object_id: str | None = None
    upn: str | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and (not set(value) <= _PHONE_CHARS or sum(c.isdigit() for c in value) < 6):
            raise ValueError("a phone number: digits, spaces and + ( ) - . only, at least 6 digits")
        return value

    @field_validator("email", "upn")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None:
            local, _, domain = value.partition("@")
            if not local or "." not in domain or any(c.isspace() for c in value):
                raise ValueError("an address of the form name@domain")
        return value

    @field_validator("object_id")
    @classmethod
    def _object_id(cls, value: str | None) -> str | None:
        if value is not None and not _GUID.fullmatch(value):
            raise ValueError("an Entra object id (a GUID, e.g. 00000000-0000-0000-0000-000000000000)")
        return value.lower() if value is not None else None

    @model_validator(mode="after")
    def _reachable(self) -> Person:
        if not (self.phone or self.email or self.url):
            raise ValueError("give a phone, email or url: a contact nobody can reach is no contact")
        return self

    def reach(self) -> str:
        """The person on one line: name (title), then every way to reach them."""
        who = f"{self.name} ({self.title})" if self.title else self.name
        ways = [way for way in (self.phone, self.email, self.url) if way]
        return f"{who}: {', '.join(ways)}"

    def short(self) -> str:
        """Name and the first way to reach them: enough inside a step, the listing has the rest."""
        return f"{self.name} ({self.phone or self.email or self.url})"


class RoleContact(_Strict):
    """A role filled twice over, as the seed asks: who to call first, who next, who to escalate to."""

    primary: Person
    secondary: Person
    escalation: Person


class AreaContact(RoleContact):
    """A role held per area (a system, a solution, a vendor). `components`: the DR profile keys an
    SME covers, so the runbook can name them as the escalation point of those components' steps."""

    area: str = Field(min_length=1)
    components: tuple[str, ...] = ()


class Process(_Strict):
    """The organisation's own DR process details that no code can derive."""

    authorisation: str = Field(min_length=1)
    definition_of_done: str = Field(min_length=1)
    ticket: str = Field(min_length=1)
    war_room: str = Field(min_length=1)
    leave_calendar: str = Field(min_length=1)
    if_requirements_not_met: str = Field(min_length=1)
    if_prerequisites_not_met: str = Field(min_length=1)


class Contacts(_Strict):
    process: Process
    dr_lead: RoleContact
    dr_executor: RoleContact  # primary runs the recovery; secondary is the backup executor
    business_approvers: tuple[AreaContact, ...] = Field(min_length=1)
    technical_approvers: tuple[AreaContact, ...] = Field(min_length=1)
    business_smes: tuple[AreaContact, ...] = Field(min_length=1)
    technical_smes: tuple[AreaContact, ...] = Field(min_length=1)
    upstream_support: tuple[AreaContact, ...] = Field(min_length=1)
    downstream_support: tuple[AreaContact, ...] = Field(min_length=1)
    shared_services: tuple[AreaContact, ...] = Field(min_length=1)
    microsoft_support: AreaContact
    vendors: tuple[AreaContact, ...] = ()

    def sme_for(self, component: str) -> AreaContact | None:
        """The first technical SME entry that lists `component`, or None."""
        return next((sme for sme in self.technical_smes if component in sme.components), None)


def known_component_keys() -> set[str]:
    """Every DR profile key drctl knows: the platform's components, the optional services and the
    SaaS catalog. A contacts file serves every stack, so it is checked against all of them."""
    from components.catalog import CATALOG
    from components.registry import SERVICES

    keys = {spec.profile.key for spec in SERVICES}
    return keys | {profile.key for profile in CATALOG}


def _key_path(location: tuple[Any, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def load_contacts(path: Path, shown_as: str | None = None) -> Contacts:
    """The validated contacts file; BadInput naming the file (as `shown_as`) and the key otherwise."""
    name = shown_as or str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"--contacts: no contacts file at {name} (dr/contacts.yaml in the repository is the example)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{name}: cannot be read ({exc.__class__.__name__})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise BadInput(f"{name}: not valid YAML{where}") from None
    if not isinstance(raw, dict):
        raise BadInput(f"{name}: (top level): a mapping of roles is expected")
    try:
        contacts = Contacts.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = "unknown key" if error.get("type") == "extra_forbidden" else str(error.get("msg", "invalid"))
        raise BadInput(f"{name}: {_key_path(tuple(error.get('loc', ())))}: {message.removeprefix('Value error, ')}") from None
    known = known_component_keys()
    for index, sme in enumerate(contacts.technical_smes):
        for unknown in [key for key in sme.components if key not in known]:
            raise BadInput(f"{name}: technical_smes[{index}].components: unknown component {unknown!r} "
                           f"(a DR profile key, e.g. lake, postgres, entra_id)")
    return contacts
