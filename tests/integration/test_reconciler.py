"""The organization policy reconciler: the only writer of organization policies, rendered from
the templates for organizations that exist, in-process (as `make run` runs it), as its own loop,
and as `vault-bridge reconcile`."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.helpers import CLI, Api, eventually, run_cli, unique_id
from vault_bridge.bootstrap import RECONCILER_ROLE
from vault_bridge.directory.reconciler import PolicyReconciler, ReconcileLoop
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.policies import OrgPolicyTemplates
from vault_bridge.vault.sys import Sys

ROLE_POLICY = {"owner": "maintain", "maintainer": "maintain", "viewer": "view"}


@pytest.fixture
def reconciler_vault(bao, admin_client) -> VaultClient:
    sys_ = Sys(admin_client)
    return VaultClient(
        bao.addr,
        role_id=sys_.approle_role_id("approle", RECONCILER_ROLE),
        secret_id=sys_.approle_secret_id("approle", RECONCILER_ROLE),
    )


@pytest.fixture
def reconciler(reconciler_vault, base_settings) -> PolicyReconciler:
    return PolicyReconciler(reconciler_vault, base_settings)


def create_org(app, make_user) -> tuple[Api, str]:
    api = Api(app.test_client())
    api.login(make_user("rown"))
    org = unique_id("rorg")
    response = api.client.post("/api/v1/orgs", json={"id": org}, headers={"X-CSRF-Token": api.csrf})
    assert response.status_code == 201, response.get_json()
    return api, org


def delete_org(api: Api, org: str) -> None:
    response = api.client.delete(f"/api/v1/orgs/{org}", headers={"X-CSRF-Token": api.csrf})
    assert response.status_code == 204


def policies_in_place(admin_client, base_settings, org: str) -> bool:
    """Both policies hold the templates' text and each role group carries its own."""
    sys_ = Sys(admin_client)
    wanted = OrgPolicyTemplates(base_settings).for_org(org)
    if any(sys_.read_policy(name) != text for name, text in wanted.items()):
        return False
    for role, kind in ROLE_POLICY.items():
        group = admin_client.read(f"identity/group/name/vault-bridge-org-{org}-{role}")["data"]
        if group["policies"] != [f"vault-bridge-org-{org}-{kind}"]:
            return False
    return True


def no_policies(admin_client, org: str) -> bool:
    sys_ = Sys(admin_client)
    names = (f"vault-bridge-org-{org}-{kind}" for kind in ("maintain", "view"))
    return all(sys_.read_policy(name) is None for name in names)


def marker(admin_client, org: str) -> bool:
    return admin_client.read(f"vault-bridge/metadata/reconcile/orgs/{org}") is not None


def test_in_process_reconciler_writes_and_removes_at_once(
    app, make_user, admin_client, base_settings
) -> None:
    """With the reconciler's identity in the process (`make run`), an organization has its
    policies when the create answers, and loses them when the delete answers."""
    api, org = create_org(app, make_user)
    assert policies_in_place(admin_client, base_settings, org)
    assert not marker(admin_client, org)
    delete_org(api, org)
    assert no_policies(admin_client, org)
    assert not marker(admin_client, org)


def test_without_the_reconciler_the_service_leaves_a_marker(
    make_app, make_user, admin_client, base_settings, reconciler
) -> None:
    """Replicas with the service's identity alone create the organization and its groups, with
    no policy; the reconciler, run elsewhere, completes it and later cleans up."""
    app = make_app(reconciler_role_id="", reconciler_secret_id="")
    api, org = create_org(app, make_user)
    assert marker(admin_client, org) and no_policies(admin_client, org)
    group = admin_client.read(f"identity/group/name/vault-bridge-org-{org}-owner")["data"]
    assert not group["policies"] and len(group["member_entity_ids"]) == 1
    assert api.client.get(f"/api/v1/orgs/{org}/members").status_code == 200  # works meanwhile
    changes = reconciler.pending()
    assert f"put vault-bridge-org-{org}-maintain on group vault-bridge-org-{org}-owner" in changes
    assert policies_in_place(admin_client, base_settings, org)
    assert not marker(admin_client, org)
    # a member change by the service keeps the policy the reconciler put on the group
    other = make_user("rmem")
    response = api.client.put(
        f"/api/v1/orgs/{org}/members/{other.id}",
        json={"role": "viewer"},
        headers={"X-CSRF-Token": api.csrf},
    )
    assert response.status_code == 200
    assert policies_in_place(admin_client, base_settings, org)
    delete_org(api, org)
    assert not no_policies(admin_client, org)  # nobody has removed them yet
    assert f"deleted policy vault-bridge-org-{org}-view" in reconciler.reconcile_all()
    assert no_policies(admin_client, org) and not marker(admin_client, org)


