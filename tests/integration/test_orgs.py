"""Organizations, members and roles in Vault identity, through the API and the Vault CLI."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from tests.conftest import accounts
from tests.helpers import Account, Api, eventually, pat_headers, unique_id


def build_org_api(app: Flask, make_user: Callable[..., Account]) -> tuple:
    """An owner signed in, with an organization, plus helpers to sign in others."""
    owner = make_user("own")
    api = Api(app.test_client())
    api.login(owner)
    org = unique_id("org")
    response = api.client.post(
        "/api/v1/orgs",
        json={"id": org, "display_name": "Acme Quantum"},
        headers={"X-CSRF-Token": api.csrf},
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["role"] == "owner"

    def signed_in(account: Account) -> Api:
        other = Api(app.test_client())
        other.login(account)
        return other

    return app, api, owner, org, signed_in


# Every test that changes an organization has one of its own; they share the module's app,
# except those that watch an app notice membership changes made elsewhere (an app of their
# own, whose caches hold nothing of other tests). The tests that only read or are refused share
# one organization of the module, which none of them changes.


@pytest.fixture
def org_api(module_app, make_user) -> tuple:
    """An organization of the test's own, on the module's app."""
    return build_org_api(module_app, make_user)


@pytest.fixture
def own_app_org_api(make_app, make_user) -> tuple:
    """An organization of the test's own, on an app of its own."""
    return build_org_api(make_app(), make_user)


@pytest.fixture(scope="module")
def unchanged_org_api(module_app, admin, password_hash: str) -> Iterator[tuple]:
    """The module's organization, for the tests that only read it or are refused."""
    with accounts(admin, password_hash) as make_user:
        yield build_org_api(module_app, make_user)


def put_member(api: Api, org: str, user: str, role: str):
    return api.client.put(
        f"/api/v1/orgs/{org}/members/{user}",
        json={"role": role},
        headers={"X-CSRF-Token": api.csrf},
    )


def delete_member(api: Api, org: str, user: str):
    return api.client.delete(
        f"/api/v1/orgs/{org}/members/{user}", headers={"X-CSRF-Token": api.csrf}
    )


def test_create_list_get(unchanged_org_api) -> None:
    _, api, owner, org, _ = unchanged_org_api
    assert api.client.get("/api/v1/orgs").get_json() == [
        {"id": org, "display_name": "Acme Quantum", "role": "owner"}
    ]
    body = api.client.get(f"/api/v1/orgs/{org}").get_json()
    assert body["id"] == org and body["role"] == "owner" and body["created_by"] == owner.id
    assert api.client.get(f"/api/v1/orgs/{org}/members").get_json() == [
        {"user": owner.id, "role": "owner"}
    ]
    me = api.client.get("/api/v1/user").get_json()
    assert me["organizations"] == [{"id": org, "display_name": "Acme Quantum", "role": "owner"}]


def test_create_refusals(unchanged_org_api) -> None:
    _, api, _, org, _ = unchanged_org_api
    csrf = {"X-CSRF-Token": api.csrf}
    assert api.client.post("/api/v1/orgs", json={"id": org}, headers=csrf).status_code == 409
    for bad in ["", "Acme", "a/b", "..", "a" * 41, "acme_", "ａcme", None, 7]:
        response = api.client.post("/api/v1/orgs", json={"id": bad}, headers=csrf)
        assert response.status_code == 400, bad
        assert response.get_json()["error"]["code"] == "invalid_id"
    response = api.client.post(
        "/api/v1/orgs", json={"id": unique_id("o"), "display_name": "x" * 101}, headers=csrf
    )
    assert response.status_code == 400


