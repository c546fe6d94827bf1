"""A Key Vault key signs the seal, through the real azure-keyvault-keys pipeline (challenge auth,
serialisation, the sign operation), answered at the transport.

The sign answer is the REST API spec's example (sign-example.json, INDEX.md need 27). The fixtures
hold no example of a key get, so that answer is a thin double: a KeyBundle carrying the public half
of a key made here. For a signature that verifies, a second double signs as Key Vault does (ES256,
r||s) with that key's private half."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from azure_fixtures import ExampleTransport, FakeCredential, Route, example_body
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from evidence_support import a_run_dir

from orchestrator.errors import BadInput
from orchestrator.evidence.chain import SIG, seal
from orchestrator.evidence.keyvault import KeyVaultSigner
from orchestrator.evidence.signatures import canonical, key_id, public_pem
from orchestrator.evidence.verify import verify

SIGN_EXAMPLE = "keyvault/data-plane/Keys/examples/2026-04-01/sign-example.json"
VAULT = "https://myvault.vault.azure.net"
KEY_PATH = "/keys/testkey/9885aa558e8d448789683188f8c194b0"
KEY_URL = VAULT + KEY_PATH


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def as_int_bytes(number: int, size: int | None = None) -> bytes:
    return number.to_bytes(size or (number.bit_length() + 7) // 8, "big")


def key_bundle(public) -> dict:
    """The double for a key get: a KeyBundle as the data-plane API defines it."""
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        jwk = {"kty": "RSA", "n": b64url(as_int_bytes(numbers.n)), "e": b64url(as_int_bytes(numbers.e))}
    else:
        numbers = public.public_numbers()
        size = (public.curve.key_size + 7) // 8
        jwk = {"kty": "EC", "crv": {256: "P-256", 384: "P-384"}[public.curve.key_size],
               "x": b64url(as_int_bytes(numbers.x, size)), "y": b64url(as_int_bytes(numbers.y, size))}
    return {"key": {"kid": KEY_URL, "key_ops": ["sign", "verify"], **jwk},
            "attributes": {"enabled": True, "created": 1493938410, "updated": 1493938410,
                           "recoveryLevel": "Recoverable+Purgeable"}}


def vault(routes: dict[tuple[str, str], object]) -> ExampleTransport:
    """Key Vault's challenge first (a request without a token gets a 401 naming the resource), then the answers."""
    def challenged(answer):
        def respond(request):
            if "Authorization" not in request.headers:
                return 401, None, {"WWW-Authenticate": 'Bearer authorization="https://login.microsoftonline.com/'
                                                       '00000000-0000-0000-0000-000000000000", '
                                                       'resource="https://vault.azure.net"'}
            return answer(request) if callable(answer) else (200, answer, {})
        return respond

    return ExampleTransport([Route(method, path, respond=challenged(answer)) for (method, path), answer in routes.items()])


def test_the_seal_is_signed_through_key_vault_as_the_spec_example_answers(tmp_path):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    transport = vault({("GET", f"{KEY_PATH}/?"): key_bundle(rsa_key.public_key()),
                       ("POST", f"{KEY_PATH}/sign"): example_body(SIGN_EXAMPLE)})
    signer = KeyVaultSigner(KEY_URL, FakeCredential(), transport=transport)
    run_dir = a_run_dir(tmp_path)
    seal(run_dir, signer=signer)

    document = json.loads((run_dir / SIG).read_text())
    key = document["statement"]["key"]
    assert key == {"id": key_id(rsa_key.public_key()), "algorithm": "RS256",
                   "public_key": public_pem(rsa_key.public_key()), "source": f"Key Vault {KEY_URL}"}
    sign = next(r for r in transport.requests if r.url.split("?")[0].endswith("/sign") and r.headers.get("Authorization"))
    body = json.loads(sign.body)
    # Key Vault gets the SHA-256 of the statement to sign, never the statement or a key.
    assert body == {"alg": "RS256", "value": b64url(hashlib.sha256(canonical(document["statement"])).digest())}
    assert base64.b64decode(document["signature"]) == unb64url(example_body(SIGN_EXAMPLE)["value"])
    # The example's signature is over another digest by another key: verification must say so.
    assert verify(run_dir)["problems"] == [
        {"file": SIG, "problem": "the signature does not verify: the statement was changed after it was signed"}]


def es256_signing_double(private: ec.EllipticCurvePrivateKey):
    """Signs the digest it is sent as Key Vault's ES256 does: ECDSA P-256, r||s, base64url."""
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    def respond(request):
        body = json.loads(request.body)
        assert body["alg"] == "ES256"
        der = private.sign(unb64url(body["value"]), ec.ECDSA(Prehashed(hashes.SHA256())))
        r, s = decode_dss_signature(der)
        return 200, {"kid": KEY_URL, "value": b64url(as_int_bytes(r, 32) + as_int_bytes(s, 32))}, {}
    return respond


def test_an_es256_key_vault_signature_verifies_with_the_public_key_and_catches_a_forgery(tmp_path):
    private = ec.generate_private_key(ec.SECP256R1())
    transport = vault({("GET", f"{KEY_PATH}/?"): key_bundle(private.public_key()),
                       ("POST", f"{KEY_PATH}/sign"): es256_signing_double(private)})
    run_dir = a_run_dir(tmp_path)
    seal(run_dir, signer=KeyVaultSigner(KEY_URL, FakeCredential(), transport=transport))
    trusted = {key_id(private.public_key()): private.public_key()}
    assert verify(run_dir, trusted)["problems"] == []
    assert verify(run_dir, trusted)["signatures"][0]["algorithm"] == "ES256"
    document = json.loads((run_dir / SIG).read_text())
    document["statement"]["run_id"] = "another-run"
    (run_dir / SIG).write_text(json.dumps(document))
    assert verify(run_dir, trusted)["problems"][0]["problem"].startswith("the signature does not verify")


def test_a_key_vault_that_refuses_the_key_is_bad_input_naming_the_permissions():
    transport = vault({("GET", f"{KEY_PATH}/?"): lambda request: (403, {"error": {"code": "Forbidden",
                                                                                  "message": "no keys/get"}}, {})})
    with pytest.raises(BadInput, match=r"--signing-key: .*Key Vault answered 403 .*needs keys/get and keys/sign"):
        KeyVaultSigner(KEY_URL, FakeCredential(), transport=transport)


def test_a_key_type_drctl_does_not_sign_with_is_refused_before_any_run():
    p384 = ec.generate_private_key(ec.SECP384R1())
    transport = vault({("GET", f"{KEY_PATH}/?"): key_bundle(p384.public_key())})
    with pytest.raises(BadInput, match="is a key of type EC P-384: drctl signs with an EC P-256 \\(ES256\\) or RSA 2048\\+ \\(RS256\\) key"):
        KeyVaultSigner(KEY_URL, FakeCredential(), transport=transport)
    assert not any(r.url.split("?")[0].endswith("/sign") for r in transport.requests)
