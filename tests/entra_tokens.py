"""Entra access tokens as tests need them: a JWT whose claims name a person (or an application),
and a credential that hands it out.

A thin double where no recorded payload exists: the Azure REST API specs hold no token, and a
real one comes only from Entra. The token is unsigned; drctl reads claims without verifying the
signature (orchestrator/targets/azure/signed_in.py says why), so nothing here pretends otherwise.
"""

from __future__ import annotations

import base64
import json
import stat
import time
from pathlib import Path
from typing import Any

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
INDY_OBJECT_ID = "00000000-0000-0000-0000-000000000131"  # dr/contacts.yaml's technical approver
JORDAN_UPN = "jordan.example@example.com"  # dr/contacts.yaml's other technical approver, listed by upn


def _segment(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def jwt(claims: dict[str, Any]) -> str:
    return f"{_segment({'alg': 'RS256', 'typ': 'JWT'})}.{_segment(claims)}.bm90LXNpZ25lZA"


def user_claims(**overrides: Any) -> dict[str, Any]:
    """An ARM access token issued on a user's behalf (delegated: `scp`), as `az login` gets one."""
    now = int(time.time())
    claims = {"aud": "https://management.azure.com", "iss": f"https://sts.windows.net/{TENANT}/", "iat": now,
              "nbf": now, "exp": now + 3600, "tid": TENANT, "oid": INDY_OBJECT_ID, "upn": "indy@contoso.example",
              "name": "Indy Example", "scp": "user_impersonation", "idtyp": "user", "uti": "AbCdEf123456"}
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def app_claims(**overrides: Any) -> dict[str, Any]:
    """An application's own token (client credentials, managed identity): no `scp`, `idtyp: app`."""
    now = int(time.time())
    claims = {"aud": "https://management.azure.com", "tid": TENANT, "iat": now, "exp": now + 3600,
              "oid": "11111111-2222-3333-4444-555555555555", "appid": "11111111-2222-3333-4444-555555555555",
              "idtyp": "app", "roles": []}
    claims.update(overrides)
    return claims


class TokenCredential:
    """Hands out one token for any scope, and remembers the scopes asked for."""

    def __init__(self, claims: dict[str, Any]) -> None:
        self.token, self.scopes = jwt(claims), []

    def get_token(self, *scopes: str, **kwargs: Any):
        from azure.core.credentials import AccessToken

        self.scopes.extend(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


def fake_az(folder: Path, token: str) -> Path:
    """An `az` in `folder` that answers `az account get-access-token` as the Azure CLI does, so
    azure-identity's own AzureCliCredential runs: put `folder` first on PATH."""
    answer = {"accessToken": token, "expires_on": int(time.time()) + 3600, "expiresOn": "2099-01-01 00:00:00.000000",
              "subscription": "00000000-0000-0000-0000-0000000000aa", "tenant": TENANT, "tokenType": "Bearer"}
    script = folder / "az"
    script.write_text(f"#!/bin/sh\ncat <<'JSON'\n{json.dumps(answer)}\nJSON\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script
