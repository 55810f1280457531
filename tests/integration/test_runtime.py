"""Run-time grants and wrapped delivery to job runners."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import accounts
from tests.helpers import Account, Api, LiveServer, pat_headers, run_cli, unique_id
from vault_bridge.runtime.client import RunnerClient, RunnerError, unwrap
from vault_bridge.runtime.grants import Grant
from vault_bridge.vault.client import VaultClient, VaultError

IONQ_KEY = "ionqsecret" + "Z" * 30
ORG_IONQ_KEY = "orgionqsecret" + "Y" * 27


def build_world(app: Flask, server: LiveServer, make_user: Callable[..., Account]) -> dict:
    """A member with a personal IonQ token, an organization with its own, over real HTTP."""
    owner, member = make_user("ro"), make_user("rm")
    api = Api(app.test_client())
    api.login(owner)
    org = unique_id("rt")
    csrf = {"X-CSRF-Token": api.csrf}
    assert api.client.post("/api/v1/orgs", json={"id": org}, headers=csrf).status_code == 201
    assert (
        api.client.put(
            f"/api/v1/orgs/{org}/members/{member.id}", json={"role": "viewer"}, headers=csrf
        ).status_code
        == 200
    )
    assert (
        api.client.put(
            f"/api/v1/orgs/{org}/provider-access-tokens/ionq",
            json={"api_key": ORG_IONQ_KEY},
            headers=csrf,
        ).status_code
        == 201
    )
    member_api = Api(app.test_client())
    member_api.login(member)
    assert (
        member_api.client.put(
            "/api/v1/user/provider-access-tokens/ionq",
            json={"api_key": IONQ_KEY},
            headers={"X-CSRF-Token": member_api.csrf},
        ).status_code
        == 201
    )
    token = member_api.new_pat(scopes=["api", "quantum_tokens"])["token"]
    return {
        "app": app,
        "server": server,
        "owner_api": api,
        "member": member,
        "org": org,
        "token": token,
        "member_api": member_api,
    }


@pytest.fixture(scope="module")
def world(module_app, admin, password_hash: str) -> Iterator[dict]:
    """One world for the tests of the module that leave it as it was: they issue and redeem
    grants of their own, read, or change what lies outside it (and restore that)."""
    server = LiveServer(module_app)
    try:
        with accounts(admin, password_hash) as make_user:
            yield build_world(module_app, server, make_user)
    finally:
        server.stop()


@pytest.fixture
def own_world(make_app, make_user, live) -> dict:
    """A world of the test's own, for the tests that change it (a membership, a token)."""
    app = make_app()
    return build_world(app, live(app), make_user)


def grant(client, token, provider="ionq", job_id=None, org=None):
    headers = pat_headers(token)
    if org:
        headers["X-OrganizationId"] = org
    return client.post(
        "/api/v1/runtime/grants",
        json={"provider": provider, "job_id": unique_id("job") if job_id is None else job_id},
        headers=headers,
    )


def redeem(client, grant_value: str, vault_token: str):
    """Redeem a grant the way a job runner does: its own Vault token in X-Vault-Token."""
    return client.post(
        "/api/v1/runtime/grants/redeem",
        json={"grant": grant_value},
        headers={"X-Vault-Token": vault_token},
    )


def test_personal_and_organization_context_get_their_own_credential(world, runner_vault) -> None:
    client = world["app"].test_client()
    runner = RunnerClient(world["server"].url, runner_vault)

    personal = grant(client, world["token"])
    assert personal.status_code == 201, personal.get_json()
    assert personal.get_json()["source"] == "user"
    credential = runner.redeem(personal.get_json()["grant"])
    assert credential.fields == {"api_key": IONQ_KEY} and credential.source == "user"
    assert credential.environment(world["app"].extensions["vault_bridge"].catalog) == {
        "IONQ_API_KEY": IONQ_KEY
    }
    assert IONQ_KEY not in repr(credential)

    in_org = grant(client, world["token"], org=world["org"])
    assert in_org.get_json()["source"] == "organization"
    assert runner.redeem(in_org.get_json()["grant"]).fields == {"api_key": ORG_IONQ_KEY}


