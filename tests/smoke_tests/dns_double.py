"""A DNS double at dnspython's transport: a dns.nameserver.Nameserver that answers from memory, so the
real dns.resolver.Resolver runs (its CNAME chasing, NXDOMAIN and NoAnswer handling) and no test
queries real DNS. Give `resolver_for(records)` to a probe as its "dns" connector."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset

Records = Mapping[tuple[str, str], Sequence[str]]  # (name, type) -> values, names without the final dot


class MemoryNameserver(dns.nameserver.Nameserver):
    """A recursive resolver's answers: the records asked for, a CNAME chain followed within memory."""

    def __init__(self, records: Records, ttl: int = 60) -> None:
        super().__init__()
        self.records = {(name.lower().rstrip("."), kind): list(values) for (name, kind), values in records.items()}
        self.ttl = ttl
        self.asked: list[tuple[str, str]] = []

    def __str__(self) -> str:
        return "memory"

    def kind(self) -> str:
        return "memory"

    def is_always_max_size(self) -> bool:
        return False

    def answer_nameserver(self) -> str:
        return "127.0.0.53"

    def answer_port(self) -> int:
        return 53

    def query(self, request, timeout, source, source_port, max_size, one_rr_per_rrset=False, ignore_trailing=False):
        question = request.question[0]
        name, kind = question.name.to_text().rstrip(".").lower(), dns.rdatatype.to_text(question.rdtype)
        self.asked.append((name, kind))
        response = dns.message.make_response(request)
        response.flags |= dns.flags.RA
        if not any(known == name for known, _ in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        while True:
            if (name, kind) in self.records:
                self._answer(response, name, kind)
                return response
            if kind != "CNAME" and (name, "CNAME") in self.records:
                self._answer(response, name, "CNAME")
                name = self.records[(name, "CNAME")][0].rstrip(".").lower()
                continue
            return response  # the name exists without such a record: NoAnswer

    def _answer(self, response: dns.message.Message, name: str, kind: str) -> None:
        # Through find_rrset(create=True): the message's index is what the resolver's chaining reads.
        owner, rdtype = dns.name.from_text(name), dns.rdatatype.from_text(kind)
        values = [f"{v.rstrip('.')}." if kind in ("CNAME", "NS") else v for v in self.records[(name, kind)]]
        rrset = response.find_rrset(response.answer, owner, dns.rdataclass.IN, rdtype, create=True)
        rrset.update(dns.rrset.from_text_list(owner, self.ttl, "IN", kind, values))


def resolver_for(records: Records) -> tuple[Callable[[], dns.resolver.Resolver], MemoryNameserver]:
    """(the connector a probe takes as connectors={"dns": ...}, the nameserver, to see what was asked)."""
    nameserver = MemoryNameserver(records)

    def build() -> dns.resolver.Resolver:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [nameserver]
        resolver.lifetime = 2.0
        return resolver

    return build, nameserver
