"""What CrossGuard gives a policy, read as the graph `drctl coverage` reads (orchestrator/program/capture.py).

The rules are written against the mock runtime's graph: each resource's inputs as plain dicts and
lists, each resource's nearest enclosing component. A policy is given something close, with
three differences made up for here:

- Values unknown during a preview. pulumi-policy wraps the properties in a proxy that raises
  UnknownValueError when an unknown value is read, and turns that error into an advisory "can't
  run policy during preview" rather than a verdict. The rules read plain containers, so they get
  plain copies in which an unknown value is `Unknown`: a stand-in that raises the same error as
  soon as a rule looks at it. A rule is never run on a value nobody knows yet, and an unknown value
  a rule does not read (a location, a name taken from another resource) stops nothing.
- A stack policy is given each resource's outputs, and azure-native leaves the inputs that are URL
  path parameters (serverName, resourceUri, ...) out of its outputs
  (https://github.com/pulumi/pulumi-azure-native/issues/574). The resource policies see every
  resource's inputs first, in the same process, and `Inputs` keeps them for the stack policies;
  a resource no resource policy saw (all of them disabled) is read from its outputs.
- Azure's resource IDs, which the rules read in the mock runtime's form: azure_ids.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from pulumi_policy.proxy import UnknownValueError

from orchestrator.policy.azure_ids import as_mock_ids, azure_types
from orchestrator.program.capture import Registration, graph_nodes
from orchestrator.program.graph import Graph

if TYPE_CHECKING:
    from pulumi_policy import PolicyResource

PROVIDER_TYPE_PREFIX = "pulumi:providers:"


class Unknown(dict):
    """A value unknown during preview. A dict, so that a rule walking a path into it (isinstance(v,
    dict)) reaches it; any look at it (membership, items, comparison, truth, text) raises the error
    pulumi-policy raised for it.

    It keeps what the error says, not the error: a raised error holds the frames it passed through,
    and kept alive from there, pulumi-policy's server frames and their protobuf messages made the
    interpreter segfault in its last garbage collection at exit (protobuf 5.29)."""

    def __init__(self, error: UnknownValueError) -> None:
        super().__init__()
        self.sentinel = error.unknown_type_sentinel
        self.path = list(error.props)

    def _raise(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise UnknownValueError(self.sentinel, self.path)

    __contains__ = __getitem__ = __iter__ = __len__ = __bool__ = _raise
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __hash__ = _raise  # type: ignore[assignment]
    __str__ = __repr__ = __format__ = get = keys = values = items = _raise


def plain(value: Any) -> Any:
    """`value` (pulumi-policy's proxy, or plain data) as plain dicts and lists, unknowns as `Unknown`."""
    if isinstance(value, Mapping):
        return {key: _read(value, key) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_read(value, index) for index in range(len(value))]
    return value


def _read(container: Any, key: Any) -> Any:
    try:
        return plain(container[key])
    except UnknownValueError as error:
        return Unknown(error)


class Inputs:
    """The inputs each resource policy was given, by URN, for the stack policies of the same run."""

    def __init__(self) -> None:
        self._by_urn: dict[str, dict[str, Any]] = {}

    def record(self, urn: str, props: Mapping[str, Any]) -> dict[str, Any]:
        """`props` as plain data, kept for the stack policies (every resource policy records: any may be disabled)."""
        given = plain(props)
        self._by_urn[urn] = given
        return given

    def of(self, resource: PolicyResource) -> dict[str, Any]:
        if resource.urn in self._by_urn:
            return self._by_urn[resource.urn]
        return plain(resource.props)


def is_custom(resource: PolicyResource) -> bool:
    """A resource a provider manages. Components and the stack have no provider; the providers
    themselves are left out, as the mock runtime never registers its default providers."""
    return resource.provider is not None and not resource.resource_type.startswith(PROVIDER_TYPE_PREFIX)


def graph_of(resources: list[PolicyResource], inputs: Inputs, stack: str = "") -> Graph:
    """The stack's resources as drctl's graph: custom resources with their inputs (Azure's resource IDs
    in the mock runtime's form: azure_ids.py) and nearest enclosing component, and the components,
    through the same code the mock runtime's capture uses."""
    types = azure_types([(r, plain(r.props)) for r in resources if is_custom(r)])
    registrations = [
        Registration(
            urn=r.urn,
            type=r.resource_type,
            name=r.name,
            custom=is_custom(r),
            parent=r.parent.urn if r.parent is not None else r.opts.parent,
            inputs=as_mock_ids(inputs.of(r), types) if is_custom(r) else {},
            ignore_changes=tuple(r.opts.ignore_changes),
            id=None,
        )
        for r in resources
        if not r.resource_type.startswith(PROVIDER_TYPE_PREFIX)
    ]
    nodes, components = graph_nodes(registrations)
    return Graph(stack=stack, region="", resources=nodes, components=components,
                 inputs={r.urn: r.inputs for r in registrations if r.custom})
