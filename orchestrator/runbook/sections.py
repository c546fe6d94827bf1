"""The runbook's first sections: process requirements, contacts, architecture and dependencies.

Process details and people are the contacts file's; the architecture and the dependencies are read
from the stack's graph (the program under the mock runtime) and the components' DR profiles, the
same ones the plan was built from.
"""

from __future__ import annotations

from collections import Counter

from components.profile import RecoveryAction
from orchestrator.runbook.model import (
    SECTION_TITLES,
    Bullets,
    Context,
    Fields,
    Para,
    Section,
    Subsection,
    Table,
    area_label,
    duration,
    role_row,
)

_CONTACT_HEADERS = ("Role or area", "Primary", "Secondary", "Escalation")


def process_requirements(ctx: Context) -> Section:
    process, contacts = ctx.contacts.process, ctx.contacts
    lead, executor = contacts.dr_lead, contacts.dr_executor
    doc = ctx.document
    return Section(SECTION_TITLES[0], (
        Fields((
            ("Authorisation to start DR", (process.authorisation,)),
            ("Definition of done", (process.definition_of_done,)),
            ("Service support DR ticket", (process.ticket,)),
            ("War room", (process.war_room,)),
            ("Recovery targets", (
                f"RTO {duration(doc['rto_target_s'])} and RPO {duration(doc['rpo_target_s'])} "
                f"(`dataplatform:recovery` in Pulumi.{ctx.stack}.yaml); the plan's critical path is "
                f"{duration(doc['critical_path_s'])} before contingency.",
            )),
        )),
        Subsection("Resource confirmation", (
            Bullets((
                f"DR lead confirmed available: {lead.primary.reach()} (secondary: {lead.secondary.name}).",
                f"DR executor confirmed available: {executor.primary.reach()}; backup executor: "
                f"{executor.secondary.reach()}.",
                f"Leave and on-call checked for everyone in the contact listing: {process.leave_calendar}.",
                "Every role in the contact listing has a primary and a secondary contact and an escalation "
                "point; for a recovery longer than one shift, the DR lead sets a roster for executor and backup.",
            ), checklist=True),
        )),
        Subsection("Equipment and connectivity", (
            Bullets((
                "The DR executor, the backup and every escalation point have a charged laptop, its charger and "
                "backup power (a power bank or a UPS), and a mobile phone whose number is in the contact listing.",
                "A network connection that does not depend on the primary region, and a way into the recovery "
                f"region's hub network ({_hub_name(ctx)}): the data services are reached through private "
                "endpoints only, so the data steps run from a self-hosted runner or jump host in that hub, or "
                "a network peered with it.",
                "This repository checked out at the commit to recover from, with the Pulumi CLI and drctl "
                "installed (`./dev setup`), and access to the Pulumi state backend.",
            ), checklist=True),
        )),
        Subsection("If a process requirement is not met", (Para(process.if_requirements_not_met),)),
    ))


def _hub_name(ctx: Context) -> str:
    name = ctx.graph.outputs.get("vnetName")
    return f"`{name}` in {ctx.config.region}" if isinstance(name, str) else ctx.config.region


def contact_listing(ctx: Context) -> Section:
    c = ctx.contacts

    def group(title: str, entries, note: str = "") -> Subsection:
        rows = tuple(role_row(area_label(entry), entry) for entry in entries)
        blocks = (Para(note),) if note else ()
        return Subsection(title, (*blocks, Table(_CONTACT_HEADERS, rows)))

    leadership = Subsection("DR leadership", (Table(_CONTACT_HEADERS, (
        role_row("DR lead", c.dr_lead),
        role_row("DR executor (secondary: the backup executor)", c.dr_executor),
    )),))
    return Section(SECTION_TITLES[1], (
        Para("From the contacts file (validated when this document was generated). Call the primary first, "
             "the secondary when the primary cannot be reached, and the escalation point when neither can "
             "help in time."),
        leadership,
        group("Business SMEs (test and review the technical recovery)", c.business_smes),
        group("Business owners (service recovery approvers)", c.business_approvers),
        group("Technical owners (technical recovery approvers)", c.technical_approvers),
        group("SME support", c.technical_smes, "The components each SME answers for are the escalation point "
                                               "of those components' steps."),
        group("Downstream systems: operational support", c.downstream_support),
        group("Upstream source systems: operational support", c.upstream_support),
        group("Enterprise shared services", c.shared_services),
        group("External vendors and cloud provider support", (c.microsoft_support, *c.vendors)),
    ))


