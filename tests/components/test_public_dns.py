"""Public DNS service: one owning stack for the global zone, records from config on either stack."""

from __future__ import annotations

import pytest
from service_harness import config_with, run_service, spec

from components.registry import globally_unique_types, subresource_types
from stacks.config import ConfigError

KEY = "publicDns"
ZONE = "azure-native:dns:Zone"
RECORD = "azure-native:dns:RecordSet"
SECONDARY_RECORDS = {
    "zoneName": "data.contoso.com",
    "records": [{"name": "app-ase", "type": "A", "values": ["198.51.100.30", "198.51.100.31"]}],
}


def test_owner_creates_the_global_public_zone_and_its_records():
    run, outputs = run_service(KEY)  # the example: the primary owns data.contoso.com
    zone = run.one(ZONE).inputs
    assert zone == {
        "zoneName": "data.contoso.com",
        "resourceGroupName": "rg-test-connectivity",
        "location": "global",
        "zoneType": "Public",
    }
    records = {r.inputs["relativeRecordSetName"]: r.inputs for r in run.of_type(RECORD)}
    assert records["app"]["recordType"] == "CNAME"
    assert records["app"]["cnameRecord"] == {"cname": "tm-contoso-aue.trafficmanager.net"}
    assert records["ingest-aue"]["aRecords"] == [{"ipv4Address": "203.0.113.20"}]
    assert all(r["zoneName"] == "data.contoso.com" and r["ttl"] == 60 for r in records.values())
    assert all(r["resourceGroupName"] == "rg-test-connectivity" for r in records.values())
    assert outputs["publicDnsOwner"] is True and "publicDnsNameServers" in outputs
    assert outputs["publicDnsRecords"] == ["app.data.contoso.com", "ingest-aue.data.contoso.com"]


def test_the_other_stack_only_writes_its_records_into_the_owners_zone():
    run, outputs = run_service(KEY, "secondary", settings=SECONDARY_RECORDS)
    assert run.of_type(ZONE) == []
    record = run.one(RECORD).inputs
    # The owner is the paired primary: its connectivity group, derived from its prefix and suffix.
    assert record["resourceGroupName"] == "rg-contoso-connectivity-aue"
    assert record["zoneName"] == "data.contoso.com"
    assert record["aRecords"] == [{"ipv4Address": "198.51.100.30"}, {"ipv4Address": "198.51.100.31"}]
    assert outputs["publicDnsOwner"] is False and "publicDnsNameServers" not in outputs


def test_a_zone_resource_group_can_be_named_for_a_zone_kept_in_a_third_region():
    run, _ = run_service(KEY, "secondary", settings={**SECONDARY_RECORDS, "resourceGroup": "rg-contoso-global"})
    assert run.one(RECORD).inputs["resourceGroupName"] == "rg-contoso-global"
    run, _ = run_service(KEY, settings={"zoneName": "data.contoso.com", "owner": True, "resourceGroup": "rg-contoso-global"})
    assert run.one(ZONE).inputs["resourceGroupName"] == "rg-contoso-global"


def test_apex_record_is_named_at():
    settings = {"zoneName": "contoso.com", "owner": True, "records": [{"name": "@", "type": "A", "values": ["203.0.113.9"]}]}
    run, outputs = run_service(KEY, settings=settings)
    assert run.one(RECORD).inputs["relativeRecordSetName"] == "@"
    assert outputs["publicDnsRecords"] == ["contoso.com"]


def test_zone_is_global_not_a_global_dns_label_and_records_are_subresources():
    # Azure accepts one zone name in many resource groups; only the delegation picks one.
    assert ZONE not in globally_unique_types()
    assert RECORD in subresource_types()


def record(**fields) -> dict:
    return {"zoneName": "data.contoso.com", "records": [{"name": "app", "type": "A", "values": ["203.0.113.1"], **fields}]}


@pytest.mark.parametrize(
    "settings, key",
    [
        ({"owner": True}, "dataplatform:publicDns.zoneName"),
        ({"zoneName": "Data.Contoso.com"}, "dataplatform:publicDns.zoneName"),
        ({"zoneName": "localhost"}, "dataplatform:publicDns.zoneName"),
        (record(values=["not-an-ip"]), "dataplatform:publicDns.records.0.values"),
        (record(values=[]), "dataplatform:publicDns.records.0.values"),
        (record(type="CNAME", values=["a.example.com", "b.example.com"]), "dataplatform:publicDns.records.0.values"),
        (record(type="CNAME", values=["not a host"]), "dataplatform:publicDns.records.0.values"),
        (record(name="@", type="CNAME", values=["a.example.com"]), "dataplatform:publicDns.records.0.values"),
        (record(type="MX"), "dataplatform:publicDns.records.0.type"),
        (record(name="App_1"), "dataplatform:publicDns.records.0.name"),
        (record(ttl=0), "dataplatform:publicDns.records.0.ttl"),
        (
            {"zoneName": "data.contoso.com", "records": [
                {"name": "app", "type": "A", "values": ["203.0.113.1"]},
                {"name": "app", "type": "CNAME", "values": ["a.example.com"]},
            ]},
            "dataplatform:publicDns.records",
        ),
    ],
)
def test_invalid_settings_are_refused_naming_the_key(settings, key):
    with pytest.raises(ConfigError) as raised:
        config_with("primary", KEY, settings)
    assert raised.value.key == key


def test_profile_carries_the_seeds_azure_dns_row():
    profile = spec(KEY).profile
    (seed,) = profile.seed
    assert seed.service == "Azure DNS" and seed.sku_selected == "Single Zone - Public"
    assert str(seed.component_responsibility) == str(seed.workload_responsibility) == "Microsoft"
    config = config_with("secondary", KEY, SECONDARY_RECORDS)
    assert spec(KEY).posture(config, config.optional_services[KEY])[0].uplift_enabled == (None,)
    assert {d.component for d in profile.depends_on} >= {"traffic_manager", "load_balancer"}
