"""A listing with snapshots read in pages keeps every entry (orchestrator/data/lake/snapshots.py
list_with_snapshots), on Azurite, whose continuation marker resumes after a name: a page boundary
inside a name's snapshots used to lose the rest of them, and a complete backup generation then
looked damaged."""

from __future__ import annotations

import pytest
from azurite_support import azurite_in_tempdir

from orchestrator.data.lake.snapshots import by_name, list_with_snapshots
from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key

ACCOUNT = "snaplisting"
# names where one is the prefix of another: the exact-name listing must keep only its own
NAMES = [f"zone/file-{n:03d}.json" for n in range(40)] + ["zone/file-007.json.bak"]


@pytest.fixture(scope="module")
def container():
    def make(workdir):
        return AzuriteServer(workdir / "azurite", {ACCOUNT: generate_account_key()})

    with azurite_in_tempdir("drctl-snapshot-pages-", make) as (server, _):
        lake = server.service_client(ACCOUNT).create_container("raw")
        for n, name in enumerate(NAMES):
            blob = lake.get_blob_client(name)
            blob.upload_blob(f"{name} v1".encode())
            for _ in range(n % 3 + 1):  # one to three snapshots each, so boundaries fall inside names
                blob.create_snapshot()
        yield lake


def entries(items):
    return [(item.name, item.snapshot) for item in items]


@pytest.mark.parametrize("page", [1, 2, 5, 7, 500])
def test_every_entry_is_listed_whatever_the_page_size(container, page):
    whole = entries(container.list_blobs(include=["snapshots"], results_per_page=5000))
    assert len(whole) == len(NAMES) + sum(n % 3 + 1 for n in range(len(NAMES)))
    paged = entries(list_with_snapshots(container, ["snapshots"], page))
    assert sorted(paged, key=str) == sorted(whole, key=str) and len(paged) == len(set(paged))


def test_grouped_by_name_each_blob_has_its_snapshots_and_its_current_state(container):
    groups = list(by_name(list_with_snapshots(container, ["snapshots"], 4), "raw"))
    assert [g.name for g in groups] == sorted(NAMES)
    for group in groups:
        n = NAMES.index(group.name)
        assert group.base is not None and len(group.snapshots) == n % 3 + 1, group.name
