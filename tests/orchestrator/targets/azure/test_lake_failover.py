"""The primary lake account's unplanned failover (stores/lake_failover.py), through the real
azure-mgmt-storage client replaying the REST spec examples at the transport (tests/azure_fixtures.py);
the account after a failover is derived from them (tests/lake_failover_examples.py)."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from orchestrator.model import PermanentError, TransientError
from orchestrator.targets.azure.clients import AzureSession
from orchestrator.targets.azure.stores.lake_failover import fail_over_account
from tests.azure_fixtures import SUBSCRIPTION, ExampleTransport, FakeCredential, Route, example, example_body
from tests.lake_failover_examples import (
    CAN_FAIL_OVER,
    CANNOT_FAIL_OVER,
    FAILOVER,
    LAST_SYNC,
    failed_over,
    in_progress,
)

GROUP, ACCOUNT = "res9407", "sto8596"
ACCOUNT_PATH = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"
DR_REGION = "australiasoutheast"


class Account:
    """The storage account's answers: `states` in turn to each GET (the last one repeats); a POST
    failover moves it to the failed-over state and answers `failover_status`."""

    def __init__(self, *states: dict, failover_status: int = 200, polls_before_done: int = 0) -> None:
        self.states, self.polls_left = list(states), polls_before_done
        self.failover_status = failover_status
        routes = [Route("GET", re.escape(ACCOUNT_PATH), respond=self.get),
                  Route("POST", re.escape(ACCOUNT_PATH) + "/failover", respond=self.fail_over),
                  Route("GET", r"/subscriptions/.*/asyncoperations/op1", respond=self.poll)]
        self.transport = ExampleTransport(routes)
        self.storage = AzureSession(FakeCredential(), SUBSCRIPTION, transport=self.transport, retry_total=0).storage()

    def get(self, request):
        return 200, self.states[0] if len(self.states) == 1 else self.states.pop(0), {}

    def fail_over(self, request):
        self.states = [failed_over()]
        if self.failover_status == 202:
            # The example's Location is a placeholder (https://endpoint:port/...): point it at a route.
            location = example(FAILOVER)["responses"]["202"]["headers"]["Location"]
            path = urlsplit(location).path.replace("{subscription-id}", SUBSCRIPTION).replace("{location}", "eastus2")
            return 202, None, {"Location": "https://management.azure.com" + path.replace("{operationid}", "op1")
                               + "?api-version=2022-09-01", "Retry-After": "1"}
        return 200, example(FAILOVER)["responses"]["200"].get("body"), {}

    def poll(self, request):
        self.polls_left -= 1
        return (202, None, {"Retry-After": "1"}) if self.polls_left >= 0 else (200, None, {})

    def posts(self) -> list:
        return [r for r in self.transport.requests if r.method == "POST"]


class Clock:
    def __init__(self) -> None:
        self.now, self.slept = 0.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def run(account: Account, tmp_path, clock: Clock | None = None, said: list | None = None, **kwargs):
    clock = clock or Clock()
    return fail_over_account(account.storage, GROUP, ACCOUNT, DR_REGION, tmp_path / "lake-failover.json",
                             sleep=clock.sleep, clock=clock, say=(said if said is not None else []).append, **kwargs)


def test_an_unplanned_failover_is_asked_for_and_the_account_checked_after(tmp_path):
    account, said = Account(example_body(CAN_FAIL_OVER)), []
    evidence = run(account, tmp_path, said=said)
    [post] = account.posts()
    query = parse_qs(urlsplit(post.url).query)
    assert "failoverType" not in query and query["api-version"]  # no failoverType: unplanned
    assert evidence["failed_over_by"] == "this step" and evidence["last_sync_time"] == LAST_SYNC
    assert evidence["before"]["sku_before"] == "Standard_GRS"
    assert evidence["now"] == {"sku": "Standard_LRS", "primary_location": "northcentralus(stage)",
                               "secondary_location": None}
    assert all(words in evidence["trade_off"] for words in ("lastSyncTime are lost", "LRS", "re-enabled"))
    record = json.loads((tmp_path / "lake-failover.json").read_text())
    assert record["last_sync_time"] == LAST_SYNC and record["secondary_location_before"] == "northcentralus(stage)"
    assert LAST_SYNC in said[0] and "unplanned failover" in said[0]


def test_the_sdk_default_would_ask_for_a_planned_failover(tmp_path):
    """Why drctl passes failover_type=None: left out, the installed SDK sends failoverType=Planned,
    which needs the primary region to be up."""
    account = Account(example_body(CAN_FAIL_OVER))
    account.storage.storage_accounts.begin_failover(GROUP, ACCOUNT).result()
    assert parse_qs(urlsplit(account.posts()[0].url).query)["failoverType"] == ["Planned"]


def test_an_account_that_cannot_fail_over_is_refused_before_any_change(tmp_path):
    account = Account(example_body(CANNOT_FAIL_OVER))
    with pytest.raises(PermanentError, match=r"cannot fail over now .*canFailover is False") as caught:
        run(account, tmp_path)
    assert "dataplatform:restore.lake.source geo-secondary or backup-account" in str(caught.value)
    assert caught.value.evidence["can_failover"] is False and caught.value.evidence["sku"] == "Standard_GRS"
    assert account.posts() == [] and not (tmp_path / "lake-failover.json").exists()


def test_a_resumed_step_does_not_fail_over_twice_and_keeps_the_recovery_point(tmp_path):
    run(Account(example_body(CAN_FAIL_OVER)), tmp_path)
    again = Account(failed_over())  # the account as the first attempt left it: no geo statistics now
    evidence = run(again, tmp_path)
    assert again.posts() == []
    assert evidence["failed_over_by"] == "an earlier attempt of this step" and evidence["last_sync_time"] == LAST_SYNC


def test_a_failover_in_progress_is_waited_for_and_not_asked_again(tmp_path):
    clock = Clock()
    account = Account(in_progress(), in_progress(), failed_over())
    evidence = run(account, tmp_path, clock=clock, poll_interval_s=30, timeout_s=600)
    assert account.posts() == [] and clock.slept == [30, 30]
    assert evidence["now"]["sku"] == "Standard_LRS"


def test_a_failover_in_progress_past_the_bound_is_transient(tmp_path):
    clock = Clock()
    with pytest.raises(TransientError, match="still in progress after 120s"):
        run(Account(in_progress()), tmp_path, clock=clock, poll_interval_s=30, timeout_s=120)
    assert sum(clock.slept) == 120


def test_a_failover_still_running_at_the_bound_is_transient(tmp_path):
    # The long-running operation polls its Location (Retry-After 1 s); the wait is bounded at 0.2 s.
    account = Account(example_body(CAN_FAIL_OVER), failover_status=202, polls_before_done=2)
    with pytest.raises(TransientError, match="still running after 0s"):
        run(account, tmp_path, timeout_s=0.2)
    assert len(account.posts()) == 1
