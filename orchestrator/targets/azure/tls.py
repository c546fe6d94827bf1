"""TLS to Azure's data services, verified: the server's certificate must chain to one of Azure's
root certificate authorities and name the host drctl asked for. `sslmode=require` encrypts but
verifies nothing, so anyone between drctl and the server could present a certificate of their own
and read the Entra token drctl sends as its password."""

from __future__ import annotations

from pathlib import Path

# DigiCert Global Root G2 and Microsoft RSA Root Certificate Authority 2017, which Azure Database for
# PostgreSQL flexible server's certificates chain to (the file says where they come from).
POSTGRES_ROOT_CERTS = Path(__file__).resolve().with_name("postgres_roots.pem")


def postgres_tls() -> dict[str, str]:
    """libpq's settings for a verified TLS connection to Azure Database for PostgreSQL."""
    return {"sslmode": "verify-full", "sslrootcert": str(POSTGRES_ROOT_CERTS)}