def test_redeem_answer_holds_only_a_single_use_wrapping_token(world, runner_vault) -> None:
    client = world["app"].test_client()
    issued = grant(client, world["token"]).get_json()
    response = redeem(client, issued["grant"], runner_vault.token)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert IONQ_KEY not in response.get_data(as_text=True)
    assert body["wrap_ttl"] <= 60 and body["provider"] == "ionq" and body["source"] == "user"
    looked_up = runner_vault.request(
        "POST", "sys/wrapping/lookup", json={"token": body["wrap_token"]}
    )
    assert looked_up["data"]["creation_ttl"] <= 60
    assert unwrap(runner_vault, body["wrap_token"])["data"] == {"api_key": IONQ_KEY}
    with pytest.raises(VaultError):
        unwrap(runner_vault, body["wrap_token"])  # single use


def test_a_grant_redeems_once(world, runner_vault) -> None:
    runner = RunnerClient(world["server"].url, runner_vault)
    issued = grant(world["app"].test_client(), world["token"]).get_json()
    runner.redeem(issued["grant"])
    with pytest.raises(RunnerError) as info:
        runner.redeem(issued["grant"])
    assert info.value.status == 410 and "grant_redeemed" in info.value.message


def test_a_grant_redeems_once_across_replicas_under_contention(
    world, make_app, runner_vault
) -> None:
    import threading

    issued = grant(world["app"].test_client(), world["token"]).get_json()
    replicas = [world["app"], make_app(), make_app()]
    results: list[int] = []

    def redeem_on(app) -> None:
        results.append(redeem(app.test_client(), issued["grant"], runner_vault.token).status_code)

    threads = [threading.Thread(target=redeem_on, args=(app,)) for app in replicas * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] + [410] * 5


def test_redeem_refusals(world, runner_vault, admin_client, bao) -> None:
    client = world["app"].test_client()
    issued = grant(client, world["token"]).get_json()

    def attempt(headers, value=issued["grant"]):
        return client.post("/api/v1/runtime/grants/redeem", json={"grant": value}, headers=headers)

    assert attempt({}).status_code == 401
    assert attempt({}).get_json()["error"]["code"] == "runner_token_missing"
    assert (
        attempt({"X-Vault-Token": "s.not-a-token"}).get_json()["error"]["code"]
        == "runner_token_invalid"
    )
    service_like = admin_client.write(
        "auth/token/create", {"policies": ["vault-bridge-operator"], "ttl": "5m"}
    )
    other = attempt({"X-Vault-Token": service_like["auth"]["client_token"]})
    assert other.status_code == 403 and other.get_json()["error"]["code"] == "not_a_runner"
    runner = {"X-Vault-Token": runner_vault.token}
    for bad in ("", "vbg.x.y", "not a grant", issued["grant"][:-2] + "AA", 5):
        response = attempt(runner, bad)
        assert response.status_code == 400, bad
        assert response.get_json()["error"]["code"] == "invalid_grant"
    assert attempt(runner).status_code == 200  # refusals above did not use it up


def test_expired_grant(world, runner_vault) -> None:
    services = world["app"].extensions["vault_bridge"]
    expired = services.grants.seal(
        Grant(
            id="ab" * 16,
            job_id="j1",
            user=world["member"].id,
            entity="e",
            context=None,
            provider="ionq",
            source="user",
            expires_at=int(time.time()) - 1,
        )
    )
    response = redeem(world["app"].test_client(), expired, runner_vault.token)
    assert response.status_code == 410 and response.get_json()["error"]["code"] == "grant_expired"


def test_removed_member_cannot_redeem_an_organization_grant(own_world, runner_vault) -> None:
    world = own_world  # it changes the world: a world of its own
    client = world["app"].test_client()
    issued = grant(client, world["token"], org=world["org"]).get_json()
    owner_api = world["owner_api"]
    assert (
        owner_api.client.delete(
            f"/api/v1/orgs/{world['org']}/members/{world['member'].id}",
            headers={"X-CSRF-Token": owner_api.csrf},
        ).status_code
        == 204
    )
    response = redeem(client, issued["grant"], runner_vault.token)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "not_a_member"
    assert grant(client, world["token"], org=world["org"]).status_code == 403  # and no new grants


def test_grant_refusals(world, make_user, admin) -> None:
    client = world["app"].test_client()
    no_quantum = world["member_api"].new_pat(scopes=["api"])["token"]
    response = grant(client, no_quantum)
    assert (
        response.status_code == 403 and response.get_json()["error"]["code"] == "insufficient_scope"
    )
    response = grant(client, world["token"], provider="dwave-leap")
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "provider_token_missing"
    assert "D-Wave Leap" in error["message"] and world["member"].id in error["message"]
    response = grant(client, world["token"], provider="dwave-leap", org=world["org"])
    assert world["org"] in response.get_json()["error"]["message"]
    assert grant(client, world["token"], provider="nope").status_code == 404
    assert grant(client, world["token"], provider="../x").status_code == 400
    assert grant(client, world["token"], job_id="").status_code == 400
    assert grant(client, world["token"], job_id="a b").status_code == 400
    outsider = make_user("ro2")
    response = grant(client, world["token"], org=unique_id("zz"))
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "not_a_member"
    assert outsider


