"""Azure Data Factory and the repository's pipelines: the checks its DR profile declares
(components/data_factory.py), all on Azure with azure-mgmt-datafactory, the SDK the factory's users
script it with.

- `factory-provisioned`: ARM says the factory's provisioningState is Succeeded.
- `pipeline-parity`: every pipeline of the repository's pipelines folder (the stack's
  `dataFactory.pipelinesDir`, read as the program reads it: components/data_factory_pipelines.py)
  exists in the factory with the same activities. A pipeline missing or different fails, naming it.
- `smoke-pipeline-run`: the repository's smoke pipeline (pipelines/smoke.json, which touches no
  data) is run and polled until it ends, within SMOKE_TIMEOUT_S; only Succeeded passes. The polling
  is the replay's (orchestrator/targets/azure/stores/replay.py run_pipeline).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smoke_tests.check import (
    AZURE,
    LOCAL_AND_AZURE,
    LOCAL_SERVER,
    SPEC_EXAMPLES,
    TRANSPORT_DOUBLE,
    PermanentError,
    smoke,
)
from smoke_tests.probe import ServiceProbe, provisioned

COMPONENT = "data_factory"
FACTORY_TYPE = "azure-native:datafactory:Factory"
# The repository's smoke pipeline (pipelines/smoke.json); components/data_factory.py exports it as smokePipeline.
SMOKE_PIPELINE = "smoke"
# A Wait of a few seconds, on a factory that may have to start its integration runtime: minutes at most.
SMOKE_TIMEOUT_S = 600.0
POLL_INTERVAL_S = 10.0
# Where the program resolves relative config paths (stacks/program.py PROJECT_ROOT): this checkout.
REPOSITORY = Path(__file__).resolve().parent.parent
# The SDK and the replay's polling are imported when a check runs: the offline commands import every
# check module through the registry, and azure-mgmt-datafactory alone takes a fifth of a second.


def factory_provisioned(probe: ServiceProbe) -> dict:
    return provisioned(probe, FACTORY_TYPE)


def _factory(probe: ServiceProbe) -> tuple[Any, str, str]:
    """(the factory's management client, its resource group, its name), from the deployed factory's ARM id."""
    from azure.mgmt.core.tools import parse_resource_id
    from azure.mgmt.datafactory import DataFactoryManagementClient

    parts = parse_resource_id(str(probe.resource(FACTORY_TYPE)["id"]))
    client = probe.client(DataFactoryManagementClient, subscription_id=parts["subscription"])
    return client, str(parts["resource_group"]), str(parts["name"])


def pipelines_folder(probe: ServiceProbe) -> Path:
    """The stack's pipelinesDir, relative to the project (names["project_dir"] when the runner says
    which, else this checkout, as the program reads it)."""
    relative = getattr(probe.settings, "pipelines_dir", None) or "pipelines"
    return Path(probe.names.get("project_dir") or REPOSITORY) / relative


def repository_pipelines(probe: ServiceProbe) -> dict[str, dict[str, Any]]:
    """Each pipeline file's `properties`, by pipeline name, read and cross-checked by the program's loader."""
    import json

    from components.data_factory_pipelines import PipelineDefinitionError, load_factory_definitions

    try:
        definitions = load_factory_definitions(pipelines_folder(probe))
    except PipelineDefinitionError as exc:
        raise PermanentError(f"data factory: the repository's pipelines cannot be compared: {exc}") from None
    # The loader flattens typeProperties for Pulumi; the factory answers in ADF's own shape, as the files are.
    return {d.name: json.loads(d.path.read_text(encoding="utf-8"))["properties"] for d in definitions.pipelines}


def differences(want: Any, got: Any, where: str) -> list[str]:
    """What of `want` (the repository's) `got` (the factory's) lacks or holds otherwise. Fields the
    service adds on its own (an activity's default policy) are not differences, nor an empty field
    (`dependsOn: []`) the deployment left out."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{where} is {_short(got)}, not {_short(want)}"]
        return [found for key, value in want.items()
                for found in (differences(value, got[key], f"{where}.{key}") if key in got
                              else [] if value in ([], {}, None) else [f"{where}.{key} missing"])]
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{where} is {_short(got)}, not {_short(want)}"]
        return [found for index, (w, g) in enumerate(zip(want, got, strict=True))
                for found in differences(w, g, f"{where}[{index}]")]
    return [] if want == got else [f"{where} is {_short(got)}, not {_short(want)}"]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def activity_differences(want: list[dict[str, Any]], got: list[dict[str, Any]]) -> list[str]:
    """A pipeline's activities in the factory against the repository's, by activity name."""
    theirs = {a.get("name"): a for a in got}
    ours = {a.get("name"): a for a in want}
    found = [f"activity {a} missing from the factory" for a in ours if a not in theirs]
    found += [f"activity {a} in the factory, not in the repository" for a in theirs if a not in ours]
    for activity, definition in ours.items():
        if activity in theirs:
            found += differences(definition, theirs[activity], str(activity))
    return found


