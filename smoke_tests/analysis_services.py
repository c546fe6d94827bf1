"""Azure Analysis Services server: the smoke and data checks its DR profile declares (components/analysis_services.py).

- smoke `analysis-server-succeeded`: ARM says the server's state is Succeeded (Paused is a verdict:
  a paused server serves no query until someone resumes it);
- data `model-refresh`: each model's latest refresh succeeded, read through Analysis Services'
  asynchronous refresh REST API (GET https://{region}.asazure.windows.net/servers/{server}/models/
  {model}/refreshes), with an Entra token for https://*.asazure.windows.net/.default. The region
  and server come from the server's ARM `serverFullName` (asazure://{region}.asazure.windows.net/
  {server}). That API wants the caller to be a server administrator (aasAdministrators).
  https://learn.microsoft.com/azure/analysis-services/analysis-services-async-refresh

Dropped from the profile: `xmla-connect`. Connecting over XMLA takes ADOMD.NET (or AMO/TOM), .NET
libraries with no Python client: no Python package speaks Azure Analysis Services' XMLA-over-HTTP,
and Microsoft documents no REST query endpoint for it (the REST API covers refresh and
replica sync only). pythonnet would need the .NET runtime and those assemblies on every runner.
The data plane is still proved on the day: `model-refresh` calls the server's own endpoint with the
administrator's token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, PermanentError, TransientError, data, smoke
from smoke_tests.probe import IN_PROGRESS, ServiceProbe, provisioned

COMPONENT = "analysis_services"
SERVER = "azure-native:analysisservices:ServerDetails"
SCOPE = "https://*.asazure.windows.net/.default"
# The refresh API's statuses: notStarted, inProgress, timedOut, cancelled, failed, succeeded.
STILL_RUNNING = frozenset({"notStarted", "inProgress"})
ARM_DOUBLE = TRANSPORT_DOUBLE + "the server's ARM GET: no Microsoft.AnalysisServices example payload is kept with the specs"
REFRESH_DOUBLE = TRANSPORT_DOUBLE + ("the asynchronous refresh REST API's answers: it is not in the Azure REST API "
                                     "specs, so no example payload exists")


def analysis_server_succeeded(probe: ServiceProbe) -> dict:
    return provisioned(probe, SERVER, "state", coming=IN_PROGRESS | {"Preparing"})


def refresh_endpoint(probe: ServiceProbe) -> tuple[str, str]:
    """(https://{region}.asazure.windows.net, server name) from the server's ARM serverFullName."""
    full_name = str(probe.properties(SERVER).get("serverFullName") or "")
    parts = urlsplit(full_name)
    server = parts.path.strip("/")
    if parts.scheme != "asazure" or not parts.netloc or not server:
        raise PermanentError(f"{COMPONENT}: ARM gives the server no asazure:// serverFullName",
                             {"serverFullName": full_name or None})
    return f"https://{parts.netloc}", server


def model_refresh(probe: ServiceProbe) -> tuple[list[str], dict]:
    """Every model's latest refresh (by start time) succeeded.

    The models come from the baseline (`probe.baseline["model-refresh"]`: `{"models": {name: status}}`
    or a list of names, as recorded of the primary or listed with its .abf backups): the REST API
    cannot list a server's models (that takes XMLA), and the settings name none. Without a baseline
    nothing can be judged, which is a mismatch, not a pass. A refresh still running, with nothing
    else wrong, is worth another attempt (TransientError)."""
    models = _models(probe.baseline.get("model-refresh"))
    if not models:
        return ["no model to check: the settings name none and no baseline recorded the server's models "
                "(model-refresh: {\"models\": [...]})"], {"models": {}}
    base_url, server = refresh_endpoint(probe)
    rest = probe.rest(base_url, SCOPE)
    latest: dict[str, dict[str, Any]] = {}
    mismatches = []
    for model in models:
        try:
            history = rest.request("GET", f"servers/{quote(server)}/models/{quote(model, safe='')}/refreshes") or []
        except PermanentError as err:
            if (err.evidence or {}).get("status") != 404:
                raise
            mismatches.append(f"model {model} is not on the server (HTTP 404)")
            continue
        runs: list[dict[str, Any]] = [dict(run) for run in history if isinstance(run, Mapping)]
        latest[model] = max(runs, key=lambda run: str(run.get("startTime") or "")) if runs else {}
    for model, run in latest.items():
        status = run.get("status")
        if not run:
            mismatches.append(f"model {model} has never been refreshed")
        elif status != "succeeded" and status not in STILL_RUNNING:
            mismatches.append(f"model {model}: its latest refresh (started {run.get('startTime')}) ended {status}")
    facts = {"server": server, "models": {model: run.get("status") for model, run in latest.items()},
             "refreshed_at": {model: run.get("endTime") for model, run in latest.items()}}
    running = [model for model, run in latest.items() if run.get("status") in STILL_RUNNING]
    if running and not mismatches:
        raise TransientError(f"{COMPONENT} {server}: refresh still running for {', '.join(running)}")
    return mismatches, facts


def _models(recorded: Any) -> list[str]:
    models = (recorded or {}).get("models") if isinstance(recorded, Mapping) else None
    if isinstance(models, Mapping):
        return sorted(str(name) for name in models)
    if isinstance(models, Sequence) and not isinstance(models, str):
        return sorted(str(name) for name in models)
    return []


CHECKS = (
    smoke(COMPONENT, "analysis-server-succeeded", analysis_server_succeeded, AZURE, plane="management",
          tested_against=ARM_DOUBLE),
    data(COMPONENT, "model-refresh", model_refresh, AZURE, tested_against=REFRESH_DOUBLE),
)
