"""Names as clients resolve them: dnspython through the probe's "dns" connector, a recursive resolver
from the machine's own configuration unless a test gives another (tests never query real DNS).

Answers are text: a name target (NS, CNAME) lowercased without its final dot, an address as written.
"""

from __future__ import annotations

from typing import Any

from smoke_tests.check import TransientError
from smoke_tests.probe import ServiceProbe

LIFETIME_S = 10.0  # per lookup, every retry of the resolver included


def default_resolver() -> Any:
    import dns.resolver

    resolver = dns.resolver.Resolver()
    resolver.lifetime = LIFETIME_S
    return resolver


def host(name: str) -> str:
    return name.rstrip(".").lower()


def resolve(probe: ServiceProbe, name: str, rdtype: str) -> list[str] | None:
    """The sorted record data of `name`'s `rdtype` records (a CNAME followed for other types), or None
    when the name does not exist or holds no such record. A resolver that does not answer is worth
    another attempt."""
    import dns.exception
    import dns.resolver

    resolver = probe.connector("dns", default_resolver)()
    try:
        answer = resolver.resolve(host(name) + ".", rdtype, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    except (dns.resolver.NoNameservers, dns.exception.Timeout) as err:
        raise TransientError(f"DNS {rdtype} {host(name)}: {type(err).__name__}: no resolver answered") from None
    return sorted(host(rdata.target.to_text()) if hasattr(rdata, "target") else rdata.to_text() for rdata in answer)
