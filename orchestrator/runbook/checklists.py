"""The runbook's checklists around the technical recovery: prerequisites before it; post requisites,
the business review and sign-off, and the recovery's post requisites after it.

The preflight checks listed are the ones `drctl failover` runs (planned_preflight in
orchestrator/targets/azure/optional.py); the data timestamps are the evidence fields the steps
record; the DR names and endpoints are the stack's outputs under the mock runtime
(components/naming.py builds them), so they are known before anything is deployed. Private
endpoint addresses are not: Azure assigns them at deploy time.
"""

from __future__ import annotations

from components import naming
from components.profile import RecoveryAction
from orchestrator.model import StepKind
from orchestrator.plan.recovery import BUSINESS_GATE
from orchestrator.runbook.model import (
    RUN,
    SECTION_TITLES,
    Bullets,
    Context,
    Fields,
    Para,
    Section,
    Subsection,
    Table,
    chain,
    names,
)

_BLANK = "________________"
# Output keys that name an endpoint a person or a downstream system connects to.
_ENDPOINT_SUFFIXES = ("Endpoint", "Uri", "Url", "Fqdn", "HostName", "Hostname")


def _stores(ctx: Context):
    return [(key, p) for key, p in ctx.profiles.items() if p.stateful and p.recovery_action != RecoveryAction.SAAS]


def prerequisites(ctx: Context) -> Section:
    config, c = ctx.config, ctx.contacts
    upstream = [f"{profile.title}: {profile.data_recovery.replay}" for _, profile in _stores(ctx)
                if profile.data_recovery is not None]
    saas = [p.title for p in ctx.profiles.values() if p.recovery_action == RecoveryAction.SAAS]
    checks = tuple((f"`{check['id']}`", check["title"], f"`{check['calls']}`") for check in ctx.preflight_checks)
    blocks = [
        Subsection("Upstream source systems are available", (
            Para("Replay brings each store up to date from its sources; they must be able to send again from the "
                 "recovered watermark. Confirm with upstream support (" + ", ".join(e.area for e in c.upstream_support)
                 + ") for each of:"),
            Bullets(tuple(upstream) or ("No store of this stack replays from a source.",), checklist=True),
        )),
        Subsection("Elevated access for the DR executors", (
            Bullets((
                f"The DR executor and the backup can deploy into the subscription of stack `{ctx.stack}` "
                f"(`azure-native:subscriptionId` in Pulumi.{ctx.stack}.yaml, or ARM_SUBSCRIPTION_ID / "
                "AZURE_SUBSCRIPTION_ID), granted by " + ", ".join(e.area for e in c.shared_services[:1]) + ".",
                "drctl gets its Azure token through DefaultAzureCredential: `az login`, a service principal "
                "(AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET) or workload identity.",
                "The Pulumi CLI is on PATH (or at DRCTL_PULUMI_COMMAND), and the stack's state backend is one that "
                "survives the loss of the primary region (Pulumi Cloud, or a storage account outside it).",
            ), checklist=True),
        )),
        Subsection("Azure services are available", (
            Para(f"In {config.region}, and the services the platform relies on without deploying them: "
                 + (", ".join(saas) or "none") + ". Azure Service Health in the portal is the place to look during "
                 "an incident. `drctl preflight` checks the following (drctl failover runs it first and stops "
                 "before deploying anything when it is blocked, each finding with its fix and its RPO consequence):"),
            Table(("Check", "What it checks", "How"), checks) if checks else Para(ctx.preflight_note or "None listed."),
            Bullets((f"`drctl preflight --stack {ctx.stack}` exits 0.",
                     f"`drctl failover --stack {ctx.stack} --dry-run` shows the plan this runbook was made from."),
                    checklist=True),
        )),
        Subsection("If a prerequisite is not met", (Para(c.process.if_prerequisites_not_met),)),
    ]
    return Section(SECTION_TITLES[4], tuple(blocks))


def _endpoints(ctx: Context) -> list[tuple[str, str]]:
    outputs, config = ctx.graph.outputs, ctx.config
    rows = [(f"`{key}`", f"`{value}`") for key, value in sorted(outputs.items())
            if isinstance(value, str) and (key.endswith(_ENDPOINT_SUFFIXES) or "://" in value)]
    if config.enabled("postgres") and not outputs.get("postgresFqdn"):
        # Azure reports the FQDN once the server exists; its form follows from the name alone.
        server = naming.postgres_server_name(config.prefix, config.name_suffix)
        rows.append(("PostgreSQL server (from its name)", f"`{server}.postgres.database.azure.com`"))
    return rows


