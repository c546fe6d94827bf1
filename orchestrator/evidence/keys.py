"""Which key signs a run's evidence, and the public keys a verifier trusts.

The signing key, the first of these that is given:

    drctl --signing-key FILE|KEY_URL   (before the verb) a file, or a Key Vault key identifier
    DRCTL_SIGNING_KEY_URL              a Key Vault key: https://<vault>.vault.azure.net/keys/<name>[/<version>]
    DRCTL_SIGNING_KEY_FILE             a file
    DRCTL_SIGNING_KEY                  the key itself (a CI secret), in the same form as the file

A local key is an Ed25519 private key in PEM (PKCS#8, unencrypted), as `openssl genpkey -algorithm
ed25519` writes it; its file must not be readable by other users. With none of these, drctl uses
`<workdir>/keys/evidence-signing-key.pem`, generated 0600 on first use, its public key beside it
(`.pub`), and says so on stderr: a seal is always signed, and always says by which key.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from orchestrator.atomic import write_atomic
from orchestrator.engine.progress import progress_line
from orchestrator.errors import BadInput
from orchestrator.evidence.signatures import KeyInfo, PublicKey, Signer, algorithm_for, key_id, public_pem
from orchestrator.run.rundir import RunDir

URL_ENV, FILE_ENV, PEM_ENV = "DRCTL_SIGNING_KEY_URL", "DRCTL_SIGNING_KEY_FILE", "DRCTL_SIGNING_KEY"
DEFAULT_KEY = Path("keys") / "evidence-signing-key.pem"
# Key Vault and Managed HSM hosts in the public and sovereign clouds; a name and an optional version.
KEY_VAULT_URL = re.compile(r"^https://[a-z0-9-]{3,24}\.(vault\.azure\.net|vault\.azure\.cn|vault\.usgovcloudapi\.net|"
                           r"managedhsm\.azure\.net)/keys/[A-Za-z0-9-]{1,127}(/[0-9a-f]{32})?/?$")

_configured: str | None = None  # --signing-key, set by the drctl group before any verb runs
# The configured key, loaded once per configuration (a Key Vault key is read over the network).
_loaded: tuple[tuple[str | None, ...], Signer | None] | None = None


class LocalSigner:
    def __init__(self, private_key: ed25519.Ed25519PrivateKey, source: str) -> None:
        self._key = private_key
        public = private_key.public_key()
        self.info = KeyInfo(algorithm="Ed25519", key_id=key_id(public), public_key_pem=public_pem(public), source=source)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def use_signing_key(value: str | None) -> None:
    """`drctl --signing-key`: load (and check) it now, so a bad key is refused before a run starts."""
    global _configured
    _configured = value
    configured_signer()


def configured_signer() -> Signer | None:
    """The signer the operator configured (option or environment); None when they configured none."""
    global _loaded
    environment = {name: os.environ.get(name, "").strip() for name in (URL_ENV, FILE_ENV, PEM_ENV)}
    configuration = (_configured, *environment.values())
    if _loaded is None or _loaded[0] != configuration:
        _loaded = (configuration, _load(_configured, {name: value for name, value in environment.items() if value}))
    return _loaded[1]


def _load(option: str | None, given: dict[str, str]) -> Signer | None:
    if option:
        return _from_reference(option, "--signing-key")
    if len(given) > 1:
        raise BadInput(f"{' and '.join(given)} are set together: set one (or pass --signing-key)")
    if URL_ENV in given:
        return _from_reference(given[URL_ENV], URL_ENV)
    if FILE_ENV in given:
        return _from_file(Path(given[FILE_ENV]), FILE_ENV)
    if PEM_ENV in given:
        return LocalSigner(_private_key(given[PEM_ENV].encode(), PEM_ENV), f"environment {PEM_ENV}")
    return None


def signer_for(run_dir: Path) -> Signer:
    """The configured signer, else the workdir's own key (generated the first time)."""
    return configured_signer() or workdir_signer(default_key_path(run_dir))


def default_key_path(run_dir: Path) -> Path:
    """`<workdir>/keys/...` for a run at `<workdir>/runs/<stack>/<run-id>`, else beside the run directory."""
    run_dir = Path(run_dir).resolve()
    parents = run_dir.parents
    workdir = parents[2] if len(parents) > 2 and parents[1].name == RunDir.RUNS else run_dir.parent
    return workdir / DEFAULT_KEY


def workdir_signer(path: Path) -> Signer:
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = ed25519.Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        try:
            write_atomic(path, pem, exclusive=True, mode=0o600)
        except FileExistsError:
            pass  # another drctl generated it first: use that one
        else:
            public = path.with_name(path.name + ".pub")
            write_atomic(public, public_pem(key.public_key()))
            progress_line(f"evidence: no signing key configured (--signing-key, ${FILE_ENV}, ${URL_ENV}); generated "
                          f"{path} (key id {key_id(key.public_key())}); verify with --public-key {public}")
    return _from_file(path, "the workdir's key")


def load_public_keys(paths: tuple[Path, ...] | list[Path]) -> dict[str, PublicKey]:
    """`--public-key FILE...`: {key id: key}; BadInput naming a file that is not a PEM public key."""
    keys: dict[str, PublicKey] = {}
    for path in paths:
        try:
            key = serialization.load_pem_public_key(Path(path).read_bytes())
        except OSError as exc:
            raise BadInput(f"--public-key: {path}: {exc.strerror}") from None
        except ValueError:
            raise BadInput(f"--public-key: {path} is not a PEM public key (-----BEGIN PUBLIC KEY-----)") from None
        if not isinstance(key, PublicKey) or algorithm_for(key) is None:
            raise BadInput(f"--public-key: {path}: not an Ed25519, EC P-256 or RSA (2048+) public key")
        keys[key_id(key)] = key
    return keys


def _from_reference(value: str, where: str) -> Signer:
    if value.startswith("https://"):
        if not KEY_VAULT_URL.match(value):
            raise BadInput(f"{where}: {value} is not a Key Vault key identifier "
                           "(https://<vault>.vault.azure.net/keys/<name>[/<version>])")
        from orchestrator.evidence.keyvault import KeyVaultSigner

        return KeyVaultSigner.connect(value.rstrip("/"), where=where)
    return _from_file(Path(value), where)


def _from_file(path: Path, where: str) -> LocalSigner:
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{where}: {path}: {exc.strerror}") from None
    if stat.S_IMODE(mode) & 0o077:
        raise BadInput(f"{where}: {path} can be read by other users (mode {stat.S_IMODE(mode):04o}): chmod 600 it")
    return LocalSigner(_private_key(data, f"{where} {path}"), f"file {path.resolve()}")


def _private_key(data: bytes, where: str) -> ed25519.Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise BadInput(f"{where}: not an unencrypted PEM private key "
                       "(make one with: openssl genpkey -algorithm ed25519)") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise BadInput(f"{where}: not an Ed25519 key (a local key is Ed25519; Key Vault keys are given by URL)")
    return key