def test_roles_and_who_may_do_what(org_api, make_user) -> None:
    _, api, owner, org, signed_in = org_api
    maint, viewer, outsider = make_user("mnt"), make_user("vwr"), make_user("out")
    assert put_member(api, org, maint.id, "maintainer").status_code == 200
    assert put_member(api, org, viewer.id, "viewer").status_code == 200
    members = api.client.get(f"/api/v1/orgs/{org}/members").get_json()
    assert members == [
        {"user": owner.id, "role": "owner"},
        {"user": maint.id, "role": "maintainer"},
        {"user": viewer.id, "role": "viewer"},
    ]
    as_viewer, as_maint, as_outsider = signed_in(viewer), signed_in(maint), signed_in(outsider)
    # only owners manage members
    for who in (as_viewer, as_maint):
        response = put_member(who, org, outsider.id, "viewer")
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "insufficient_role"
        assert (
            who.client.delete(f"/api/v1/orgs/{org}", headers={"X-CSRF-Token": who.csrf}).status_code
            == 403
        )
    # a non-member cannot even see it
    for path in (f"/api/v1/orgs/{org}", f"/api/v1/orgs/{org}/members"):
        assert as_outsider.client.get(path).status_code == 404
    assert put_member(as_outsider, org, outsider.id, "owner").status_code == 404
    # a member may leave
    assert delete_member(as_viewer, org, viewer.id).status_code == 204
    assert as_viewer.client.get(f"/api/v1/orgs/{org}").status_code == 404


def test_last_owner_can_neither_leave_nor_be_demoted(org_api, make_user) -> None:
    _, api, owner, org, _ = org_api
    response = put_member(api, org, owner.id, "viewer")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "last_owner"
    assert delete_member(api, org, owner.id).status_code == 409
    second = make_user("own2")
    assert put_member(api, org, second.id, "owner").status_code == 200
    assert put_member(api, org, owner.id, "maintainer").status_code == 200
    assert api.client.get(f"/api/v1/orgs/{org}").get_json()["role"] == "maintainer"


def test_member_refusals(unchanged_org_api) -> None:
    _, api, _, org, _ = unchanged_org_api
    assert put_member(api, org, "no-such-user-zz", "viewer").status_code == 404
    assert put_member(api, org, "Bad/User", "viewer").status_code in (400, 404)
    response = api.client.put(
        f"/api/v1/orgs/{org}/members/UPPER",
        json={"role": "viewer"},
        headers={"X-CSRF-Token": api.csrf},
    )
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert "lower case letters (a-z), digits and hyphens" in message
    assert message.endswith("did you mean upper?")
    response = put_member(api, org, "someone", "admin")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_role"
    assert delete_member(api, org, "not-a-member-zz").status_code == 404


def test_pat_in_organization_context_until_removed_on_every_replica(
    own_app_org_api, make_app, make_user
) -> None:
    app, api, _, org, signed_in = own_app_org_api
    member = make_user("mem")
    assert put_member(api, org, member.id, "viewer").status_code == 200
    token = signed_in(member).new_pat(scopes=["api", "quantum_tokens"])["token"]
    replicas = [app.test_client(), make_app().test_client()]
    headers = {**pat_headers(token), "X-OrganizationId": org}
    for client in replicas:
        body = client.get("/api/v1/user", headers=headers).get_json()
        assert body["context"] == org
        assert {"id": org, "display_name": "Acme Quantum", "role": "viewer"} in body[
            "organizations"
        ]

    assert delete_member(api, org, member.id).status_code == 204
    for client in replicas:
        eventually(
            lambda c=client: c.get("/api/v1/user", headers=headers).status_code == 403, timeout=5
        )
        response = client.get("/api/v1/user", headers=headers)
        assert response.get_json()["error"]["code"] == "not_a_member"
        assert client.get("/api/v1/user", headers=pat_headers(token)).status_code == 200  # personal
    bad = client.get("/api/v1/user", headers={**pat_headers(token), "X-OrganizationId": "../x"})
    assert bad.status_code == 400


