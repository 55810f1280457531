"""The organization policy reconciler: the only writer of organization policies, rendered from
the templates for organizations that exist, in-process (as `make run` runs it), as its own loop,
and as `vault-bridge reconcile`."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time

import pytest

from tests.helpers import CLI, Api, eventually, run_cli, unique_id
from vault_bridge.bootstrap import RECONCILER_ROLE
from vault_bridge.config import Settings
from vault_bridge.directory.reconciler import PolicyReconciler, ReconcileLoop
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.policies import OrgPolicyTemplates, policy_root
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


# -- one full look shared by every replica -----------------------------------------------------

STATE = "vault-bridge/data/reconcile/state"
STATE_METADATA = "vault-bridge/metadata/reconcile/state"
WIDE = 'path "*" { capabilities = ["read", "list"] }'


def make_drift(admin_client, org: str) -> None:
    """Widen an organization's view policy by hand, as an operator with the rights could."""
    Sys(admin_client).write_policy(f"vault-bridge-org-{org}-view", WIDE)


def org_with_policies(make_app, make_user, reconciler) -> str:
    """An organization made by a replica without the reconciler, completed by the reconciler."""
    app = make_app(reconciler_role_id="", reconciler_secret_id="")
    _, org = create_org(app, make_user)
    reconciler.pending()
    return org


def replica(reconciler_vault, settings, full_interval: float = 3600) -> ReconcileLoop:
    """The reconcile loop of one more replica starting now."""
    reconciler = PolicyReconciler(reconciler_vault, settings)
    return ReconcileLoop(reconciler, interval=0.1, full_interval=full_interval)


def test_a_replica_started_after_a_full_look_skips_it_yet_handles_markers(
    make_app, make_user, admin_client, base_settings, reconciler, reconciler_vault
) -> None:
    """The first replica looks at every organization and records it; the next one to start
    reads that record and only handles the markers until the look is ``full_interval`` old."""
    drifted = org_with_policies(make_app, make_user, reconciler)
    admin_client.delete(STATE_METADATA)  # no record yet
    replica(reconciler_vault, base_settings).step()  # the first replica: the full look
    record = admin_client.read(STATE)["data"]["data"]
    assert record["digest"] == reconciler.digest
    assert time.time() - 60 < record["started_at"] <= record["completed_at"] <= time.time()
    make_drift(admin_client, drifted)
    second = replica(reconciler_vault, base_settings)
    before = reconciler_vault.calls
    second.step()
    # the record, sys/leader and the markers' LIST: no organization's profile, policy or group
    assert reconciler_vault.calls - before == 3
    assert not policies_in_place(admin_client, base_settings, drifted)
    app = make_app(reconciler_role_id="", reconciler_secret_id="")
    _, waiting = create_org(app, make_user)
    second.step()
    assert policies_in_place(admin_client, base_settings, waiting)
    assert not marker(admin_client, waiting)
    assert not policies_in_place(admin_client, base_settings, drifted)  # still no full look
    reconciler.reconcile_all()


def test_a_replica_repairs_drift_when_the_shared_look_comes_due(
    make_app, make_user, admin_client, base_settings, reconciler, reconciler_vault
) -> None:
    """A replica that skipped the full look at start does it once the recorded one is
    ``full_interval`` old (plus a little jitter), repairing changes made by hand."""
    full_interval = 2.0
    drifted = org_with_policies(make_app, make_user, reconciler)
    reconciler.reconcile_all()  # the first replica's full look
    looked = time.monotonic()
    make_drift(admin_client, drifted)
    second = replica(reconciler_vault, base_settings, full_interval)
    second.step()
    assert not policies_in_place(admin_client, base_settings, drifted)

    def repaired() -> bool:
        second.step()
        return policies_in_place(admin_client, base_settings, drifted)

    eventually(repaired, timeout=15, interval=0.05)
    assert time.monotonic() - looked >= full_interval - 0.2  # not before it came due


