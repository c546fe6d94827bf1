"""Who is running drctl on Azure, read from their own Entra token: how `drctl approve` knows an
approver of a failover by something other than a name typed on the command line.

The token is one Entra issued to the person's own sign-in (`az login`, Azure PowerShell, azd):
drctl asks their credential for it directly, so its claims name who signed in. drctl reads the
claims without checking the signature, as a client may: the token came from the identity provider
through the person's own credential, not from a third party, and the signature is for the
resource (Azure Resource Manager) to check. What it proves is what the sign-in proves; the token
itself is never recorded (it is a bearer secret), only the claims that name the person and `uti`,
which Entra's sign-in logs show as the token's unique identifier, so an auditor can match the two.

Claims: https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrator.errors import BadInput

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

ARM_SCOPE = "https://management.azure.com/.default"
SIGN_IN = "sign in as yourself (az login) and approve again"


@dataclass(frozen=True)
class EntraIdentity:
    """The person a token was issued to."""

    object_id: str  # `oid`: the user's object id, the same in every token they get from the tenant
    upn: str | None  # `upn` (v1 tokens) or `preferred_username` (v2)
    tenant_id: str | None  # `tid`
    display_name: str | None  # `name`
    token_id: str | None  # `uti`: the token's id in Entra's sign-in logs

    def shown(self) -> str:
        return f"{self.upn or self.display_name or 'an Entra user'} (object id {self.object_id})"

    def record(self) -> dict[str, Any]:
        return {"object_id": self.object_id, "upn": self.upn, "tenant_id": self.tenant_id,
                "display_name": self.display_name, "token_id": self.token_id}


def person_credential() -> TokenCredential:
    """DefaultAzureCredential without the credentials that stand for an application (a service
    principal's secret in the environment, a managed identity, a workload identity): an approval
    is a person's, and a runner's identity must not be able to give one."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(exclude_environment_credential=True, exclude_managed_identity_credential=True,
                                  exclude_workload_identity_credential=True)


def token_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT (header.payload.signature, base64url without padding), undecoded
    signature and all; BadInput when the token is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        raise BadInput("the Entra token is not a JWT (three dot-separated parts): cannot read who signed in")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (binascii.Error, UnicodeError, ValueError):
        raise BadInput("the Entra token's payload is not base64url JSON: cannot read who signed in") from None
    if not isinstance(claims, dict):
        raise BadInput("the Entra token's payload is not a set of claims: cannot read who signed in")
    return claims


def identity_from_claims(claims: dict[str, Any]) -> EntraIdentity:
    """The person the claims name; BadInput for an application's token or one without an object id.
    A token issued on a user's behalf carries `scp` (delegated scopes); an application's own token
    never does, and says `idtyp: app` where that optional claim is present."""
    if claims.get("idtyp") == "app" or ("scp" not in claims and claims.get("idtyp") != "user"):
        raise BadInput(f"the Entra token is an application's (service principal or managed identity), not a person's: "
                       f"{SIGN_IN}")
    object_id = claims.get("oid")
    if not isinstance(object_id, str) or not object_id:
        raise BadInput(f"the Entra token carries no object id (oid): {SIGN_IN}")
    upn = claims.get("upn") or claims.get("preferred_username")

    def text(key: str) -> str | None:
        value = claims.get(key)
        return value if isinstance(value, str) and value else None

    return EntraIdentity(object_id=object_id.lower(), upn=upn if isinstance(upn, str) and upn else None,
                         tenant_id=text("tid"), display_name=text("name"), token_id=text("uti"))


def signed_in_person(credential: TokenCredential | None = None) -> EntraIdentity:
    """Who is signed in, from a token for Azure Resource Manager; BadInput (one line) when nobody is."""
    from azure.core.exceptions import ClientAuthenticationError

    owned = credential is None
    try:
        with identity_warnings_muted():
            credential = credential or person_credential()
            token = credential.get_token(ARM_SCOPE).token
    except ClientAuthenticationError as exc:  # CredentialUnavailableError included: nobody signed in
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise BadInput(f"approving a run on Azure needs your own Entra sign-in ({first[:160]}): {SIGN_IN}") from None
    finally:
        close = getattr(credential, "close", None)
        if owned and callable(close):
            close()
    return identity_from_claims(token_claims(token))


@contextmanager
def identity_warnings_muted() -> Iterator[None]:
    """A failing chain logs every attempt as a WARNING before it raises; with no logging set up,
    Python prints that on stderr, burying the one line drctl says instead."""
    logger = logging.getLogger("azure.identity")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)
