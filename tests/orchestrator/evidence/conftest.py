"""Every evidence test starts with no signing key configured: neither the developer's environment
nor an earlier test's --signing-key chooses the key."""

import pytest

from orchestrator.evidence import keys


@pytest.fixture(autouse=True)
def no_configured_signing_key(monkeypatch):
    for name in (keys.URL_ENV, keys.FILE_ENV, keys.PEM_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(keys, "_configured", None)
    monkeypatch.setattr(keys, "_loaded", None)