def architecture(ctx: Context) -> Section:
    config, graph = ctx.config, ctx.graph
    by_key = ctx.resources_by_key
    located = Counter(r["location"] or "global or inside a parent resource" for r in graph.resources)
    rows = []
    for key, profile in ctx.profiles.items():
        count = len(by_key.get(key, []))
        deployed = "nothing (a service Microsoft or a vendor runs)" if profile.recovery_action == RecoveryAction.SAAS \
            else (str(count) if count else "0 on this stack (declared on the paired stack)")
        rows.append((f"{profile.title} (`{key}`)", str(profile.recovery_action),
                     "stateful" if profile.stateful else "stateless", deployed))
    types = Counter(r["type"] for r in graph.resources)
    return Section(SECTION_TITLES[2], (
        Para(f"Redeploy on disaster: the platform is held as code in this repository and deployed by Pulumi, one "
             f"stack per region. On the day, stack `{ctx.stack}` is deployed into {config.region}; every stateful "
             "store is brought back from its backup or geo-redundant copy, checked against what that copy holds, "
             "and caught up by replaying ingestion from its watermark; every component is smoke-tested; people "
             "validate and approve; then the platform is handed over to the solutions it hosts."),
        Fields((
            ("Stack", (f"`{ctx.stack}` ({config.role}), region {config.region}, address space {config.address_space}, "
                       f"name prefix `{config.prefix}` and suffix `{config.name_suffix}`",)),
            ("Paired stack", (f"`{config.paired_stack}` in {config.paired_region} (the region recovered from)",)),
            ("Resources", (f"{len(graph.resources)} in total: "
                           + ", ".join(f"{n} {where}" for where, n in sorted(located.items())),)),
            ("Supporting documentation", (
                "`docs/README.md` (how drctl works: tutorial, how-tos, reference), `docs/design-notes.md` (the "
                "decisions behind the plan and the engine), `docs/reference/config.md` (the stack file's keys)",
                f"`drctl preview --stack {ctx.stack}` (every resource with its physical name and region), "
                f"`drctl posture --stack {ctx.stack}` (service tiers, uplifts, recovery actions), "
                f"`drctl coverage --stack {ctx.stack}` (the DR coverage gate)",
            )),
        )),
        Subsection("Components and services", (
            Table(("Component", "Recovery action", "State", "Resources deployed"), tuple(rows)),
        )),
        Subsection("Resources by type", (
            Table(("Resource type", "Count"), tuple((f"`{t}`", str(n)) for t, n in sorted(types.items()))),
        )),
    ))


def dependencies(ctx: Context) -> Section:
    rows = []
    for key, profile in ctx.profiles.items():
        for dep in profile.depends_on:
            if dep.component not in ctx.profiles:
                continue  # the plan ignores dependencies on components this stack does not have
            waits = "its deploy, and its data for the data steps" if dep.needs_data else "it being ready"
            rows.append((f"`{key}`", f"`{dep.component}`", waits, dep.why))
    sources = tuple(
        (f"{profile.title} (`{key}`)", profile.data_recovery.source, profile.data_recovery.replay)
        for key, profile in ctx.profiles.items() if profile.data_recovery is not None
    )
    gates = [step["id"] for step in ctx.document["steps"] if step["component"] == "platform"]
    return Section(SECTION_TITLES[3], (
        Para("Every edge of the recovery plan comes from a component's DR profile (below, with its reason) or from "
             "a component's own phase order (deploy, then rehydrate, validate, replay, smoke). A step starts as soon "
             "as the steps it depends on are done, so independent components recover in parallel."),
        Table(("Component", "Depends on", "Waits for", "Why"), tuple(rows)),
        Subsection("Where each store's data comes from", (
            Table(("Store", "Recovered from", "Brought up to date by"), sources),
        )),
        Para("The platform's own steps come last: " + ", then ".join(f"`{g}`" for g in gates)
             + " wait for every component's last step, so nothing is handed over before everything is checked."),
    ))
