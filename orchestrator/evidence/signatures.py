"""Signed statements: what a seal or an addendum says, signed by a key that the statement names.

A link of the evidence chain is a JSON document `{"statement": {...}, "signature": "<base64>"}`.
The signature is over the statement's canonical JSON (sorted keys, no spaces, ASCII), and the
statement names its own key (`key.id`, `key.algorithm`, `key.public_key`), so neither the key nor the
algorithm can be swapped without breaking the signature. `key.id` is `sha256:` and the hex SHA-256 of
the public key's DER SubjectPublicKeyInfo: the same fingerprint whatever the key type.

Algorithms: Ed25519 (a local key); ES256 and RS256 (a Key Vault key: Key Vault has no Ed25519 keys).
ES256 signatures are kept as JWS has them, r||s (what Key Vault returns), not DER.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from orchestrator.run.rundir import utc_now

ALGORITHMS = ("Ed25519", "ES256", "RS256")
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey


@dataclass(frozen=True)
class KeyInfo:
    """The public side of a signing key, as a statement records it."""

    algorithm: str
    key_id: str
    public_key_pem: str
    source: str  # where the private key is: a file, the environment, a Key Vault key id

    def as_statement(self) -> dict[str, str]:
        return {"id": self.key_id, "algorithm": self.algorithm, "public_key": self.public_key_pem,
                "source": self.source}


class Signer(Protocol):
    @property
    def info(self) -> KeyInfo: ...

    def sign(self, message: bytes) -> bytes: ...


def key_id(public_key: PublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"sha256:{hashlib.sha256(der).hexdigest()}"


def public_pem(public_key: PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def algorithm_for(public_key: PublicKey) -> str | None:
    """The algorithm a key of this type signs with here; None for a key drctl does not sign with."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1):
        return "ES256"
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size >= 2048:
        return "RS256"
    return None


def canonical(statement: dict[str, Any]) -> bytes:
    return json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def signed_document(statement: dict[str, Any], signer: Signer) -> dict[str, Any]:
    """`statement` with its key and time added, and the signature over all of it."""
    full = {**statement, "signed_at": utc_now(), "key": signer.info.as_statement()}
    return {"statement": full, "signature": base64.b64encode(signer.sign(canonical(full))).decode("ascii")}


def signature_problem(document: Any, trusted: dict[str, PublicKey] | None) -> str | None:
    """Why `document` is not a validly signed statement (None when it is). `trusted`: the key ids
    the verifier accepts (from --public-key); None accepts the key the statement carries."""
    if not isinstance(document, dict) or not isinstance(document.get("statement"), dict):
        return "not a signed statement (no 'statement')"
    statement, key = document["statement"], document["statement"].get("key")
    if not isinstance(key, dict):
        return "the statement names no key"
    try:
        carried = serialization.load_pem_public_key(str(key.get("public_key", "")).encode("ascii"))
        signature = base64.b64decode(str(document.get("signature", "")), validate=True)
    except (ValueError, TypeError, UnicodeEncodeError, binascii.Error):
        return "the statement's public key or signature is not readable"
    if not isinstance(carried, PublicKey) or key_id(carried) != key.get("id"):
        return "the key id does not match the public key the statement carries"
    if trusted is not None and key.get("id") not in trusted:
        return f"signed by key {key.get('id')}, which is not a --public-key given ({', '.join(trusted)})"
    if algorithm_for(carried) != key.get("algorithm"):
        return f"algorithm {key.get('algorithm')!r} does not fit the key"
    if not verifies(carried, str(key["algorithm"]), canonical(statement), signature):
        return "the signature does not verify: the statement was changed after it was signed"
    return None


def verifies(public_key: PublicKey, algorithm: str, message: bytes, signature: bytes) -> bool:
    try:
        if algorithm == "Ed25519" and isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, message)
        elif algorithm == "ES256" and isinstance(public_key, ec.EllipticCurvePublicKey):
            if len(signature) != 64:
                return False
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            public_key.verify(der, message, ec.ECDSA(hashes.SHA256()))
        elif algorithm == "RS256" and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True
