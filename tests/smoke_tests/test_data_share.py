"""Data Share's checks through the real azure-mgmt-resource client and azure-core pipeline.
Microsoft.DataShare has no example payload in the specs kept here: the account's GET, the lists of
shares and share subscriptions and their listSynchronizations answers are a thin double at the
transport (hand-written minimal bodies in the shapes of
https://learn.microsoft.com/rest/api/datashare)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from smoke_tests.check import PermanentError, TransientError
from smoke_tests.data_share import ACCOUNT_TYPE, data_share_account_reachable, snapshot_sync_status
from tests.azure_fixtures import Route
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

ACCOUNT_ID = arm_id("Microsoft.DataShare/accounts", "dpsharesec")
ACCOUNT = {"id": ACCOUNT_ID, "name": "dpsharesec", "type": "Microsoft.DataShare/accounts", "location": "westus",
           "identity": {"type": "SystemAssigned"}, "properties": {"provisioningState": "Succeeded"}}


def sync(status: str, start: str, message: str | None = None) -> dict:
    return {"synchronizationId": f"id-{start}", "status": status, "startTime": start, "endTime": start,
            "synchronizationMode": "Incremental", "durationMs": 1200, **({"message": message} if message else {}),
            "consumerEmail": "consumer@fabrikam.com"}


def probe_with(shares: dict[str, list[dict]], subscriptions: dict[str, list[dict]] | None = None,
               baseline: dict | None = None, account: dict = ACCOUNT):
    """The account's shares and share subscriptions, each with its synchronizations (the first page
    of each list holds one item and a nextLink, as ARM pages)."""
    routes = [Route("GET", f"(?i){ACCOUNT_ID}", body=account)]
    for collection, members in (("shares", shares), ("shareSubscriptions", subscriptions or {})):
        routes.append(Route("GET", f"(?i){ACCOUNT_ID}/{collection}",
                            body={"value": [{"name": name, "id": f"{ACCOUNT_ID}/{collection}/{name}"} for name in members]}))
        for name, syncs in members.items():
            routes.append(Route("POST", f"(?i){ACCOUNT_ID}/{collection}/{name}/listSynchronizations",
                                respond=paged(syncs, f"{ACCOUNT_ID}/{collection}/{name}/listSynchronizations")))
    return service_probe("data_share", routes, [deployed(ACCOUNT_TYPE, ACCOUNT_ID, "2021-08-01")],
                         baseline=baseline)[0]


def paged(items: list[dict], path: str):
    def respond(request):
        assert parse_qs(urlparse(request.url).query)["api-version"] == ["2021-08-01"]
        if "$skipToken" in request.url:
            return 200, {"value": items[1:]}, {}
        more = {"nextLink": f"https://management.azure.com{path}?api-version=2021-08-01&$skipToken=2"} if len(items) > 1 else {}
        return 200, {"value": items[:1], **more}, {}

    return respond


def test_a_provisioned_account_is_reachable():
    assert data_share_account_reachable(probe_with({})) == {"id": ACCOUNT_ID, "provisioningState": "Succeeded"}


def test_a_failed_account_fails():
    with pytest.raises(PermanentError, match="dpsharesec: provisioningState Failed"):
        data_share_account_reachable(probe_with({}, account={**ACCOUNT, "properties": {"provisioningState": "Failed"}}))


def test_the_latest_synchronizations_succeeded_across_pages():
    probe = probe_with({"events": [sync("Failed", "2024-05-01T10:00:00Z"), sync("Succeeded", "2024-05-02T10:00:00.1234567Z")]},
                       {"reference": [sync("Succeeded", "2024-05-02T11:00:00Z")]})
    mismatches, facts = snapshot_sync_status(probe)
    assert mismatches == []
    assert facts["shares"]["events"]["status"] == "Succeeded"
    assert facts["shares"]["events"]["start_time"] == "2024-05-02T10:00:00.1234567Z"
    assert "consumer@fabrikam.com" not in str(facts)  # the consumer's address stays out of the evidence


def test_a_latest_synchronization_failed_is_a_mismatch_with_its_message():
    probe = probe_with({}, {"reference": [sync("Succeeded", "2024-05-01T10:00:00Z"),
                                          sync("Failed", "2024-05-02T10:00:00Z", "source container not found")]})
    mismatches, _ = snapshot_sync_status(probe)
    assert mismatches == ["share subscription reference: latest synchronization Failed: source container not found"]


def test_a_synchronization_still_running_is_worth_another_attempt():
    with pytest.raises(TransientError, match="still running for share events"):
        snapshot_sync_status(probe_with({"events": [sync("InProgress", "2024-05-02T10:00:00Z")]}))


def test_against_the_baseline_a_member_gone_or_never_synchronized_again_is_a_mismatch():
    baseline = {"snapshot-sync-status": {"shares": {"events": {"status": "Succeeded"}, "devices": {"status": "Succeeded"}},
                                         "shareSubscriptions": {}}}
    mismatches, facts = snapshot_sync_status(probe_with({"events": []}, baseline=baseline))
    assert mismatches == ["share devices is missing (the baseline has it)",
                          "share events has not synchronized since the redeploy"]
    assert facts == {"shares": {"events": None}, "shareSubscriptions": {}}


def test_without_a_baseline_a_share_no_consumer_synchronized_yet_is_no_mismatch():
    assert snapshot_sync_status(probe_with({"events": []})) == ([], {"shares": {"events": None}, "shareSubscriptions": {}})
