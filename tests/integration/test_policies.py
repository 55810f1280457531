"""Vault policies as the second wall: real logins with each policy, allowed and denied paths."""

from __future__ import annotations

import pytest

from tests.helpers import Account
from vault_bridge.bootstrap import RUNNER_ROLE, SERVICE_ROLE
from vault_bridge.vault.client import VaultClient, VaultForbidden
from vault_bridge.vault.sys import Sys


def login_approle(bao, admin_client, role: str) -> VaultClient:
    sys_ = Sys(admin_client)
    return VaultClient(
        bao.addr,
        role_id=sys_.approle_role_id("approle", role),
        secret_id=sys_.approle_secret_id("approle", role),
    )


def login_user(bao, account: Account) -> VaultClient:
    body = VaultClient(bao.addr).request(
        "POST",
        f"auth/userpass/login/{account.id}",
        json={"password": account.password},
        authenticated=False,
    )
    return VaultClient(bao.addr, token=body["auth"]["client_token"])


def allowed(client: VaultClient, method: str, path: str, data: dict | None = None) -> bool:
    try:
        client.request(method, path, json=data)
    except VaultForbidden:
        return False
    return True


def test_service_policy_signs_but_cannot_rotate_or_touch_policies(bao, admin_client) -> None:
    service = login_approle(bao, admin_client, SERVICE_ROLE)
    assert allowed(service, "GET", "vault-bridge-transit/keys/personal-access-tokens")
    assert allowed(
        service,
        "POST",
        "vault-bridge-transit/sign/personal-access-tokens",
        {"input": "aGk=", "marshaling_algorithm": "jws"},
    )
    assert not allowed(service, "POST", "vault-bridge-transit/keys/personal-access-tokens/rotate")
    assert not allowed(
        service, "GET", "vault-bridge-transit/export/signing-key/personal-access-tokens"
    )
    assert not allowed(
        service, "POST", "sys/policies/acl/evil", {"policy": 'path "*" {capabilities=["sudo"]}'}
    )
    assert not allowed(service, "POST", "sys/mounts/evil", {"type": "kv"})
    assert not allowed(service, "POST", "auth/approle/role/vault-bridge/secret-id")


def test_runner_policy_reads_no_token_at_all(bao, admin_client, admin, user: Account) -> None:
    admin.tokens.issue(user.id, "for-runner-test", ["api"])
    runner = login_approle(bao, admin_client, RUNNER_ROLE)
    record_id = admin.tokens.records.ids(user.id)[0]
    for path in (
        f"vault-bridge/data/users/{user.id}/personal-access-tokens/{record_id}",
        f"vault-bridge/data/users/{user.id}/provider-access-tokens/ibm-quantum",
        "vault-bridge/data/config/session",
        "vault-bridge/data/denylist/meta",
    ):
        assert not allowed(runner, "GET", path), path
    assert not allowed(runner, "LIST", "vault-bridge/metadata/users")
    assert allowed(runner, "GET", "auth/token/lookup-self")


def test_user_token_reaches_only_its_own_paths_and_cannot_read_secrets(
    bao, admin_client, make_user
) -> None:
    alice, bob = make_user(), make_user()
    token = login_user(bao, alice)
    own = f"vault-bridge/data/users/{alice.id}/provider-access-tokens/ibm-quantum"
    other = f"vault-bridge/data/users/{bob.id}/provider-access-tokens/ibm-quantum"
    assert allowed(token, "POST", own, {"data": {"token": "alice-secret"}})
    assert not allowed(token, "GET", own)  # write-only, even for its owner
    assert not allowed(token, "POST", other, {"data": {"token": "x"}})
    assert not allowed(token, "GET", other)
    assert not allowed(
        token, "LIST", f"vault-bridge/metadata/users/{bob.id}/provider-access-tokens"
    )
    assert not allowed(token, "GET", "vault-bridge/data/config/session")
    assert not allowed(token, "GET", f"vault-bridge/data/users/{bob.id}/pat-index")
    assert not allowed(token, "POST", f"vault-bridge/data/users/{alice.id}/pat-index", {"data": {}})
    assert not allowed(
        token, "POST", "vault-bridge-transit/sign/personal-access-tokens", {"input": "aGk="}
    )
    assert not allowed(token, "POST", "vault-bridge/data/denylist/meta", {"data": {}})


