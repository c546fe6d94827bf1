"""PostgreSQL on Azure is reached with sslmode=verify-full against Azure's root certificates: the bundle
holds exactly the two roots Azure Database for PostgreSQL flexible server documents, and a server
whose certificate does not chain to them is refused before the token is sent, where sslmode=require
hands it over. The server here is a small impostor speaking PostgreSQL's protocol (the embedded
PostgreSQL wheel is built without TLS), standing in for whoever sits between drctl and Azure.
"""

from __future__ import annotations

import contextlib
import datetime
import shutil
import socket
import ssl
import struct
import tempfile
import threading
from pathlib import Path

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from orchestrator.targets.azure.tls import POSTGRES_ROOT_CERTS, postgres_tls

# SHA-256 fingerprints as their issuers publish them (DigiCert's and Microsoft's PKI repositories).
AZURE_ROOTS = {
    "DigiCert Global Root G2": "cb3ccbb76031e5e0138f8dd39a23f9de47ffc35e43c1144cea27d46a5ab1cb5f",
    "Microsoft RSA Root Certificate Authority 2017": "c741f70f4b2a8d88bf2e71c14122ef53ef10eba0cfa5e64cfa20f418853073e0",
}


def test_the_bundle_holds_exactly_azures_two_root_authorities():
    certificates = x509.load_pem_x509_certificates(POSTGRES_ROOT_CERTS.read_bytes())
    found = {c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value: c.fingerprint(hashes.SHA256()).hex()
             for c in certificates}
    assert found == AZURE_ROOTS
    assert postgres_tls() == {"sslmode": "verify-full", "sslrootcert": str(POSTGRES_ROOT_CERTS)}


def _self_signed(folder: Path, host: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "server.crt", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _read(sock, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


class Impostor:
    """A server on loopback that speaks enough of PostgreSQL's protocol to take a password: it accepts
    TLS with its own self-signed certificate, then asks for the password in clear text (inside TLS)."""

    SSL_REQUEST = 80877103

    def __init__(self, cert: Path, key: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.passwords: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with contextlib.suppress(OSError, ConnectionError, struct.error):
                self._one(conn)
            conn.close()

    def _one(self, conn: socket.socket) -> None:
        length, code = struct.unpack("!ii", _read(conn, 8))
        assert (length, code) == (8, self.SSL_REQUEST)
        conn.sendall(b"S")
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except ssl.SSLError:
            return  # the client checked the certificate and hung up
        (startup_length,) = struct.unpack("!i", _read(tls, 4))
        _read(tls, startup_length - 4)
        tls.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
        kind, size = struct.unpack("!ci", _read(tls, 5))
        if kind == b"p":
            self.passwords.append(_read(tls, size - 4).rstrip(b"\0").decode())

    def close(self) -> None:
        self.listener.close()


@pytest.mark.integration
def test_a_server_whose_certificate_is_not_azures_is_refused_before_the_token_is_sent():
    folder = Path(tempfile.mkdtemp(prefix="drctl-pg-tls-"))
    impostor = None
    try:
        impostor = Impostor(*_self_signed(folder, "localhost"))
        settings = {"host": "localhost", "port": impostor.port, "user": "pg-admins", "dbname": "platform",
                    "password": "an-entra-access-token", "connect_timeout": 10, "gssencmode": "disable"}
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(**settings, sslmode="require")  # encrypted, to anyone's certificate
        assert impostor.passwords == ["an-entra-access-token"]
        with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
            psycopg.connect(**settings, **postgres_tls())
        assert impostor.passwords == ["an-entra-access-token"]  # nothing more: the token never left
    finally:
        if impostor is not None:
            impostor.close()
        shutil.rmtree(folder, ignore_errors=True)
