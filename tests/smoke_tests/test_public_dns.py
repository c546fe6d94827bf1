"""Public DNS's checks: the zone and record sets through the real ARM client on hand-written GET bodies
(no Azure DNS example is kept with the specs), resolution through dnspython's real resolver answered by
an in-memory nameserver (tests/smoke_tests/dns_double.py): no test queries real DNS."""

from __future__ import annotations

import pytest

from components.public_dns import PublicDnsSettings
from smoke_tests import public_dns
from smoke_tests.check import PermanentError, TransientError
from tests.azure_fixtures import SUBSCRIPTION, Route
from tests.smoke_tests.dns_double import resolver_for
from tests.smoke_tests.probe_support import arm_id, deployed, service_probe

ZONE = "data.contoso.com"
ZONE_ID = arm_id("Microsoft.Network/dnszones", ZONE, "rg-dp-connectivity-sec")
AZURE_NS = ["ns1-01.azure-dns.com", "ns2-01.azure-dns.net", "ns3-01.azure-dns.org", "ns4-01.azure-dns.info"]
A_ID, CNAME_ID = f"{ZONE_ID}/A/ingest-sec", f"{ZONE_ID}/CNAME/app"
RECORDS = [{"name": "ingest-sec", "type": "A", "values": ["203.0.113.20"]},
           {"name": "app", "type": "CNAME", "values": ["tm-dp-pri.trafficmanager.net"]}]


def _zone_route(zone_id=ZONE_ID):
    # Hand-written: a public zone GET, name servers with their final dot as Azure DNS gives them.
    body = {"id": zone_id, "name": ZONE, "type": "Microsoft.Network/dnszones", "location": "global",
            "properties": {"nameServers": [f"{ns}." for ns in AZURE_NS], "numberOfRecordSets": 4, "zoneType": "Public"}}
    return Route("GET", f"(?i){zone_id}", body=body)


def _record_routes():
    a = {"id": A_ID, "name": "ingest-sec", "type": "Microsoft.Network/dnszones/A",
         "properties": {"TTL": 60, "fqdn": f"ingest-sec.{ZONE}.", "provisioningState": "Succeeded",
                        "ARecords": [{"ipv4Address": "203.0.113.20"}]}}
    cname = {"id": CNAME_ID, "name": "app", "type": "Microsoft.Network/dnszones/CNAME",
             "properties": {"TTL": 300, "fqdn": f"app.{ZONE}.", "provisioningState": "Succeeded",
                            "CNAMERecord": {"cname": "tm-dp-pri.trafficmanager.net"}}}
    return [Route("GET", f"(?i){A_ID}", body=a), Route("GET", f"(?i){CNAME_ID}", body=cname)]


PUBLIC = {(ZONE, "NS"): AZURE_NS, (f"ingest-sec.{ZONE}", "A"): ["203.0.113.20"],
          (f"app.{ZONE}", "CNAME"): ["tm-dp-pri.trafficmanager.net"], ("tm-dp-pri.trafficmanager.net", "A"): ["198.51.100.7"]}


def _probe(routes, resources, public=PUBLIC, owner=True, names=None, records=RECORDS):
    connector, nameserver = resolver_for(public)
    settings = PublicDnsSettings(zoneName=ZONE, owner=owner, records=records)
    probe, transport = service_probe("public_dns", routes, resources, settings=settings, connectors={"dns": connector},
                                     names=names)
    return probe, transport, nameserver


def test_the_zone_resolves_to_azures_name_servers():
    probe, _, nameserver = _probe([_zone_route()], [deployed(public_dns.ZONE, ZONE_ID)])
    evidence = public_dns.zone_name_servers(probe)
    assert evidence["resolved_name_servers"] == sorted(AZURE_NS) == evidence["azure_name_servers"]
    assert nameserver.asked == [(ZONE, "NS")]


def test_a_zone_not_delegated_fails_saying_where_to_delegate():
    probe, _, _ = _probe([_zone_route()], [deployed(public_dns.ZONE, ZONE_ID)], public={})
    with pytest.raises(PermanentError, match="no NS records resolvers can find: delegate it at its parent to ns1-01"):
        public_dns.zone_name_servers(probe)


def test_a_delegation_to_other_servers_fails():
    elsewhere = {(ZONE, "NS"): ["ns1.other-dns.example", *AZURE_NS[:3]]}
    probe, _, _ = _probe([_zone_route()], [deployed(public_dns.ZONE, ZONE_ID)], public=elsewhere)
    with pytest.raises(PermanentError, match=r"not Azure's ns4-01\.azure-dns\.info: the delegation points elsewhere"):
        public_dns.zone_name_servers(probe)


def test_a_stack_that_does_not_own_the_zone_reads_the_owners():
    owners = arm_id("Microsoft.Network/dnszones", ZONE, "rg-dp-connectivity-pri")
    probe, transport, _ = _probe([_zone_route(owners)], [], owner=False,
                                 names={"paired_prefix": "dp", "paired_suffix": "pri"})
    assert public_dns.zone_name_servers(probe)["id"] == owners
    assert f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-dp-connectivity-pri/" in transport.requests[0].url


def test_every_record_set_resolves_to_what_azure_dns_holds():
    records = [deployed(public_dns.RECORD_SET, A_ID), deployed(public_dns.RECORD_SET, CNAME_ID)]
    evidence = public_dns.records_resolve(_probe(_record_routes(), records)[0])
    assert evidence["records"][f"ingest-sec.{ZONE}"] == {"type": "A", "held": ["203.0.113.20"],
                                                          "resolved": ["203.0.113.20"], "ttl": 60}
    assert evidence["records"][f"app.{ZONE}"]["resolved"] == ["tm-dp-pri.trafficmanager.net"]


@pytest.mark.parametrize("public", [
    {**PUBLIC, (f"ingest-sec.{ZONE}", "A"): ["203.0.113.99"]},  # an old answer
    {key: value for key, value in PUBLIC.items() if key[0] != f"ingest-sec.{ZONE}"},  # not there yet
])
def test_a_record_resolving_otherwise_is_retried_after_its_ttl(public):
    records = [deployed(public_dns.RECORD_SET, A_ID), deployed(public_dns.RECORD_SET, CNAME_ID)]
    with pytest.raises(TransientError, match=r"ingest-sec\.data\.contoso\.com A resolves to .*holds \['203\.0\.113\.20'\]") as raised:
        public_dns.records_resolve(_probe(_record_routes(), records, public=public)[0])
    assert raised.value.retry_after_s == 60


def test_declared_records_the_deploy_did_not_record_fail_and_none_declared_is_said():
    with pytest.raises(PermanentError, match="recorded no RecordSet"):
        public_dns.records_resolve(_probe([], [])[0])
    assert public_dns.records_resolve(_probe([], [], records=[])[0])["note"] == "the stack declares no record set"