def pipeline_parity(probe: Any) -> dict:
    if not isinstance(probe, ServiceProbe):  # a local drill: the local pipeline runner's probe
        return probe.pipeline_parity()
    wanted = repository_pipelines(probe)
    adf, group, factory = _factory(probe)
    listed = probe.call(f"data factory {factory}: list pipelines",
                        lambda: [p.as_dict() for p in adf.pipelines.list_by_factory(group, factory)])
    deployed = {p["name"]: (p.get("properties") or {}).get("activities") or [] for p in listed}
    missing = sorted(set(wanted) - set(deployed))
    different = {name: found for name in sorted(set(wanted) & set(deployed))
                 if (found := activity_differences(wanted[name].get("activities") or [], deployed[name]))}
    evidence = {"factory": factory, "repository": sorted(wanted), "missing": missing,
                "different": different, "only_in_factory": sorted(set(deployed) - set(wanted))}
    if missing or different:
        said = ([f"missing: {', '.join(missing)}"] if missing else []) + \
               [f"{name} differs ({found[0]}{f' and {len(found) - 1} more' if len(found) > 1 else ''})"
                for name, found in different.items()]
        raise PermanentError(f"data factory {factory}: pipelines not as in the repository: {'; '.join(said)}", evidence)
    return evidence


def _no_runner(*args: Any, **kwargs: Any) -> dict:
    raise PermanentError("data factory: this check was given no pipeline runner (run_pipeline connector)")


def smoke_pipeline_run(probe: Any) -> dict:
    if not isinstance(probe, ServiceProbe):  # a local drill: run by the local pipeline runner, not a factory
        return probe.smoke_pipeline_run()
    # drctl's Azure target and the hand path give the replay's run-and-poll (targets/azure/stores/replay.py).
    run_pipeline = probe.connector("run_pipeline", _no_runner)
    folder = pipelines_folder(probe)
    if not (folder / f"{SMOKE_PIPELINE}.json").is_file():
        raise PermanentError(f"data factory: the repository has no smoke pipeline ({folder / SMOKE_PIPELINE}.json) to run")
    adf, group, factory = _factory(probe)
    # The pipeline's own default parameters: a smoke run is the pipeline as committed.
    return run_pipeline(adf, group, factory, SMOKE_PIPELINE, {}, poll_interval_s=POLL_INTERVAL_S,
                        timeout_s=SMOKE_TIMEOUT_S)


# Locally these run against the repository's pipelines run by the local pipeline runner on Azurite.
LOCAL_RUNNER = LOCAL_SERVER + " (the local pipeline runner on Azurite)"

CHECKS = (
    smoke(COMPONENT, "factory-provisioned", factory_provisioned, AZURE, plane="management",
          tested_against=SPEC_EXAMPLES),
    smoke(COMPONENT, "pipeline-parity", pipeline_parity, LOCAL_AND_AZURE, plane="management",
          tested_against=TRANSPORT_DOUBLE + "Pipelines_ListByFactory answering with the repository's own "
                                            "pipeline files: the specs kept here have no example of it; "
                                            + LOCAL_RUNNER),
    smoke(COMPONENT, "smoke-pipeline-run", smoke_pipeline_run, LOCAL_AND_AZURE, plane="management",
          tested_against=SPEC_EXAMPLES + "; " + LOCAL_RUNNER),
)