def test_other_templates_mean_a_full_look_at_the_first_start(
    make_app, make_user, admin_client, base_settings, reconciler, reconciler_vault, tmp_path
) -> None:
    """A version whose templates differ from those of the recorded look (another digest) looks
    at every organization on its first start, whatever the record's age."""
    drifted = org_with_policies(make_app, make_user, reconciler)
    reconciler.reconcile_all()
    make_drift(admin_client, drifted)
    policies = tmp_path / "policies"
    shutil.copytree(policy_root(base_settings), policies, ignore=shutil.ignore_patterns("*.py"))
    view = policies / "templates" / "org-view.hcl"
    view.write_text(view.read_text() + "# a new version of the template\n")
    fields = {**base_settings.model_dump(), "policy_dir": str(policies)}
    settings = Settings.from_env(env={}, **fields)
    upgraded = replica(reconciler_vault, settings)
    assert upgraded.reconciler.digest != reconciler.digest
    try:
        upgraded.step()
        text = Sys(admin_client).read_policy(f"vault-bridge-org-{drifted}-view")
        assert (
            text
            == OrgPolicyTemplates(settings).for_org(drifted)[f"vault-bridge-org-{drifted}-view"]
        )
        assert admin_client.read(STATE)["data"]["data"]["digest"] == upgraded.reconciler.digest
    finally:
        reconciler.reconcile_all()  # the shipped templates back for the other tests
    assert policies_in_place(admin_client, base_settings, drifted)


DIGEST = object()  # in a record below: the reconciler's own digest
RECORDS = {  # completed_at as seconds from now
    "too old": {"digest": DIGEST, "completed_at": -3601},
    "from the future": {"digest": DIGEST, "completed_at": 3 * 86400},
    "other templates": {"digest": "0" * 64, "completed_at": 0},
    "no digest": {"completed_at": 0},
    "digest not a string": {"digest": ["x"], "completed_at": 0},
    "no time": {"digest": DIGEST},
    "time a string": {"digest": DIGEST, "completed_at": "yesterday"},
    "time a boolean": {"digest": DIGEST, "completed_at": True},
    "time null": {"digest": DIGEST, "completed_at": None},
}


@pytest.mark.parametrize("case", ["missing", "deleted", *RECORDS])
def test_an_old_missing_or_garbled_record_means_a_full_look(
    make_app, make_user, admin_client, base_settings, reconciler, reconciler_vault, case: str
) -> None:
    drifted = org_with_policies(make_app, make_user, reconciler)
    reconciler.reconcile_all()
    make_drift(admin_client, drifted)
    if case == "missing":
        admin_client.delete(STATE_METADATA)
    elif case == "deleted":
        admin_client.delete(STATE)  # its latest version deleted, as `bao kv delete` does
    else:
        data = {
            key: reconciler.digest if value is DIGEST else value
            for key, value in RECORDS[case].items()
        }
        if isinstance(data.get("completed_at"), int) and not isinstance(data["completed_at"], bool):
            data["completed_at"] += time.time()
        admin_client.write(STATE, {"data": data})
    replica(reconciler_vault, base_settings).step()
    assert policies_in_place(admin_client, base_settings, drifted)
    assert admin_client.read(STATE)["data"]["data"]["digest"] == reconciler.digest


def test_a_record_that_cannot_be_read_or_written_means_a_full_look(
    bao, make_app, make_user, admin_client, base_settings, reconciler, caplog
) -> None:
    """A reconciler that may not read or write the record (a narrower policy, an outage of
    that path) still looks at everything, and says so in the log without its token."""
    drifted = org_with_policies(make_app, make_user, reconciler)
    reconciler.reconcile_all()
    make_drift(admin_client, drifted)
    name = unique_id("nostate")
    Sys(admin_client).write_policy(name, f'path "{STATE}" {{ capabilities = ["deny"] }}')
    body = admin_client.write(
        "auth/token/create", {"policies": ["vault-bridge-reconciler", name], "ttl": "5m"}
    )
    token = body["auth"]["client_token"]
    narrow = VaultClient(bao.addr, token=token)
    try:
        with caplog.at_level(logging.INFO, logger="vault_bridge.directory.reconciler"):
            replica(narrow, base_settings).step()
        assert policies_in_place(admin_client, base_settings, drifted)
        messages = [record.getMessage() for record in caplog.records]
        assert any("could not read the record" in line for line in messages), messages
        assert any("could not record the full look" in line for line in messages), messages
        assert not any(token in line for line in messages)
    finally:
        narrow.close()
        Sys(admin_client).delete_policy(name)
