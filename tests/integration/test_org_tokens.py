"""PATs and organizations: tokens restricted to named organizations (or not personal), owners
listing their members' PATs used in the organization, and blocking one there on every replica."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.helpers import Account, Api, eventually, jws, pat_headers, unique_id
from vault_bridge.services import Services
from vault_bridge.vault.names import org_pat_usage_path

TOKENS = "/api/v1/user/personal-access-tokens"


# The tests share the module's app, each with organizations and accounts of its own, except the
# one that runs replicas side by side against the revocation bound. The refusal tests share one
# session of the module's account (``module_api``), which never gets a token (as they check).


@pytest.fixture
def api(module_app) -> Api:
    """A new client of the module's app."""
    return Api(module_app.test_client())


def make_org(api: Api) -> str:
    org = unique_id("org")
    answer = api.client.post("/api/v1/orgs", json={"id": org}, headers={"X-CSRF-Token": api.csrf})
    assert answer.status_code == 201, answer.get_json()
    return org


def call(client, token: str, org: str | None = None, path: str = "/api/v1/user") -> object:
    headers = pat_headers(token)
    if org:
        headers["X-OrganizationId"] = org
    return client.get(path, headers=headers)


def test_a_token_restricted_to_organizations_acts_only_there(api: Api, user: Account) -> None:
    api.login(user)
    acme, other = make_org(api), make_org(api)
    created = api.new_pat("acme-only", organizations=[acme])
    assert created["organizations"] == [acme] and created["personal"] is True
    claims = jwt.decode(jws(created["token"]), options={"verify_signature": False})
    assert claims["orgs"] == [acme] and "personal" not in claims  # a signed claim
    token = created["token"]
    anon = api.client.application.test_client()
    assert call(anon, token).status_code == 200  # personal use allowed
    assert call(anon, token, acme).status_code == 200
    refused = call(anon, token, other)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "token_restricted"
    assert other in refused.get_json()["error"]["message"]
    by_path = call(anon, token, path=f"/api/v1/orgs/{other}/members")
    assert by_path.status_code == 403 and by_path.get_json()["error"]["code"] == "token_restricted"
    assert call(anon, token, path=f"/api/v1/orgs/{acme}/members").status_code == 200
    listed = {t["id"]: t for t in api.client.get(TOKENS).get_json()}
    assert listed[created["id"]]["organizations"] == [acme]


def test_a_token_without_personal_use_needs_an_organization(api: Api, user: Account) -> None:
    api.login(user)
    acme, other = make_org(api), make_org(api)
    created = api.new_pat("orgs-only", personal=False)
    claims = jwt.decode(jws(created["token"]), options={"verify_signature": False})
    assert claims["personal"] is False and "orgs" not in claims
    anon = api.client.application.test_client()
    refused = call(anon, created["token"])
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "token_restricted"
    assert call(anon, created["token"], acme).status_code == 200
    assert call(anon, created["token"], other).status_code == 200
    quantum = anon.get("/quantum/backends", headers=pat_headers(created["token"]))
    assert quantum.status_code == 403


def test_an_unrestricted_token_follows_the_users_memberships(
    api: Api, user: Account, admin: Services
) -> None:
    api.login(user)
    acme = make_org(api)
    created = api.new_pat("any")
    claims = jwt.decode(jws(created["token"]), options={"verify_signature": False})
    assert "orgs" not in claims and "personal" not in claims
    anon = api.client.application.test_client()
    assert call(anon, created["token"], acme).status_code == 200
    assert call(anon, created["token"], unique_id("not")).status_code == 403  # not a member


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"organizations": ["not-mine"]}, "invalid_organizations"),
        ({"organizations": ["Bad_Id"]}, "invalid_organizations"),
        ({"organizations": "acme"}, "invalid_organizations"),
        ({"organizations": [7]}, "invalid_organizations"),
        ({"organizations": [f"o{i}" for i in range(51)]}, "invalid_organizations"),
        ({"organizations": [], "personal": False}, "invalid_organizations"),
        ({"personal": "no"}, "invalid_personal"),
        ({"personal": 0}, "invalid_personal"),
        ({"personal": None}, "invalid_personal"),
    ],
)
def test_bad_restrictions_are_400_and_create_nothing(
    module_api: Api, extra: dict, code: str
) -> None:
    api = module_api
    answer = api.create_pat("restricted", **extra)
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["error"]["code"] == code
    assert answer.get_json()["error"]["field"] in ("organizations", "personal")
    assert api.client.get(TOKENS).get_json() == []


