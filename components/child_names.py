"""The names a stack file gives to things inside a service (databases, hubs, consumer groups, subnets),
checked against Azure's length and character rules when the stack file is read: a name Azure refuses
would otherwise preview fine and fail mid-deployment, on the day.

Rules: https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules,
with the engine's own limits where they are stricter (PostgreSQL's 63-byte identifiers, MySQL's 64).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from components.naming import NameRule

# PostgreSQL truncates an identifier past NAMEDATALEN - 1 = 63 bytes; drctl creates, restores and
# drops databases by name, so a plain lowercase identifier (no quoting surprises), ASCII only.
POSTGRES_DATABASE = NameRule(1, 63, r"[a-z_][a-z0-9_]*", "lowercase letters, digits and '_', not starting with a digit")
# The server's own databases, and Azure's: drctl's restore drops and recreates its databases.
POSTGRES_RESERVED = frozenset({"postgres", "template0", "template1", "azure_maintenance", "azure_sys"})
# MySQL: identifiers up to 64 characters.
MYSQL_DATABASE = NameRule(1, 64, r"[A-Za-z_][A-Za-z0-9_]*", "letters, digits and '_', not starting with a digit")
MYSQL_RESERVED = frozenset({"mysql", "information_schema", "performance_schema", "sys"})
# Azure SQL Database's system databases (its name rule is components/sql_database.py DATABASE_NAME).
SQL_RESERVED = frozenset({"master", "model", "msdb", "tempdb"})
# Event Hubs: an event hub 1-256, a consumer group 1-50; alphanumerics, '.', '-', '_', a letter or
# digit at both ends.
_HUB_CHARS = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
EVENT_HUB = NameRule(1, 256, _HUB_CHARS, "letters, digits, '._-', a letter or digit at both ends")
CONSUMER_GROUP = NameRule(1, 50, _HUB_CHARS, "letters, digits, '._-', a letter or digit at both ends")
DEFAULT_CONSUMER_GROUP = "$Default"  # every hub's own, the one name with a '$'
# A subnet: 1-80, alphanumerics, '_.-', alphanumeric first, alphanumeric or '_' last.
SUBNET = NameRule(1, 80, r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?",
                  "letters, digits, '_.-', a letter or digit first, a letter, digit or '_' last")


def check(kind: str, value: str, rule: NameRule, reserved: frozenset[str] = frozenset()) -> str:
    """`value` when Azure takes it as a `kind` name; ValueError saying which rule it breaks."""
    if not rule.min_length <= len(value) <= rule.max_length:
        raise ValueError(f"{kind} name of {len(value)} characters: {rule.min_length}-{rule.max_length} allowed")
    if not re.fullmatch(rule.pattern, value):
        raise ValueError(f"{kind} name {value!r}: {rule.charset}")
    if value.lower() in reserved:
        raise ValueError(f"{kind} name {value!r} is reserved (the server's own)")
    return value


def _rule(kind: str, rule: NameRule, reserved: frozenset[str] = frozenset()) -> AfterValidator:
    return AfterValidator(lambda value: check(kind, value, rule, reserved))


def _consumer_group(value: str) -> str:
    return value if value == DEFAULT_CONSUMER_GROUP else check("consumer group", value, CONSUMER_GROUP)


PostgresDatabaseName = Annotated[str, _rule("PostgreSQL database", POSTGRES_DATABASE, POSTGRES_RESERVED)]
MySqlDatabaseName = Annotated[str, _rule("MySQL database", MYSQL_DATABASE, MYSQL_RESERVED)]
EventHubName = Annotated[str, _rule("event hub", EVENT_HUB)]
ConsumerGroupName = Annotated[str, AfterValidator(_consumer_group)]
SubnetName = Annotated[str, _rule("subnet", SUBNET)]