def post_requisites(ctx: Context) -> Section:
    config, c = ctx.config, ctx.contacts
    step_ids = {step["id"] for step in ctx.document["steps"]}
    stamps = []
    for key, profile in _stores(ctx):
        found = [f"`evidence/{key}.{kind}.json`" for kind in (StepKind.REHYDRATE, StepKind.REPLAY)
                 if f"{key}.{kind}" in step_ids]
        stamps.append((f"{profile.title} (`{key}`)", ", ".join(found) + " and `report.md`", _BLANK))
    names_rows = [(r["type"].rsplit(":", 1)[-1], f"`{r['physical_name']}`") for r in ctx.graph.resources
                  if r["physical_name"] and r["type"].endswith((":StorageAccount", ":Server", ":Namespace", ":Factory",
                                                                  ":Vault", ":VirtualNetwork"))]
    firewall = ctx.graph.outputs.get("firewallPrivateIp")
    zones = ctx.graph.outputs.get("privateDnsZoneIds") or {}
    group = naming.resource_group_name(config.prefix, "connectivity", config.name_suffix)
    return Section(SECTION_TITLES[6], (
        Subsection("Confirm the data timestamp of each store", (
            Para("The recovered data timestamp is the rehydrate step's `recovered_data_timestamp`; after replay the "
                 "store holds data up to its new watermark. Record both in the DR ticket."),
            Table(("Store", "Where drctl records it", "Recorded timestamp (UTC)"), tuple(stamps)),
        )),
        Subsection("Confirm the DR system's URLs and names", (
            Para("From the stack's own outputs, known before deployment (names follow components/naming.py)."),
            Table(("Output", "Value"), tuple(_endpoints(ctx))),
            Table(("Resource", "Name"), tuple(names_rows)),
        )),
        Subsection("Confirm the DR system's IP addresses", (
            Bullets(tuple(line for line in (
                f"Address space of the recovery network: {config.address_space}.",
                f"Azure Firewall private address (the next hop of the hub's routes): {firewall}." if firewall else "",
                "Private endpoint addresses are assigned by Azure when the endpoints are created: after the deploy, "
                f"read them from the A records of the private DNS zones in `{group}` (`az network private-dns "
                f"record-set a list -g {group} -z ZONE`; zones: " + ", ".join(f"`{z.rsplit('/', 1)[-1]}`" for z in
                                                                              zones.values()) + ") and record them here.",
            ) if line), checklist=True),
        )),
        Subsection("Prepare for the business stakeholder review", (
            Bullets((
                f"The business SMEs ({names(tuple(e.primary for e in c.business_smes))}) can reach the recovered "
                "platform through the endpoints above.",
                "They have the recorded data timestamps, so they know which data to expect.",
                "The review is booked with the business approvers "
                f"({names(tuple(e.primary for e in c.business_approvers))}).",
            ), checklist=True),
        )),
    ))


def business_review(ctx: Context) -> Section:
    c = ctx.contacts
    numbers = ctx.numbers
    validations = [f"{profile.title}: holds data up to the timestamp recorded in the post requisites "
                   f"(checked against its copy by {ctx.step_ref(f'{key}.{StepKind.VALIDATE}')})."
                   if f"{key}.{StepKind.VALIDATE}" in numbers else
                   f"{profile.title}: holds the data its consumers expect after replay."
                   for key, profile in _stores(ctx)]
    gate = (f"The business gate, {ctx.step_ref(BUSINESS_GATE)}, waits for this approval: "
            f"`drctl approve {RUN} {BUSINESS_GATE} --by NAME --note \"...\"`, then `drctl resume {RUN}`."
            if BUSINESS_GATE in numbers else
            f"Record the approval in the DR ticket and keep it with the run's evidence (`{RUN}`).")
    signers = [(f"Business approver: {e.area}", e.primary.name) for e in c.business_approvers]
    signers += [(f"Technical approver: {e.area}", e.primary.name) for e in c.technical_approvers]
    signers.append(("DR lead", c.dr_lead.primary.name))
    return Section(SECTION_TITLES[7], (
        Fields((
            ("Business contacts", tuple(chain(e, e.area) for e in (*c.business_approvers, *c.business_smes))),
            ("Business validation steps", (*tuple(validations), "Each business SME runs the checks of the solutions they own (reports, queries, extracts) against " "the DR system and tells the approvers the result.")),
            ("Evidence trail", (
                "The technical approval: `approvals/platform.gate.json` in the run directory.", gate,
                f"The run's `report.md`, and `drctl verify-evidence {RUN}` exiting 0, attached to the DR ticket "
                f"({c.process.ticket}).")),
        )),
        Subsection("Sign-off", (
            Table(("Role", "Name", "Decision (approve / reject)", "Date and time", "Evidence reference"),
                  tuple((role, name, _BLANK, _BLANK, _BLANK) for role, name in signers)),
        )),
    ))


def recovery_post(ctx: Context) -> Section:
    c = ctx.contacts
    # A profile that says how its scheduled processing restarts (Data Factory's triggers) says it here too.
    notes = [note.rstrip(".") for profile in ctx.profiles.values() for note in profile.notes if "trigger" in note.lower()]
    return Section(SECTION_TITLES[8], (
        Bullets((
            "Hand over to operational support to run the data processes that bring the platform up to date from "
            "the recorded timestamps" + (f" ({'; '.join(notes)})" if notes else "") + ".",
            "Hand over to the downstream processes and solutions (" + ", ".join(e.area for e in c.downstream_support)
            + "), confirming the recovered data timestamps and the DR system's connection details above.",
            f"Confirm with the DR lead ({c.dr_lead.primary.name}) that the recovery is complete: the evidence trail "
            f"(`drctl verify-evidence {RUN}`), this runbook completed, and the sign-off table filled in.",
            "Tell security administration (" + ", ".join(e.area for e in c.shared_services[:1]) + ") that the DR "
            "team's elevated access can be removed.",
            f"Later, when the primary region is back: `drctl fallback --stack {ctx.config.paired_stack} --dry-run` "
            "prints the fallback plan.",
        ), checklist=True),
    ))
