"""A Key Vault key signing the evidence: the private key never leaves the vault.

Key Vault has no Ed25519 keys (https://learn.microsoft.com/azure/key-vault/keys/about-keys), so a
vault key is EC P-256, signing ES256, or RSA (2048 bits or more), signing RS256; the statement
records which. drctl reads the key's public half once (keys/get) to name it by its fingerprint and
to refuse a key type it cannot verify before a run starts, and sends Key Vault only the SHA-256
digest to sign (keys/sign): the identity needs the "Key Vault Crypto User" role or both permissions.
"""

from __future__ import annotations

import hashlib
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, HttpResponseError
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from orchestrator.errors import BadInput
from orchestrator.evidence.signatures import KeyInfo, PublicKey, algorithm_for, key_id, public_pem
from orchestrator.redact import REDACTOR


class KeyVaultSigner:
    def __init__(self, key_url: str, credential: TokenCredential, *, where: str = "--signing-key",
                 **client_kwargs: Any) -> None:
        """`client_kwargs` go to the SDK clients (a `transport=` in the tests)."""
        from azure.keyvault.keys import KeyClient, KeyVaultKeyIdentifier
        from azure.keyvault.keys.crypto import CryptographyClient

        identifier = KeyVaultKeyIdentifier(key_url)
        try:
            key = KeyClient(identifier.vault_url, credential, **client_kwargs).get_key(identifier.name,
                                                                                         identifier.version)
        except HttpResponseError as exc:
            hint = " (the identity needs keys/get and keys/sign)" if exc.status_code in (401, 403) else ""
            raise BadInput(f"{where}: {key_url}: Key Vault answered {exc.status_code} {_reason(exc)}{hint}") from None
        except AzureError as exc:
            raise BadInput(f"{where}: {key_url}: cannot reach Key Vault ({_reason(exc)})") from None
        public = _public_key(key.key)
        algorithm = algorithm_for(public) if public is not None else None
        if public is None or algorithm is None:
            kind = " ".join(filter(None, (_text(key.key_type), _text(getattr(key.key, "crv", None)))))
            raise BadInput(f"{where}: {key_url} is a key of type {kind}: drctl signs with an EC P-256 (ES256) or "
                           "RSA 2048+ (RS256) key")
        self.algorithm = algorithm
        self.key_url = str(key.id)  # with its version: the exact key that signed
        self.info = KeyInfo(algorithm=algorithm, key_id=key_id(public), public_key_pem=public_pem(public),
                            source=f"Key Vault {self.key_url}")
        self._crypto = CryptographyClient(key, credential, **client_kwargs)

    @classmethod
    def connect(cls, key_url: str, *, where: str) -> KeyVaultSigner:
        from azure.identity import DefaultAzureCredential

        return cls(key_url, DefaultAzureCredential(exclude_interactive_browser_credential=True), where=where)

    def sign(self, message: bytes) -> bytes:
        from azure.keyvault.keys.crypto import SignatureAlgorithm

        # ES256 and RS256 both sign the SHA-256 of the message; Key Vault takes the digest.
        result = self._crypto.sign(SignatureAlgorithm(self.algorithm), hashlib.sha256(message).digest())
        return bytes(result.signature)


def _public_key(jwk: Any) -> PublicKey | None:
    """The public key of a JSON Web Key as the SDK gives it (bytes for n, e, x, y)."""
    kty, crv = _text(jwk.kty), _text(jwk.crv)
    if kty.startswith("RSA") and jwk.n and jwk.e:
        return rsa.RSAPublicNumbers(int.from_bytes(jwk.e, "big"), int.from_bytes(jwk.n, "big")).public_key()
    if kty.startswith("EC") and crv == "P-256" and jwk.x and jwk.y:
        numbers = ec.EllipticCurvePublicNumbers(int.from_bytes(jwk.x, "big"), int.from_bytes(jwk.y, "big"),
                                                ec.SECP256R1())
        return numbers.public_key()
    return None


def _text(value: Any) -> str:
    """An SDK enum (a str Enum, whose str() is its name on Python 3.11+) or a plain string, as its value."""
    return str(getattr(value, "value", value) or "")


def _reason(exc: AzureError) -> str:
    text = REDACTOR.text(str(exc)).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
