"""Run-time delivery speed: grant + redeem + unwrap, against a bare Vault wrapped read + unwrap.

Both paths run in the same process against the same throwaway embedded OpenBao:
  vault-bridge  POST /api/v1/runtime/grants (PAT), POST /api/v1/runtime/grants/redeem (runner's
                Vault token), then the runner unwraps at Vault
  bare Vault    the service token reads the KV secret with X-Vault-Wrap-TTL, the runner unwraps
The app is driven through Flask's test client (no socket), Vault over loopback HTTP.

Budget (docs/benchmarks.md): vault-bridge <= 1.5x bare Vault.
Run: .venv/bin/python benchmarks/bench_runtime.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import bench_settings, throwaway_openbao
from vault_bridge.app import create_app
from vault_bridge.bootstrap import RUNNER_ROLE, SERVICE_ROLE, bootstrap
from vault_bridge.embedded import EmbeddedOpenBao
from vault_bridge.runtime.client import unwrap
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.sys import Sys

ROUNDS = 7
CALLS = 40


def main() -> None:
    with throwaway_openbao() as server:
        run(server)


def run(server: EmbeddedOpenBao) -> None:
    admin = server.admin_client()
    base = bench_settings(server)
    bootstrap(admin, base)
    sys_ = Sys(admin)
    settings = bench_settings(
        server,
        role_id=sys_.approle_role_id("approle", SERVICE_ROLE),
        secret_id=sys_.approle_secret_id("approle", SERVICE_ROLE),
    )
    app = create_app(settings)
    services = app.extensions["vault_bridge"]
    services.directory.create_user("bench", "bench-password-123")
    services.providers.put("users", "bench", "ionq", {"api_key": "k" * 40}, "bench")
    _, pat = services.tokens.issue("bench", "bench", ["api", "quantum_tokens"])
    runner = VaultClient(
        server.addr,
        role_id=sys_.approle_role_id("approle", RUNNER_ROLE),
        secret_id=sys_.approle_secret_id("approle", RUNNER_ROLE),
    )
    client = app.test_client()
    headers = {"X-Auth-Token": pat}
    runner_headers = {"X-Vault-Token": runner.token}
    counter = iter(range(10**9))

    def bridge() -> None:
        issued = client.post(
            "/api/v1/runtime/grants",
            headers=headers,
            json={"provider": "ionq", "job_id": f"job-{next(counter)}"},
        )
        assert issued.status_code == 201, issued.get_json()
        redeemed = client.post(
            "/api/v1/runtime/grants/redeem",
            headers=runner_headers,
            json={"grant": issued.get_json()["grant"]},
        )
        assert redeemed.status_code == 200, redeemed.get_json()
        assert unwrap(runner, redeemed.get_json()["wrap_token"])["data"]["api_key"] == "k" * 40

    path = f"{settings.kv_mount}/data/users/bench/provider-access-tokens/ionq"

    def bare() -> None:
        wrapped = services.client.request("GET", path, wrap_ttl="60s")
        assert unwrap(runner, wrapped["wrap_info"]["token"])["data"]["api_key"] == "k" * 40

    bridge()
    bare()
    samples: dict[str, list[float]] = {"vault-bridge": [], "bare Vault": []}
    for _ in range(ROUNDS):  # interleaved, so drift hits both alike
        for name, fn in (("vault-bridge", bridge), ("bare Vault", bare)):
            start = time.perf_counter()
            for _ in range(CALLS):
                fn()
            samples[name].append((time.perf_counter() - start) / CALLS)
    services.close()
    result = {name: statistics.median(values) for name, values in samples.items()}
    for name, seconds in result.items():
        print(f"{name:<14}{seconds * 1e3:>9.2f} ms per delivery")
    ratio = result["vault-bridge"] / result["bare Vault"]
    verdict = "PASS" if ratio <= 1.5 else "FAIL"
    print(f"\nvault-bridge / bare Vault = {ratio:.2f}   (budget <= 1.50): {verdict}")


if __name__ == "__main__":
    main()