def test_the_loop_follows_vault_and_stays_quiet_when_nothing_changed(
    make_app, make_user, admin_client, base_settings, reconciler, reconciler_vault
) -> None:
    loop = ReconcileLoop(reconciler, interval=0.1, full_interval=3600)
    loop.step()  # the first round looks at everything
    app = make_app(reconciler_role_id="", reconciler_secret_id="")
    loop.start()
    try:
        api, org = create_org(app, make_user)
        eventually(lambda: policies_in_place(admin_client, base_settings, org), timeout=10)
        delete_org(api, org)
        eventually(lambda: no_policies(admin_client, org), timeout=10)
    finally:
        loop.stop()
    index = reconciler.sys.leader().get("raft_applied_index")
    assert index, "the test server's raft storage reports its applied index"
    loop.step()  # catches up with its own marker deletion
    before = reconciler_vault.calls
    loop.step()
    loop.step()
    # two rounds, two reads of sys/leader (not audited); no LIST of the markers, no other call
    assert reconciler_vault.calls - before == 2


def test_drift_is_repaired_from_the_templates(
    app, make_user, admin_client, base_settings, reconciler
) -> None:
    """A widened policy text or a policy swapped on a group (an operator, or anyone else with
    the rights) is put back to the templates' by the next full round."""
    api, org = create_org(app, make_user)
    wide = 'path "*" { capabilities = ["read", "list"] }'
    Sys(admin_client).write_policy(f"vault-bridge-org-{org}-view", wide)
    admin_client.write(
        f"identity/group/name/vault-bridge-org-{org}-viewer",
        {"policies": f"vault-bridge-org-{org}-maintain"},
    )
    assert not policies_in_place(admin_client, base_settings, org)
    reconciler.reconcile_all()
    assert policies_in_place(admin_client, base_settings, org)
    delete_org(api, org)


@pytest.mark.parametrize("bad", ["UPPER", "a--", "-x", "x" * 41, "a.b", "a_b", "ａｂ"])
def test_ids_that_break_the_rule_are_never_rendered(
    admin_client, admin, reconciler, bad: str
) -> None:
    """A marker or a profile under an id the API would refuse (written by someone with KV
    rights) renders nothing."""
    admin_client.write(f"vault-bridge/data/reconcile/orgs/{bad}", {"data": {"x": "1"}})
    admin_client.write(f"vault-bridge/data/orgs/{bad}/profile", {"data": {"id": bad}})
    try:
        assert reconciler.reconcile(bad) == []
        changes = reconciler.reconcile_all()
        assert not any(bad in line for line in changes)
        assert not marker(admin_client, bad)  # handled (ignored) and dropped
        names = Sys(admin_client).list_policies()
        assert not any(bad in name for name in names)
    finally:
        admin_client.delete(f"vault-bridge/metadata/orgs/{bad}/profile")
        admin_client.delete(f"vault-bridge/metadata/reconcile/orgs/{bad}")


def test_reconcile_command_once_with_its_own_approle(
    bao, admin_client, make_app, make_user, base_settings
) -> None:
    app = make_app(reconciler_role_id="", reconciler_secret_id="")
    api, org = create_org(app, make_user)
    sys_ = Sys(admin_client)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "VAULT_ADDR": bao.addr,
        "VAULT_BRIDGE_RECONCILER_ROLE_ID": sys_.approle_role_id("approle", RECONCILER_ROLE),
        "VAULT_BRIDGE_RECONCILER_SECRET_ID": sys_.approle_secret_id("approle", RECONCILER_ROLE),
    }
    result = run_cli("reconcile", "--once", env=env)
    assert f"wrote policy vault-bridge-org-{org}-maintain" in result.stdout
    assert policies_in_place(admin_client, base_settings, org)
    delete_org(api, org)
    # the loop: started, it reconciles the deletion, and stops on SIGTERM
    loop = subprocess.Popen(
        [CLI, "reconcile"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        eventually(lambda: no_policies(admin_client, org), timeout=20, interval=0.2)
    finally:
        loop.terminate()
        out, err = loop.communicate(timeout=20)
    assert loop.returncode == 0, err
    assert "reconciler stopped" in out
