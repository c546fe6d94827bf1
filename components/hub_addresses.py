"""Service settings checked against the hub's address plan: the stack's addressSpace, carved into
subnets by components/connectivity.py.

The plan is another key than the service's own, so a service's settings model cannot see it: the
service's deploy() checks before declaring anything, and the ConfigError names the key to fix.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network

from components.connectivity import carve_hub
from components.errors import ConfigError
from components.spec import StackFacts


def check_outside_hub(config: StackFacts, ranges: Iterable[IPv4Network], key: str) -> None:
    """Routes to `ranges` must not shadow the hub's own: Azure would send hub traffic out that way."""
    hub = ipaddress.ip_network(config.address_space)
    for address_range in ranges:
        if address_range.overlaps(hub):
            raise ConfigError(config.source, key, f"{address_range} overlaps the hub's address space {hub}")


def check_usable_in_data_subnet(config: StackFacts, address: IPv4Address, key: str) -> None:
    data = carve_hub(config.address_space).data
    # Azure keeps the first four addresses and the last one of every subnet for itself.
    usable_first, usable_last = data.network_address + 4, data.broadcast_address - 1
    if not usable_first <= address <= usable_last:
        raise ConfigError(
            config.source, key, f"{address} is not a usable address of the data subnet ({usable_first}-{usable_last})"
        )
