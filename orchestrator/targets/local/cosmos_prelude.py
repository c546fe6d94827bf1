"""The Cosmos DB part of a local drill's prelude (orchestrator/targets/local/prelude.py), where the
stack has Cosmos DB: the account's two regions start, the drill's events are written to the write
region, the read region is replicated up to the disaster but for the newest writes, and the baseline
the validate step judges by is recorded at the replicated point (manifests/cosmos_db.json, in the form
the Azure target reads a component's recorded facts: {"checks": {check name: facts}})."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.atomic import write_json_atomic
from orchestrator.data.replay import catch_up
from orchestrator.data.source import SourceSystem
from orchestrator.run.rundir import RunDir, utc_now

if TYPE_CHECKING:
    from orchestrator.targets.local.region import LocalRegionPair

MANIFEST = "cosmos_db.json"
# The writes the asynchronous replication had not carried when the region failed: the newest few
# documents, fewer than a batch has, so the replay has a partly replicated batch to re-send whole.
NOT_CARRIED = 3


def stage_cosmos(pair: LocalRegionPair, source: SourceSystem, run_dir: Path, say: Callable[[str], None]) -> dict | None:
    """Just before the disaster: nothing where the pair has no Cosmos DB account."""
    account = getattr(pair, "cosmos", None)
    if account is None:
        return None
    spec = account.spec
    say(f"Cosmos DB account {spec.account}: write region {spec.write_region} and its read region "
        f"{spec.read_region}, each a Cosmos DB server on 127.0.0.1 over TLS")
    account.start()
    account.create_resources()
    catch_up([account.sink(account.primary)], source)
    replication = account.replicate(not_carried=NOT_CARRIED)
    say(f"Cosmos DB: {replication['replicated']} of {replication['documents_written']} documents replicated to "
        f"the read region, the newest {replication['not_replicated']} not yet (the replication's lag at the disaster)")
    facts = account.facts(account.replica)
    manifest: dict[str, Any] = {
        "component": "cosmos_db",
        "recorded_at": utc_now(),
        "recorded": "from the read region at the replicated point, just before the disaster",
        "account": spec.account,
        "replication": replication,
        "checks": {"document-count": {"containers": {spec.where: facts["count"]}},
                   "max-ts-watermark": {"containers": {spec.where: facts["max_ts"]}}},
    }
    path = RunDir(run_dir).manifest(MANIFEST)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, manifest)
    return manifest