def test_operator_policy_inspects_but_never_reads_secret_values(
    bao, admin_client, admin, user: Account
) -> None:
    admin_client.write(
        f"vault-bridge/data/users/{user.id}/provider-access-tokens/ibm-quantum",
        {"data": {"token": "secret-value"}},
    )
    admin.tokens.issue(user.id, "operator-visible", ["api"])
    body = admin_client.write(
        "auth/token/create", {"policies": ["vault-bridge-operator"], "ttl": "5m"}
    )
    operator = VaultClient(bao.addr, token=body["auth"]["client_token"])
    record_id = admin.tokens.records.ids(user.id)[0]
    assert allowed(
        operator, "GET", f"vault-bridge/data/users/{user.id}/personal-access-tokens/{record_id}"
    )
    assert allowed(operator, "GET", f"vault-bridge/data/users/{user.id}/pat-index")
    assert allowed(operator, "GET", f"vault-bridge/data/pat-owners/{record_id}")
    assert allowed(
        operator, "GET", f"vault-bridge/metadata/users/{user.id}/provider-access-tokens/ibm-quantum"
    )
    assert not allowed(
        operator, "GET", f"vault-bridge/data/users/{user.id}/provider-access-tokens/ibm-quantum"
    )
    assert not allowed(operator, "GET", "vault-bridge/data/config/session")
    assert allowed(operator, "POST", "vault-bridge-transit/keys/personal-access-tokens/rotate")
    assert not allowed(
        operator, "POST", "vault-bridge-transit/sign/personal-access-tokens", {"input": "aGk="}
    )


@pytest.mark.parametrize(
    "name",
    ["vault-bridge-service", "vault-bridge-runner", "vault-bridge-operator", "vault-bridge-user"],
)
def test_policy_files_are_loaded_verbatim(admin_client, name: str) -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "policies" / f"{name}.hcl").read_text()
    assert Sys(admin_client).read_policy(name) == text


def test_service_cannot_mint_privileged_accounts_or_groups(bao, admin_client) -> None:
    service = login_approle(bao, admin_client, SERVICE_ROLE)
    evil_user = {"password": "x" * 12, "token_policies": "vault-bridge-admin"}
    assert not allowed(service, "POST", "auth/userpass/users/evil", evil_user)
    assert not allowed(
        service, "POST", "auth/userpass/users/evil", {"password": "x" * 12, "policies": "root"}
    )
    assert not allowed(
        service,
        "POST",
        "identity/group/name/vault-bridge-org-x-owner",
        {"type": "internal", "policies": "vault-bridge-admin"},
    )
    assert not allowed(service, "POST", "identity/group/name/other-group", {"type": "internal"})
    assert not allowed(service, "POST", "sys/policies/acl/vault-bridge-service", {"policy": ""})


def test_organization_policies_for_members_own_vault_tokens(bao, admin, make_user) -> None:
    owner, maint, viewer, outsider = (make_user(p) for p in ("ao", "am", "av", "ax"))
    org = f"pol-{owner.id[-8:]}"
    admin.orgs.create(org, "Policy Org", admin.directory.get_user(owner.id), actor="test")
    admin.orgs.set_member(org, maint.id, "maintainer", actor="test")
    admin.orgs.set_member(org, viewer.id, "viewer", actor="test")
    data_path = f"vault-bridge/data/orgs/{org}/provider-access-tokens/ionq"
    meta_path = f"vault-bridge/metadata/orgs/{org}/provider-access-tokens/ionq"
    body = {"data": {"api_key": "k" * 40}}
    for account in (owner, maint):
        token = login_user(bao, account)
        assert allowed(token, "POST", data_path, body)
        assert allowed(token, "GET", meta_path)
        assert not allowed(token, "GET", data_path)  # write-only for everyone
    as_viewer = login_user(bao, viewer)
    assert allowed(as_viewer, "GET", meta_path)
    assert allowed(as_viewer, "LIST", f"vault-bridge/metadata/orgs/{org}/provider-access-tokens")
    assert not allowed(as_viewer, "POST", data_path, body)
    assert not allowed(as_viewer, "GET", data_path)
    as_outsider = login_user(bao, outsider)
    assert not allowed(as_outsider, "GET", meta_path)
    assert not allowed(as_outsider, "POST", data_path, body)
    admin.orgs.delete(org, actor="test")