def test_operator_changes_with_the_bao_cli_are_honoured(
    own_app_org_api, make_user, bao_cli, admin_client
) -> None:
    app, api, _, org, signed_in = own_app_org_api
    member = make_user("cli")
    token = signed_in(member).new_pat()["token"]
    headers = {**pat_headers(token), "X-OrganizationId": org}
    client = app.test_client()
    assert client.get("/api/v1/user", headers=headers).status_code == 403
    entity_id = admin_client.read(f"identity/entity/name/{member.id}")["data"]["id"]
    bao_cli(
        "write",
        f"identity/group/name/vault-bridge-org-{org}-maintainer",
        f"member_entity_ids={entity_id}",
        token=admin_client.token,
    )
    eventually(lambda: client.get("/api/v1/user", headers=headers).status_code == 200, timeout=5)
    members = api.client.get(f"/api/v1/orgs/{org}/members").get_json()
    assert {"user": member.id, "role": "maintainer"} in members
    bao_cli(
        "write",
        f"identity/group/name/vault-bridge-org-{org}-maintainer",
        "member_entity_ids=",
        token=admin_client.token,
    )
    eventually(lambda: client.get("/api/v1/user", headers=headers).status_code == 403, timeout=5)


def test_delete_org_removes_groups_policies_and_tokens(org_api, admin_client) -> None:
    _, api, _, org, _ = org_api
    csrf = {"X-CSRF-Token": api.csrf}
    token = {"token": "DEV-" + "a" * 40}
    assert (
        api.client.put(
            f"/api/v1/orgs/{org}/provider-access-tokens/dwave-leap", json=token, headers=csrf
        ).status_code
        == 201
    )
    assert api.client.delete(f"/api/v1/orgs/{org}", headers=csrf).status_code == 204
    assert api.client.get(f"/api/v1/orgs/{org}").status_code == 404
    assert api.client.get("/api/v1/orgs").get_json() == []
    assert admin_client.read(f"identity/group/name/vault-bridge-org-{org}-owner") is None
    assert admin_client.read(f"sys/policies/acl/vault-bridge-org-{org}-maintain") is None
    assert admin_client.list(f"vault-bridge/metadata/orgs/{org}") == []


def test_deleting_a_user_leaves_orgs_but_not_as_last_owner(org_api, make_user, admin) -> None:
    _, api, owner, org, _ = org_api
    member = make_user("gone")
    assert put_member(api, org, member.id, "maintainer").status_code == 200
    admin.accounts.delete(member.id, actor="test")
    assert member.id not in str(api.client.get(f"/api/v1/orgs/{org}/members").get_json())
    from vault_bridge.errors import Conflict

    with pytest.raises(Conflict):
        admin.accounts.delete(owner.id, actor="test")
    assert admin.directory.get_user(owner.id) is not None


def test_concurrent_role_changes_lose_nothing(org_api, make_user, make_app) -> None:
    import threading

    _, api, owner, org, _ = org_api
    users = [make_user("c") for _ in range(6)]
    services = [make_app().extensions["vault_bridge"] for _ in range(2)]
    errors: list[Exception] = []

    def add(index: int) -> None:
        try:
            services[index % 2].orgs.set_member(org, users[index].id, "viewer", actor=owner.id)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(len(users))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    members = {m["user"] for m in api.client.get(f"/api/v1/orgs/{org}/members").get_json()}
    assert members == {owner.id, *(u.id for u in users)}


def test_cli_orgs_commands(make_user, bao, admin_client) -> None:
    from tests.helpers import run_cli

    env = {"VAULT_ADDR": bao.addr, "VAULT_TOKEN": admin_client.token}

    def run(*args: str, ok: bool = True):
        result = run_cli(*args, env=env, check=False)
        assert (result.returncode == 0) == ok, (result.stdout, result.stderr)
        return result

    owner, other = make_user("co"), make_user("cm")
    org = unique_id("cliorg")
    run("orgs", "create", org, "--owner", owner.id, "--display-name", "CLI Org")
    run("orgs", "create", org, "--owner", owner.id, ok=False)
    run("orgs", "add-member", org, other.id, "--role", "maintainer")
    listing = run("orgs", "list").stdout
    assert f"{org}\tCLI Org\t{owner.id} (owner), {other.id} (maintainer)" in listing
    assert "last owner" in run("orgs", "remove-member", org, owner.id, ok=False).stderr
    run("orgs", "remove-member", org, other.id)
    run("orgs", "add-member", org, other.id, "--role", "admin", ok=False)
    run("orgs", "delete", org)
    assert org not in run("orgs", "list").stdout
