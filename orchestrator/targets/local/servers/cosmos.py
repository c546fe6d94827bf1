"""A Cosmos DB SQL API server on loopback, as one local region of a Cosmos DB account: the npm package
@vercel/cosmosdb-server (an in-memory server; no telemetry of its own), run by node over TLS.

- TLS: a certificate for 127.0.0.1 is made in the server's data directory on its first start (its key
  0600), so azure-cosmos verifies the server (`client_kwargs`) instead of switching TLS checks off: the
  SDK skips verification for 127.0.0.1 unless given an ssl_config.
- Regions: a server started as a read region refuses client writes (HTTP 403) until `make_writable`,
  as an account's read region does until a failover moves the write region to it. Only the account's
  own replication (a request carrying the server's control token) writes to it before then: the token
  is random per server, kept 0600 in the data directory, and never logged.
- Sign-in: the server checks no signature. Clients use a Microsoft Entra-shaped token
  (`LoopbackCredential`), so the SDK takes the same path as on Azure, where the account has local
  auth off; no key or secret exists.

The data lives in the process: a stopped server comes back empty (see targets/local/cosmos.py for
what that means for a resumed drill).

Where the package is looked for: DRCTL_COSMOSDB_SERVER (the package's folder), else node_modules/ at
the repository root; node must be on PATH.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import os
import secrets
import shutil
import ssl
import time
from pathlib import Path
from typing import Any

from orchestrator.atomic import write_atomic
from orchestrator.targets.local.servers.processes import HOST, ManagedServer

PACKAGE = "@vercel/cosmosdb-server"
ENV = "DRCTL_COSMOSDB_SERVER"
MISSING = (f"the Cosmos DB local server is not installed: `npm install {PACKAGE}` at the repository root "
           f"(or set {ENV} to its folder); node is needed too")
_REPO_ROOT = Path(__file__).resolve().parents[4]
CONTROL_HEADER = "x-drctl-control"
KEY, CERT, TOKEN, ROLE = "key.pem", "cert.pem", "control.token", "role.json"
CERT_DAYS = 3  # a drill, and a region left running by --keep-running for cleanup's 24 hours
# The package's HTTPS server with our certificate and keep-alive (it closes every connection otherwise,
# a TLS handshake per request), behind a gate: a read region refuses writes without the control token.
# Queries are POSTs too, marked by their header. 403 without WriteForbidden's substatus 3, on which the
# SDK would wait minutes for the write region to move.
LAUNCHER = """
const fs = require("fs");
const [pkg, keyPath, certPath, tokenPath, port, role, region] = process.argv.slice(1);
const { createHttpsServer } = require(pkg);
const server = createHttpsServer({ key: fs.readFileSync(keyPath), cert: fs.readFileSync(certPath), keepAlive: true });
const serve = server.listeners("request")[0];
server.removeAllListeners("request");
const token = fs.readFileSync(tokenPath, "utf8").trim();
let writable = role === "write";
const reply = (res, status, body) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};
// The account read names this region, and lists it writable only once it is the write region.
const regions = (res) => {
  const end = res.end.bind(res);
  res.end = (body) => {
    const account = JSON.parse(body);
    const here = [{ name: region, databaseAccountEndpoint: `https://127.0.0.1:${server.address().port}/` }];
    account.readableLocations = here;
    account.writableLocations = writable ? here : [];
    return end(JSON.stringify(account));
  };
};
server.on("request", (req, res) => {
  const control = req.headers["x-drctl-control"] === token;
  if (req.url === "/drctl/failover" && req.method === "POST") {
    if (!control) return reply(res, 401, { code: "Unauthorized", message: "the control token is missing" });
    writable = true;
    return reply(res, 200, { writable });
  }
  const query = req.method === "POST" && String(req.headers["x-ms-documentdb-isquery"]).toLowerCase() === "true";
  const write = !["GET", "HEAD"].includes(req.method) && !query;
  if (write && !writable && !control) {
    return reply(res, 403, { code: "Forbidden", message: "this region is a read region of the account: writes go to its write region until a failover moves it here" });
  }
  if (req.method === "GET" && req.url === "/") regions(res);
  serve(req, res);
});
server.listen(Number(port), "127.0.0.1", () => console.log(`listening ${server.address().port}`));
"""


def package_dir() -> Path | None:
    """The package's folder, or None where it (or node) is not installed."""
    candidate = Path(os.environ.get(ENV) or _REPO_ROOT / "node_modules" / PACKAGE)
    return candidate if (candidate / "package.json").is_file() and shutil.which("node") else None