def _member_token(api: Api, owner_api: Api, org: str, member: Account, role: str) -> dict:
    owner_api.client.put(
        f"/api/v1/orgs/{org}/members/{member.id}",
        json={"role": role},
        headers={"X-CSRF-Token": owner_api.csrf},
    )
    api.login(member)
    return api.new_pat(f"{role}-token")


def test_owners_see_members_tokens_used_in_the_organization_and_block_them(
    make_app, make_user, admin: Services
) -> None:
    replica_a, replica_b = make_app(), make_app()
    owner, member = make_user(), make_user()
    owner_api = Api(replica_a.test_client())
    owner_api.login(owner)
    org = make_org(owner_api)
    member_api = Api(replica_a.test_client())
    token = _member_token(member_api, owner_api, org, member, "maintainer")
    personal_only = member_api.new_pat("never-in-org")
    other_org = make_org(member_api)
    clients = [replica_a.test_client(), replica_b.test_client()]
    for client in clients:
        assert call(client, token["token"], org).status_code == 200
        assert call(client, personal_only["token"]).status_code == 200
    for replica in (replica_a, replica_b):
        replica.extensions["vault_bridge"].tokens.flush_last_used(force=True)

    listed = owner_api.client.get(f"/api/v1/orgs/{org}/personal-access-tokens")
    assert listed.status_code == 200, listed.get_json()
    entries = listed.get_json()
    assert [e["id"] for e in entries] == [token["id"]]  # only tokens used in the org
    entry = entries[0]
    assert entry["user"] == member.id and entry["name"] == "maintainer-token"
    assert entry["scopes"] == ["api"] and entry["expires_at"] == token["expires_at"]
    assert entry["last_used_at"] and entry["blocked"] is False
    assert "token" not in entry and token["token"] not in listed.get_data(as_text=True)

    blocked = owner_api.client.put(
        f"/api/v1/orgs/{org}/personal-access-tokens/{token['id']}/block",
        headers={"X-CSRF-Token": owner_api.csrf},
    )
    assert blocked.status_code == 200, blocked.get_json()
    assert blocked.get_json()["blocked"] is True
    assert blocked.get_json()["blocked_by"] == owner.id
    started = time.monotonic()
    for client in clients:  # every replica, within the revocation bound
        eventually(lambda c=client: call(c, token["token"], org).status_code == 403, timeout=1.0)
    assert time.monotonic() - started < 1.5
    refused = call(clients[1], token["token"], org)
    assert refused.get_json()["error"]["code"] == "token_blocked"
    by_path = call(clients[1], token["token"], path=f"/api/v1/orgs/{org}/members")
    assert by_path.status_code == 403
    for client in clients:  # still works elsewhere
        assert call(client, token["token"]).status_code == 200
        assert call(client, token["token"], other_org).status_code == 200
    late = make_app().test_client()  # a replica started now loads the blocks
    assert call(late, token["token"], org).status_code == 403

    again = owner_api.client.get(f"/api/v1/orgs/{org}/personal-access-tokens").get_json()
    assert again[0]["blocked"] is True and again[0]["blocked_at"]
    unblocked = owner_api.client.delete(
        f"/api/v1/orgs/{org}/personal-access-tokens/{token['id']}/block",
        headers={"X-CSRF-Token": owner_api.csrf},
    )
    assert unblocked.status_code == 204
    for client in [*clients, late]:
        eventually(lambda c=client: call(c, token["token"], org).status_code == 200, timeout=1.0)
    twice = owner_api.client.delete(
        f"/api/v1/orgs/{org}/personal-access-tokens/{token['id']}/block",
        headers={"X-CSRF-Token": owner_api.csrf},
    )
    assert twice.status_code == 404


