"""Failover: a 3-node OpenBao Raft cluster, two vault-bridge replicas, the leader goes away."""

from __future__ import annotations

import time

import pytest

from tests.cluster import Cluster
from tests.helpers import Account, Api, eventually, pat_headers
from vault_bridge.app import create_app
from vault_bridge.bootstrap import RUNNER_ROLE, SERVICE_ROLE, bootstrap
from vault_bridge.config import Settings
from vault_bridge.services import Services
from vault_bridge.vault.sys import Sys

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("raft"))
    cluster.start()
    yield cluster
    cluster.stop()


def replica(cluster: Cluster, node: str, base: Settings):
    sys_ = Sys(cluster.admin("node1"))
    settings = Settings.from_env(
        env={},
        **{
            **base.model_dump(),
            "vault_addr": cluster.nodes[node],
            "role_id": sys_.approle_role_id("approle", SERVICE_ROLE),
            "secret_id": sys_.approle_secret_id("approle", SERVICE_ROLE),
            "runner_role_id": sys_.approle_role_id("approle", RUNNER_ROLE),
            "runner_secret_id": sys_.approle_secret_id("approle", RUNNER_ROLE),
        },
    )
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


def test_service_survives_losing_the_raft_leader(cluster: Cluster, tmp_path) -> None:
    base = Settings.from_env(
        env={},
        vault_addr=cluster.nodes["node1"],
        issuer="https://raft.test",
        audit_log=str(tmp_path / "audit.jsonl"),
        denylist_poll_interval=0.1,
        denylist_max_staleness=3.0,
        directory_cache_ttl=0.5,
        vault_timeout=2.0,
    )
    admin = Services(base, cluster.admin("node1"))
    bootstrap(admin.client, base)
    assert cluster.leader("node2") == "node1"
    admin.directory.create_user("raft-user", "raft-password-123")
    replica_a, replica_b = replica(cluster, "node2", base), replica(cluster, "node3", base)
    try:
        api_a, client_b = Api(replica_a.test_client()), replica_b.test_client()
        # a KV v2 mount this new is briefly unavailable on standbys (503, retryable)
        for client in (api_a.client, client_b):
            eventually(
                lambda c=client: c.get("/readyz").status_code == 200, timeout=15, interval=0.2
            )
        api_a.login(Account("raft-user", "raft-password-123"))
        eventually(
            lambda: api_a.client.get("/api/v1/user/personal-access-tokens").status_code == 200,
            timeout=15,
            interval=0.2,
        )
        tokens = [api_a.new_pat(f"before-{i}") for i in range(5)]
        for i in range(10):  # on a standby that serves reads itself: it shows its own writes
            response = api_a.client.put(
                "/api/v1/user/provider-access-tokens/ionq",
                json={"api_key": f"{i}" * 40},
                headers={"X-CSRF-Token": api_a.csrf},
            )
            assert response.status_code in (200, 201)
            assert response.get_json()["fields"]["api_key"]["hint"].endswith(f"{i}" * 4)
        revoked = tokens.pop()
        assert (
            api_a.client.delete(
                f"/api/v1/user/personal-access-tokens/{revoked['id']}",
                headers={"X-CSRF-Token": api_a.csrf},
            ).status_code
            == 204
        )
        eventually(
            lambda: (
                client_b.get("/api/v1/user", headers=pat_headers(revoked["token"])).status_code
                == 401
            )
        )

        started = time.monotonic()
        cluster.kill("node1")
        eventually(lambda: cluster.leader("node2") in ("node2", "node3"), timeout=30, interval=0.2)
        elected = time.monotonic() - started

        # both replicas serve again: verification, reads and writes through the new leader
        for client in (api_a.client, client_b):
            eventually(
                lambda c=client: (
                    c.get("/api/v1/user", headers=pat_headers(tokens[0]["token"])).status_code
                    == 200
                ),
                timeout=15,
                interval=0.2,
            )
        listed = eventually_json(api_a.client, "/api/v1/user/personal-access-tokens")
        assert {t["id"] for t in listed} == {t["id"] for t in tokens}  # no acknowledged write lost
        ionq = eventually_json(api_a.client, "/api/v1/user/provider-access-tokens/ionq")
        assert ionq["version"] == 10 and ionq["fields"]["api_key"]["hint"] == "…9999"
        after = api_a.new_pat("after-failover")
        assert client_b.get("/api/v1/user", headers=pat_headers(after["token"])).status_code == 200
        assert (
            client_b.get("/api/v1/user", headers=pat_headers(revoked["token"])).status_code == 401
        )

        # a revocation on one replica reaches the other within 1 s, on the new leader too
        assert (
            api_a.client.delete(
                f"/api/v1/user/personal-access-tokens/{tokens[0]['id']}",
                headers={"X-CSRF-Token": api_a.csrf},
            ).status_code
            == 204
        )
        took = eventually(
            lambda: (
                client_b.get("/api/v1/user", headers=pat_headers(tokens[0]["token"])).status_code
                == 401
            ),
            timeout=1.0,
        )
        assert took < 1.0
        assert elected < 30
    finally:
        replica_a.extensions["vault_bridge"].close()
        replica_b.extensions["vault_bridge"].close()


def eventually_json(client, path: str):
    result = {}

    def fetch() -> bool:
        response = client.get(path)
        if response.status_code == 200:
            result["body"] = response.get_json()
            return True
        return False

    eventually(fetch, timeout=15, interval=0.2)
    return result["body"]
