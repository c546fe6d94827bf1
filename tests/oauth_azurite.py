"""An Azurite that accepts Entra tokens, for the azure target's storage code (tests/integration).

Azurite runs with OAuth (`--oauth basic`, which needs HTTPS: a throwaway self-signed certificate)
so the Azure path runs as it would on Azure, with nothing but Entra tokens. What Azurite does not
verify: the token's signature (OAuth "basic" checks issuer, audience and lifetime only).
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azurite_support import azurite_in_tempdir

from orchestrator.targets.local.servers.azurite import AzuriteServer, generate_account_key
from orchestrator.targets.local.servers.processes import HOST

TENANT, OBJECT = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"


def self_signed(directory: Path) -> tuple[Path, Path]:
    pytest.importorskip("cryptography")  # installed with azure-identity (msal)
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class OAuthAzurite(AzuriteServer):
    """Azurite over HTTPS with OAuth "basic"; its copy engine trusts our certificate."""

    def __init__(self, data_dir: Path, accounts: dict[str, str], cert: Path, key: Path) -> None:
        super().__init__(data_dir, accounts)
        self.cert, self.key = cert, key

    def _command(self, port: int) -> list[str]:
        return [*super()._command(port), "--oauth", "basic", "--cert", str(self.cert), "--key", str(self.key)]

    def _popen_kwargs(self) -> dict:
        kwargs = super()._popen_kwargs()
        kwargs["env"]["NODE_EXTRA_CA_CERTS"] = str(self.cert)  # Azurite fetches copy sources over HTTPS
        return kwargs

    def _is_ready(self, port: int) -> bool:
        conn = http.client.HTTPSConnection(HOST, port, timeout=1,
                                           context=ssl.create_default_context(cafile=str(self.cert)))
        try:
            conn.request("GET", f"/{self.accounts[0]}?comp=list")
            return conn.getresponse().status > 0
        except OSError:
            return False
        finally:
            conn.close()

    def blob_endpoint(self, account: str) -> str:
        self._check_account(account)
        return f"https://{HOST}:{self.port}/{account}"


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class EntraLikeCredential:
    """A token credential whose JWT satisfies Azurite's OAuth "basic" checks. No Entra call."""

    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken

        now = int(time.time())
        claims = {"aud": "https://storage.azure.com", "iss": f"https://sts.windows.net/{TENANT}/",
                  "iat": now - 60, "nbf": now - 60, "exp": now + 3600, "oid": OBJECT, "tid": TENANT}
        return AccessToken(f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims)}.bm90LXNpZ25lZA", now + 3600)


@contextmanager
def oauth_azurite_in_tempdir(prefix: str, accounts: Iterable[str]) -> Iterator[tuple[OAuthAzurite, Path, Path]]:
    """A started OAuth Azurite holding `accounts` (fresh keys), in a temporary folder removed after:
    (the server, its certificate, the folder)."""
    certificates: list[Path] = []

    def make(workdir: Path) -> OAuthAzurite:
        cert, key = self_signed(workdir)
        certificates.append(cert)
        return OAuthAzurite(workdir / "azurite", {a: generate_account_key() for a in accounts}, cert, key)

    with azurite_in_tempdir(prefix, make) as (server, workdir):
        yield server, certificates[0], workdir
