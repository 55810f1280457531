"""Vault policies as the second wall: real logins with each policy, allowed and denied paths."""

from __future__ import annotations

import pytest

from tests.helpers import Account, unique_id
from vault_bridge.bootstrap import RECONCILER_ROLE, RUNNER_ROLE, SERVICE_ROLE
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
    # identities and accounts, as the runbook has it; never a policy anywhere
    entity = f"identity/entity/name/{user.id}"
    assert allowed(operator, "POST", entity, {"disabled": True})
    assert allowed(operator, "POST", entity, {"disabled": False})
    assert not allowed(operator, "POST", entity, {"policies": "vault-bridge-admin"})
    assert not allowed(operator, "POST", "identity/group/name/ops", {"policies": "root"})
    login = f"auth/userpass/users/{user.id}"
    assert allowed(operator, "POST", login, {"password": "a new long password"})
    assert not allowed(operator, "POST", login, {"token_policies": "vault-bridge-admin"})
    assert not allowed(operator, "POST", "sys/policies/acl/vault-bridge-org-x-view", {"policy": ""})


@pytest.mark.parametrize(
    "name",
    [
        "vault-bridge-service",
        "vault-bridge-runner",
        "vault-bridge-operator",
        "vault-bridge-user",
        "vault-bridge-reconciler",
    ],
)
def test_policy_files_are_loaded_verbatim(admin_client, name: str) -> None:
    """Each file as written, but for the userpass mount's accessor filled in by bootstrap."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "policies" / f"{name}.hcl").read_text()
    accessor = Sys(admin_client).auth_methods()["userpass/"]["accessor"]
    assert Sys(admin_client).read_policy(name) == text.replace("<userpass-accessor>", accessor)


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


def own_entity_id(client: VaultClient, admin_client: VaultClient) -> str:
    """The entity of a client's token, as the administrator sees it (a reconciler's token may
    not look itself up)."""
    body = admin_client.request("POST", "auth/token/lookup", json={"token": client.token})
    entity_id = body["data"]["entity_id"]
    assert entity_id
    return entity_id


def test_service_cannot_write_policies_nor_put_them_anywhere(
    bao, admin_client, admin, user: Account
) -> None:
    """The process that answers HTTP requests cannot make itself (or anyone) more powerful: no
    policy text, no policy on a group, an entity or an account, no alias on another mount."""
    service = login_approle(bao, admin_client, SERVICE_ROLE)
    me = own_entity_id(service, admin_client)
    org = unique_id("esc")
    admin.orgs.create(org, "", admin.directory.get_user(user.id), actor="test")
    group = f"vault-bridge-org-{org}-owner"
    before = admin_client.read(f"identity/group/name/{group}")["data"]
    evil = 'path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }'
    for name in (f"vault-bridge-org-{org}-maintain", "vault-bridge-org-new-view", "evil"):
        assert not allowed(service, "POST", f"sys/policies/acl/{name}", {"policy": evil}), name
        assert not allowed(service, "DELETE", f"sys/policies/acl/{name}"), name
    for policies in (
        f"vault-bridge-org-{org}-maintain",
        f"vault-bridge-org-{org}-maintain,vault-bridge-admin",
        ["vault-bridge-org-x-view"],
        "root",
        "",
    ):
        for target in (group, f"vault-bridge-org-{unique_id('new')}-owner"):
            body = {"type": "internal", "policies": policies, "member_entity_ids": [me]}
            assert not allowed(service, "POST", f"identity/group/name/{target}", body), policies
    assert not allowed(
        service, "POST", f"identity/group/name/{group}", {"member_group_ids": [before["id"]]}
    )
    assert not allowed(service, "POST", f"identity/group/id/{before['id']}", {"policies": "x"})
    after = admin_client.read(f"identity/group/name/{group}")["data"]
    assert after["policies"] == before["policies"] == [f"vault-bridge-org-{org}-maintain"]
    assert me not in (after["member_entity_ids"] or [])

    # entities: metadata only; never policies, never (en|dis)abling, never by id
    for body in ({"policies": "vault-bridge-admin"}, {"policies": ""}, {"disabled": True}):
        assert not allowed(service, "POST", f"identity/entity/name/{user.id}", body), body
        assert not allowed(service, "POST", f"identity/entity/id/{me}", body), body
    assert not allowed(service, "POST", "identity/entity", {"policies": "root"})
    assert allowed(service, "POST", f"identity/entity/name/{user.id}", {"metadata": {"a": "b"}})

    # aliases: on the userpass mount only, never onto the AppRole mount its own login uses
    auths = Sys(admin_client).auth_methods()
    entity = admin_client.read(f"identity/entity/name/{user.id}")["data"]["id"]
    approle = {"name": "x", "canonical_id": me, "mount_accessor": auths["approle/"]["accessor"]}
    assert not allowed(service, "POST", "identity/entity-alias", approle)
    assert not allowed(service, "POST", "identity/alias", approle)
    other = {"name": "y", "canonical_id": entity, "mount_accessor": auths["approle/"]["accessor"]}
    assert not allowed(service, "POST", "identity/entity-alias", other)

    # accounts carry vault-bridge-user and nothing else, also not through a comma list
    for policies in ("vault-bridge-user,vault-bridge-admin", "default", ["vault-bridge-user"]):
        body = {"password": "x" * 12, "token_policies": policies}
        assert not allowed(service, "POST", f"auth/userpass/users/{user.id}", body), policies
    # no AppRole, no auth method tuning, no token creation
    assert not allowed(service, "POST", "auth/approle/role/evil", {"token_policies": "root"})
    assert not allowed(service, "POST", "auth/approle/role/vault-bridge-reconciler/secret-id")
    assert not allowed(service, "POST", "sys/auth/userpass/tune", {"token_type": "service"})
    assert not allowed(service, "POST", "auth/token/create", {"policies": ["root"]})
    assert not allowed(service, "POST", "sys/policy/evil", {"policy": evil})
    admin.orgs.delete(org, actor="test")


def test_reconciler_writes_organization_policies_only(bao, admin_client, admin) -> None:
    """The reconciler's identity: organization policies and their place on the groups, nothing
    else; no members, no secrets, no other policy."""
    reconciler = login_approle(bao, admin_client, RECONCILER_ROLE)
    org = unique_id("rec")
    name = f"vault-bridge-org-{org}-view"
    assert allowed(reconciler, "POST", f"sys/policies/acl/{name}", {"policy": "# empty"})
    assert allowed(reconciler, "DELETE", f"sys/policies/acl/{name}")
    for other in ("vault-bridge-service", "vault-bridge-user", "evil", "default"):
        assert not allowed(reconciler, "POST", f"sys/policies/acl/{other}", {"policy": "# x"})
    group = f"vault-bridge-org-{org}-viewer"
    admin_client.write(f"identity/group/name/{group}", {"type": "internal"})
    me = own_entity_id(reconciler, admin_client)
    assert allowed(reconciler, "POST", f"identity/group/name/{group}", {"policies": name})
    assert not allowed(reconciler, "POST", f"identity/group/name/{group}", {"policies": "root"})
    assert not allowed(
        reconciler, "POST", f"identity/group/name/{group}", {"member_entity_ids": [me]}
    )
    assert not allowed(reconciler, "POST", "identity/group/name/other", {"policies": name})
    assert not allowed(reconciler, "POST", f"identity/entity/id/{me}", {"policies": name})
    for path in (
        "vault-bridge/data/config/session",
        "vault-bridge/data/platform/default/provider-access-tokens/ibm-quantum",
        f"vault-bridge/data/orgs/{org}/provider-access-tokens/ionq",
    ):
        assert not allowed(reconciler, "GET", path), path
    assert not allowed(reconciler, "POST", f"vault-bridge/data/orgs/{org}/profile", {"data": {}})
    admin_client.delete(f"identity/group/name/{group}")


def test_only_the_reconciler_writes_the_record_of_its_full_look(bao, admin_client) -> None:
    """Every replica skips the full look while the record says one was done lately: the
    reconciler reads and writes it (and nothing else there); the service can neither forge
    it nor read or delete it, yet still leaves its markers."""
    state = "vault-bridge/data/reconcile/state"
    record = {"data": {"digest": "written by a test", "completed_at": 0}}
    reconciler = login_approle(bao, admin_client, RECONCILER_ROLE)
    assert allowed(reconciler, "POST", state, record)
    assert allowed(reconciler, "GET", state)
    assert not allowed(reconciler, "DELETE", "vault-bridge/metadata/reconcile/state")
    assert not allowed(reconciler, "POST", "vault-bridge/data/reconcile/other", record)
    assert not allowed(reconciler, "POST", "vault-bridge/data/reconcile/orgs/x", record)
    service = login_approle(bao, admin_client, SERVICE_ROLE)
    assert not allowed(service, "POST", state, record)
    assert not allowed(service, "GET", state)
    assert not allowed(service, "DELETE", state)
    for method in ("GET", "POST", "DELETE"):
        assert not allowed(service, method, "vault-bridge/metadata/reconcile/state"), method
    marker = f"vault-bridge/data/reconcile/orgs/{unique_id('mark')}"
    assert allowed(service, "POST", marker, {"data": {"requested_at": "now"}})
    admin_client.delete(marker.replace("/data/", "/metadata/"))


@pytest.mark.parametrize("role", [SERVICE_ROLE, RUNNER_ROLE, RECONCILER_ROLE])
def test_the_service_tokens_carry_their_own_policy_and_not_the_default_one(
    bao, admin_client, role: str
) -> None:
    """OpenBao's ``default`` policy grants much (cubbyhole, wrapping, leases, tools) and, being
    templated, is parsed again on every request of a token with an entity: the roles leave it
    out, and their own policies grant what their tokens do to themselves."""
    from vault_bridge.bootstrap import APPROLES
    from vault_bridge.errors import VaultBridgeError

    def lookup(token: str) -> dict:
        body = admin_client.request("POST", "auth/token/lookup", json={"token": token})
        return body["data"]

    client = login_approle(bao, admin_client, role)
    token = client.token
    assert lookup(token)["policies"] == list(APPROLES[role].policies)
    assert client._renew()  # renew-self, as the client does at 2/3 of the token's TTL
    assert not allowed(client, "POST", "sys/tools/hash", {"input": "aGk="})  # default's, gone
    client.close()  # revoke-self
    with pytest.raises(VaultBridgeError):
        lookup(token)