def test_only_owners_list_and_block(module_app, make_user) -> None:
    app = module_app
    owner, maintainer, viewer, outsider = make_user(), make_user(), make_user(), make_user()
    owner_api = Api(app.test_client())
    owner_api.login(owner)
    org = make_org(owner_api)
    apis = {}
    tokens = {}
    for account, role in ((maintainer, "maintainer"), (viewer, "viewer")):
        apis[role] = Api(app.test_client())
        tokens[role] = _member_token(apis[role], owner_api, org, account, role)
        assert call(app.test_client(), tokens[role]["token"], org).status_code == 200
    apis["outsider"] = Api(app.test_client())
    apis["outsider"].login(outsider)
    app.extensions["vault_bridge"].tokens.flush_last_used(force=True)
    target = tokens["viewer"]["id"]
    for who, api in apis.items():
        headers = {"X-CSRF-Token": api.csrf}
        listed = api.client.get(f"/api/v1/orgs/{org}/personal-access-tokens")
        block = api.client.put(
            f"/api/v1/orgs/{org}/personal-access-tokens/{target}/block", headers=headers
        )
        unblock = api.client.delete(
            f"/api/v1/orgs/{org}/personal-access-tokens/{target}/block", headers=headers
        )
        expected = 404 if who == "outsider" else 403
        for answer in (listed, block, unblock):
            assert answer.status_code == expected, (who, answer.get_json())
        if expected == 403:
            assert listed.get_json()["error"]["code"] == "insufficient_role"
    by_pat = app.test_client().get(
        f"/api/v1/orgs/{org}/personal-access-tokens",
        headers=pat_headers(tokens["maintainer"]["token"]),
    )
    assert by_pat.status_code == 403
    owner_headers = {"X-CSRF-Token": owner_api.csrf}
    unknown = owner_api.client.put(
        f"/api/v1/orgs/{org}/personal-access-tokens/{'0' * 32}/block", headers=owner_headers
    )
    assert unknown.status_code == 404
    bad = owner_api.client.put(
        f"/api/v1/orgs/{org}/personal-access-tokens/not-an-id/block", headers=owner_headers
    )
    assert bad.status_code == 400
    # nothing was blocked by the refusals
    assert call(app.test_client(), tokens["viewer"]["token"], org).status_code == 200


def test_use_is_noted_only_in_organizations_the_user_belongs_to(
    api: Api, make_user, admin: Services
) -> None:
    """A PAT naming an organization it is not a member of (in the path or the header, existing,
    deleted or never created) writes nothing under that organization: no one could otherwise
    fill Vault with usage documents of made-up organizations."""
    api.login(make_user())
    mine, gone = make_org(api), make_org(api)
    token = api.new_pat("wanderer")["token"]
    deleted = api.client.delete(f"/api/v1/orgs/{gone}", headers={"X-CSRF-Token": api.csrf})
    assert deleted.status_code == 204
    other_api = Api(api.client.application.test_client())
    other_api.login(make_user())
    stranger = make_org(other_api)
    anon = api.client.application.test_client()
    assert call(anon, token, mine).status_code == 200
    for org in (gone, stranger, unique_id("never")):
        assert call(anon, token, org).status_code == 403
        assert call(anon, token, path=f"/api/v1/orgs/{org}/members").status_code in (403, 404)
    api.client.application.extensions["vault_bridge"].tokens.flush_last_used(force=True)
    kv = admin.tokens.org_access.store.kv
    assert kv.read(org_pat_usage_path(mine)) is not None  # the use where it belongs is noted
    for org in (gone, stranger):
        assert kv.read(org_pat_usage_path(org)) is None
    assert [key for key in kv.list("orgs") if key.startswith("never-")] == []
