"""Who is signed in to Entra, from their own token: the identity `drctl approve` records on Azure."""

from __future__ import annotations

import json
import os

import pytest

from orchestrator.errors import BadInput
from orchestrator.targets.azure.signed_in import (
    ARM_SCOPE,
    identity_from_claims,
    person_credential,
    signed_in_person,
    token_claims,
)
from tests.entra_tokens import INDY_OBJECT_ID, TENANT, TokenCredential, app_claims, fake_az, jwt, user_claims


def test_a_users_token_names_them_by_object_id_upn_and_tenant():
    credential = TokenCredential(user_claims())
    person = signed_in_person(credential)
    assert credential.scopes == [ARM_SCOPE]
    assert (person.object_id, person.upn, person.tenant_id, person.token_id) == \
        (INDY_OBJECT_ID, "indy@contoso.example", TENANT, "AbCdEf123456")
    assert "token" not in json.dumps(person.record()).replace("token_id", "")  # never the bearer token itself


def test_a_v2_token_names_them_by_preferred_username():
    person = identity_from_claims(user_claims(upn=None, preferred_username="indy@contoso.example", idtyp=None))
    assert person.upn == "indy@contoso.example"


@pytest.mark.parametrize("claims, words", [
    (app_claims(), "an application's"),
    (app_claims(idtyp=None), "an application's"),  # no idtyp claim: no `scp` says it all the same
    (user_claims(oid=None), "no object id"),
], ids=["app token", "app token without idtyp", "no oid"])
def test_a_token_that_names_no_person_is_refused(claims, words):
    with pytest.raises(BadInput, match=words):
        signed_in_person(TokenCredential(claims))


@pytest.mark.parametrize("token", ["opaque-token", "a.!!!.c", f"a.{jwt(['not', 'claims']).split('.')[1]}.c"])
def test_a_token_that_is_not_a_jwt_of_claims_is_one_line(token):
    with pytest.raises(BadInput, match="Entra token") as raised:
        token_claims(token)
    assert "\n" not in str(raised.value)


def test_the_persons_own_sign_in_through_the_real_azure_identity_chain(tmp_path, monkeypatch):
    """DefaultAzureCredential as drctl builds it, with the Azure CLI the person signed in with."""
    fake_az(tmp_path, jwt(user_claims()))
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(tmp_path))  # no shared token cache or VS Code sign-in of the machine's
    assert signed_in_person().object_id == INDY_OBJECT_ID


def test_a_service_principal_in_the_environment_cannot_stand_in_for_the_person(tmp_path, monkeypatch):
    """The runner's identities (a secret in the environment, a managed or workload identity) are not
    in the chain drctl asks: with nobody signed in there is no token, and that is one line."""
    for name, value in (("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555"), ("AZURE_TENANT_ID", TENANT),
                        ("AZURE_CLIENT_SECRET", "not-a-real-secret"), ("AZURE_FEDERATED_TOKEN_FILE", "/dev/null")):
        monkeypatch.setenv(name, value)
    chain = [type(c).__name__ for c in person_credential().credentials]
    assert "AzureCliCredential" in chain
    assert not {"EnvironmentCredential", "ManagedIdentityCredential", "WorkloadIdentityCredential"} & set(chain), chain
    monkeypatch.setenv("PATH", str(tmp_path))  # no az, pwsh or azd
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(BadInput, match=r"needs your own Entra sign-in .*az login") as raised:
        signed_in_person()
    assert "\n" not in str(raised.value) and "not-a-real-secret" not in str(raised.value)
