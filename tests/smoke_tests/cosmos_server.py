"""A Cosmos DB SQL API server on loopback for the Cosmos checks' tests: the npm package
@vercel/cosmosdb-server, run by node over TLS with a certificate made for 127.0.0.1 here, so
azure-cosmos verifies it (CosmosServer.client_kwargs) instead of switching TLS checks off.

Where it is looked for: DRCTL_COSMOSDB_SERVER (the package's folder), else node_modules/ at the
repository root. Absent (or no node), the tests that need it are skipped, saying how to install it.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "@vercel/cosmosdb-server"
ENV = "DRCTL_COSMOSDB_SERVER"
MISSING = (f"the Cosmos DB local server is not installed: `npm install {PACKAGE}` at the repository root "
           f"(or set {ENV} to its folder); node is needed too. The tests that run against it are skipped")
# Serves the package's HTTPS server with our certificate on an ephemeral loopback port.
SERVE = """
const fs = require("fs");
const { createHttpsServer } = require(process.argv[1]);
const server = createHttpsServer({ key: fs.readFileSync(process.argv[2]), cert: fs.readFileSync(process.argv[3]) });
server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
"""


@dataclass(frozen=True)
class CosmosServer:
    endpoint: str  # https://127.0.0.1:<port>/
    ca: str  # the server's certificate

    def client_kwargs(self) -> dict[str, Any]:
        """CosmosClient's TLS options for this server. azure-cosmos skips verification for 127.0.0.1 and
        localhost unless an ssl_config is given; with one, connection_verify is the CA bundle used."""
        from azure.cosmos import SSLConfiguration

        return {"ssl_config": SSLConfiguration(), "connection_verify": self.ca, "retry_total": 0}


def package_dir() -> Path | None:
    candidate = Path(os.environ.get(ENV) or REPO / "node_modules" / PACKAGE)
    return candidate if (candidate / "package.json").is_file() and shutil.which("node") else None


def _certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    key_path, cert_path = folder / "key.pem", folder / "cert.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def serve(folder: Path) -> Iterator[CosmosServer]:
    """The server for one test module: started, then stopped (its process, by its id)."""
    package = package_dir()
    if package is None:
        pytest.skip(MISSING)
    key, cert = _certificate(folder)
    process = subprocess.Popen(["node", "-e", SERVE, str(package), str(key), str(cert)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("listening "):
            raise RuntimeError(f"{PACKAGE} did not start: {line}{process.stdout.read()[:500]}")
        yield CosmosServer(f"https://127.0.0.1:{int(line.split()[1])}/", str(cert))
    finally:
        process.terminate()
        process.wait(10)