def test_platform_default_is_used_when_the_context_has_none(
    world, make_app, admin, runner_vault
) -> None:
    dwave = "DEV-" + "c" * 40
    admin.providers.put("platform", "default", "dwave-leap", {"token": dwave}, "operator")
    try:
        # a replica of its own: the shared one may have cached that the platform had no default
        issued = grant(make_app().test_client(), world["token"], provider="dwave-leap")
        assert issued.status_code == 201 and issued.get_json()["source"] == "platform"
        credential = RunnerClient(world["server"].url, runner_vault).redeem(
            issued.get_json()["grant"]
        )
        assert credential.fields == {"token": dwave} and credential.source == "platform"
    finally:
        admin.providers.delete("platform", "default", "dwave-leap", "operator")


def test_token_deleted_after_grant(own_world, runner_vault) -> None:
    world = own_world  # it changes the world: a world of its own
    client = world["app"].test_client()
    issued = grant(client, world["token"]).get_json()
    member_api = world["member_api"]
    assert (
        member_api.client.delete(
            "/api/v1/user/provider-access-tokens/ionq", headers={"X-CSRF-Token": member_api.csrf}
        ).status_code
        == 204
    )
    response = redeem(client, issued["grant"], runner_vault.token)
    assert (
        response.status_code == 409
        and response.get_json()["error"]["code"] == "provider_token_missing"
    )


def test_grant_and_redeem_are_audited_without_secrets(world, runner_vault, base_settings) -> None:
    issued = grant(world["app"].test_client(), world["token"], job_id="audited-job-1").get_json()
    RunnerClient(world["server"].url, runner_vault).redeem(issued["grant"])
    lines = [json.loads(line) for line in Path(base_settings.audit_log).read_text().splitlines()]
    events = [e for e in lines if e.get("target") == "audited-job-1"]
    assert [e["event"] for e in events] == ["grant.issue", "grant.redeem"]
    assert events[1]["user"] == world["member"].id and events[1]["source"] == "user"
    text = Path(base_settings.audit_log).read_text()
    assert IONQ_KEY not in text and issued["grant"] not in text


def test_runner_cli_prints_environment_or_json(world, bao, runner_vault) -> None:
    env = {
        "VAULT_ADDR": bao.addr,
        "VAULT_TOKEN": runner_vault.token,
        "VAULT_BRIDGE_URL": world["server"].url,
    }
    client = world["app"].test_client()
    first = grant(client, world["token"]).get_json()["grant"]
    out = run_cli("runner", "redeem", "--grant", first, env=env)
    assert out.stdout.strip() == f"export IONQ_API_KEY={IONQ_KEY}"
    second = grant(client, world["token"], org=world["org"]).get_json()["grant"]
    out = run_cli("runner", "redeem", "--grant", second, "--format", "json", env=env)
    assert json.loads(out.stdout)["fields"] == {"api_key": ORG_IONQ_KEY}
    again = run_cli("runner", "redeem", "--grant", second, env=env, check=False)
    assert (
        again.returncode == 1
        and "redeemed already" in again.stderr
        and ORG_IONQ_KEY not in again.stderr
    )


def test_runner_vault_token_cannot_read_provider_tokens(world, runner_vault) -> None:
    from vault_bridge.vault.client import VaultForbidden

    with pytest.raises(VaultForbidden):
        runner_vault.read(
            f"vault-bridge/data/users/{world['member'].id}/provider-access-tokens/ionq"
        )
    assert isinstance(runner_vault, VaultClient)


def test_markers_of_expired_days_are_pruned(world, runner_vault, admin) -> None:
    issued = grant(world["app"].test_client(), world["token"]).get_json()
    RunnerClient(world["server"].url, runner_vault).redeem(issued["grant"])
    admin.providers.kv.write("runtime/redeemed/2000-01-01/" + "ab" * 16, {"job_id": "old"})
    grants = world["app"].extensions["vault_bridge"].grants
    assert grants.prune_markers(force=True) >= 1
    days = [key.rstrip("/") for key in admin.providers.kv.list("runtime/redeemed")]
    assert "2000-01-01" not in days and days  # today's (unexpired) markers stay