def write_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 in `folder`: (key 0600, certificate)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / KEY, folder / CERT
    write_atomic(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()), mode=0o600)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


class LoopbackCredential:
    """A TokenCredential for the local server, which checks no signature: the SDK signs in as on Azure."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("local-cosmos-server-checks-no-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo("local-cosmos-server-checks-no-token", int(time.time()) + 3600)


class CosmosServer(ManagedServer):
    """One region of a local Cosmos DB account, named `region` in its account read. `writable`: a write
    region; else a read region until `make_writable` (its role is kept in the data directory, so a
    restart keeps it)."""

    kind = "cosmos"

    def __init__(self, data_dir: str | os.PathLike, *, writable: bool = True, region: str = "local") -> None:
        super().__init__(data_dir)
        self._initial_role, self.region = ("write" if writable else "read"), region

    @property
    def ca(self) -> Path:
        """The server's certificate: what clients verify it with."""
        return self.data_dir / CERT

    @property
    def writable(self) -> bool:
        try:
            return json.loads((self.data_dir / ROLE).read_text())["role"] == "write"
        except (FileNotFoundError, ValueError, KeyError):
            return self._initial_role == "write"

    def _marker(self) -> str:
        return str(self.data_dir / KEY)

    def _prepare(self) -> None:
        if not (self.data_dir / KEY).is_file() or not self.ca.is_file():
            write_certificate(self.data_dir)
        if not (self.data_dir / TOKEN).is_file():
            write_atomic(self.data_dir / TOKEN, secrets.token_urlsafe(32), mode=0o600)

    def _command(self, port: int) -> list[str]:
        package = package_dir()
        if package is None:
            raise FileNotFoundError(MISSING)
        return ["node", "-e", LAUNCHER, str(package), str(self.data_dir / KEY), str(self.ca),
                str(self.data_dir / TOKEN), str(port), "write" if self.writable else "read", self.region]

    def _popen_kwargs(self) -> dict:
        return {"cwd": str(self.data_dir)}

    def _is_ready(self, port: int) -> bool:
        conn = http.client.HTTPSConnection(HOST, port, timeout=1, context=self._tls())
        try:
            conn.request("GET", "/")
            return conn.getresponse().status == 200
        except (OSError, ssl.SSLError):
            return False
        finally:
            conn.close()

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    # -- connecting -----------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"https://{HOST}:{self.port}/"

    def client_kwargs(self) -> dict[str, Any]:
        """CosmosClient's options for this server: verified TLS, and no SDK retries (the orchestrator
        retries whole steps; the SDK's back-off would only hide a dead server)."""
        from azure.cosmos import SSLConfiguration

        return {"ssl_config": SSLConfiguration(), "connection_verify": str(self.ca), "retry_total": 0,
                "connection_timeout": 5}

    def client(self, *, as_replication: bool = False) -> Any:
        """A CosmosClient. `as_replication`: the account's own replication, which writes to a read region."""
        from azure.cosmos import CosmosClient

        headers = {CONTROL_HEADER: self._token()} if as_replication else {}
        return CosmosClient(self.endpoint, credential=LoopbackCredential(), headers=headers, **self.client_kwargs())

    def make_writable(self) -> None:
        """The failover's part here: this region takes the account's writes from now on."""
        conn = http.client.HTTPSConnection(HOST, self.port, timeout=5, context=self._tls())
        try:
            conn.request("POST", "/drctl/failover", headers={CONTROL_HEADER: self._token()})
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        if response.status != 200 or not json.loads(body).get("writable"):
            raise RuntimeError(f"the Cosmos DB server in {self.data_dir} did not take the write region: "
                               f"HTTP {response.status}")
        write_atomic(self.data_dir / ROLE, json.dumps({"role": "write"}))

    def _token(self) -> str:
        return (self.data_dir / TOKEN).read_text().strip()
