"""`drctl posture`: every seed service, with the seed's facts, as a stack has it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pulumi_mocks import stack_config

from orchestrator.verbs.posture import posture_document

REPO = Path(__file__).resolve().parents[3]
ROW_KEYS = {
    "service", "stateful", "component_responsibility", "workload_responsibility", "sku", "uplift_options",
    "uplift_enabled", "recovery_action",
}

# Every service the seed documents name (issue 3's list), as posture names them.
SEED_SERVICES = [
    "Microsoft Entra ID including role entitlements", "Azure Key Vault", "Recovery Services Vault", "Azure DevOps",
    "GitHub", "Subscriptions", "Management Groups", "Azure Monitor", "Azure Cost Management",
    "Microsoft Defender for Cloud", "Azure DNS", "Network Watcher", "Virtual Networks, including Subnets, UDR & NSGs",
    "Azure Firewall", "Azure DDoS", "ExpressRoute Circuit", "VPN Gateway", "Azure Load Balancer",
    "Storage Account: Azure Data Lake Gen2", "Azure Database for PostgreSQL Flexible Server", "Azure Databricks",
    "Azure Data Explorer", "Azure Event Hubs", "Azure Machine Learning", "Azure SQL Database", "Dataverse",
    "Power BI", "Microsoft Purview", "Microsoft Fabric: OneLake", "Microsoft Fabric: SQL database in Fabric",
    "Microsoft Fabric: Data Engineering", "Microsoft Fabric: Data Warehouse", "Microsoft Fabric: SQL Analytics Endpoint",
    "Microsoft Fabric: Mirrored Database", "Azure AI Foundry", "Microsoft Fabric: Real-Time Intelligence",
    "Microsoft Fabric: Data Factory", "Microsoft Fabric: Data Science", "Azure IoT Hubs", "Azure Stream Analytics",
    "Azure Cosmos DB", "Azure Data Share", "Azure Synapse: Pipelines", "Azure Synapse: Spark Pools",
    "Azure Synapse: Serverless and Dedicated SQL Pools", "Azure Cognitive Services",
    "Azure Cognitive Search (Azure AI Search)", "Azure Analysis Services", "Azure Database for MySQL Flexible Server",
    "Azure SQL Managed Instance", "SQL Server on Azure VMs", "Azure Site Recovery", "Azure Traffic Manager",
]

# (service, component recovery, workload recovery, Contoso's SKU) as the seed tables give them.
SEED_FACTS = [
    ("Microsoft Entra ID including role entitlements", "Microsoft", "Microsoft", "Premium P1"),
    ("Recovery Services Vault", "Microsoft", "Microsoft", "Default (GRS)"),
    ("Azure Firewall", "Customer", "Customer", "Standard"),
    ("Azure DDoS", "Microsoft", "Customer", "DDoS Network Protection"),
    ("VPN Gateway", "Customer", "Customer", "Single Zone - VpnGw1"),
    ("Storage Account: Azure Data Lake Gen2", "Microsoft", "Customer", "LRS"),
    ("Azure Cosmos DB", "Microsoft", "Microsoft", "Single Region Write with Periodic backup"),
    ("Power BI", "Microsoft", "Microsoft", "Power BI Pro"),
    ("Microsoft Purview", "Microsoft", "Customer", "N/A"),
    ("Azure Machine Learning", "Customer and Microsoft", "Customer", "General Purpose, D series instances"),
]


def rows(document: dict) -> dict[str, dict]:
    return {row["service"]: row for row in document["services"]}


def test_every_seed_service_appears_once_with_the_contract_fields():
    document = posture_document(stack_config("secondary"))
    names = [row["service"] for row in document["services"]]
    assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1]
    missing = [name for name in SEED_SERVICES if name not in names]
    assert not missing
    for row in document["services"]:
        assert set(row) >= ROW_KEYS
        assert len(row["uplift_enabled"]) == len(row["uplift_options"]), row["service"]


@pytest.mark.parametrize("service,component,workload,sku", SEED_FACTS, ids=[f[0] for f in SEED_FACTS])
def test_seed_facts(service, component, workload, sku):
    row = rows(posture_document(None))[service]
    assert (row["component_responsibility"], row["workload_responsibility"], row["seed_sku"]) == (component, workload, sku)


def test_the_stack_sku_and_uplifts_come_from_its_config():
    lrs = rows(posture_document(stack_config("secondary", {"dataplatform:lake": {"redundancy": "Standard_LRS"}})))
    ragrs = rows(posture_document(stack_config("secondary")))
    lake = "Storage Account: Azure Data Lake Gen2"
    assert (lrs[lake]["sku"], lrs[lake]["uplift_enabled"]) == ("Standard_LRS", [False])
    assert (ragrs[lake]["sku"], ragrs[lake]["uplift_enabled"]) == ("Standard_RAGRS", [True])
    postgres = ragrs["Azure Database for PostgreSQL Flexible Server"]
    assert postgres["uplift_enabled"][0] is True and postgres["recovery_action"] == "geo-restore"
    assert ragrs["Azure Cosmos DB"]["in_stack"] is False and ragrs["Azure Key Vault"]["in_stack"] is True
    assert ragrs["Microsoft Entra ID including role entitlements"]["recovery_action"] == "SaaS: nothing to deploy"


def test_without_a_stack_the_seed_tables_alone():
    document = posture_document(None)
    assert document["stack"] is None
    assert all(row["in_stack"] is None and set(row["uplift_enabled"]) <= {None} for row in document["services"])


def test_cli_json_and_table():
    run = lambda *a: subprocess.run([sys.executable, "-m", "orchestrator.cli", *a], cwd=REPO,  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    result = run("posture", "--stack", "secondary", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["stack"] == "secondary"
    table = run("posture")
    assert table.returncode == 0 and "Microsoft Entra ID" in table.stdout
    bad = run("posture", "--stack", "tertiary")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "unknown stack" in bad.stderr


def test_every_service_key_is_documented():
    from components.registry import SERVICES

    text = (REPO / "docs" / "reference" / "config.md").read_text()
    assert [spec.key for spec in SERVICES if spec.switch == "off" and f"`{spec.key}`" not in text] == []
