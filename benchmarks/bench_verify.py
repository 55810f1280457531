"""PAT verification speed, as ratios against baselines measured in the same run.

Starts a throwaway embedded OpenBao, issues one PAT, then measures:
  seen-before   TokenService.verify of a token it verified before (cache + denylist lookup)
  first-time    TokenService.verify with an empty cache (header, key, signature, claims, denylist)
  bare PyJWT    jwt.decode of the same token with the same key and options, nothing else
  lookup-self   one hvac auth/token/lookup-self against the same OpenBao

Budgets (docs/benchmarks.md):
seen-before >= 200x faster than lookup-self; first-time <= 1.2x bare PyJWT.
Run: .venv/bin/python benchmarks/bench_verify.py  (or `make bench`)
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import hvac
import jwt
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import bench_settings, throwaway_openbao
from vault_bridge.bootstrap import bootstrap
from vault_bridge.embedded import EmbeddedOpenBao
from vault_bridge.services import Services
from vault_bridge.tokens.signing import REQUIRED_CLAIMS

ROUNDS = 7


def per_call(fn: Callable[[], object], calls: int, rounds: int = ROUNDS) -> float:
    """Median over ``rounds`` of the mean seconds per call."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def main() -> None:
    with throwaway_openbao() as server:
        run(server)


def run(server: EmbeddedOpenBao) -> None:
    settings = bench_settings(server)
    admin = server.admin_client()
    bootstrap(admin, settings)
    services = Services(settings, admin)
    services.directory.create_user("bench", "bench-password-123")
    _, token = services.tokens.issue("bench", "bench", ["api", "quantum_tokens"])
    tokens = services.tokens
    tokens.start()
    bare = token.removeprefix(settings.pat_prefix)  # PyJWT verifies the JWS after the prefix
    key = tokens.keys.get(jwt.get_unverified_header(bare)["kid"])
    assert key is not None
    options = {"require": REQUIRED_CLAIMS}
    token_id = jwt.decode(bare, options={"verify_signature": False})["jti"]

    def seen_before() -> object:
        return tokens.verify(token)

    def first_time() -> object:
        tokens.verifier.forget([token_id])  # as if never seen
        return tokens.verify(token)

    def bare_pyjwt() -> object:
        return jwt.decode(
            bare,
            key.public_key,
            algorithms=[key.algorithm],
            audience=settings.audience,
            issuer=settings.issuer,
            options=options,
        )

    session = requests.Session()
    session.trust_env = False
    client = hvac.Client(url=server.addr, token=admin.token, session=session)

    def lookup_self() -> object:
        return client.auth.token.lookup_self()

    seen_before()
    # first-time and bare PyJWT alternate in short rounds, and the ratio is taken per round:
    # the machine's drift then hits both sides of each ratio alike
    ratios, first_samples, bare_samples = [], [], []
    for _ in range(ROUNDS * 3):
        first = per_call(first_time, 300, rounds=1)
        bare_ = per_call(bare_pyjwt, 300, rounds=1)
        first_samples.append(first)
        bare_samples.append(bare_)
        ratios.append(first / bare_)
    results = {
        "seen-before verify": per_call(seen_before, 100_000),
        "first-time verify": statistics.median(first_samples),
        "bare PyJWT decode": statistics.median(bare_samples),
        "hvac lookup-self": per_call(lookup_self, 200),
    }
    tokens.close()
    print(f"{'measure':<22}{'per call':>14}")
    for name, seconds in results.items():
        print(f"{name:<22}{seconds * 1e6:>11.2f} us")
    fast = results["hvac lookup-self"] / results["seen-before verify"]
    slow = statistics.median(ratios)
    print()
    print(
        f"seen-before is {fast:,.0f}x faster than lookup-self   (budget >= 200x): "
        f"{'PASS' if fast >= 200 else 'FAIL'}"
    )
    print(
        f"first-time / bare PyJWT = {slow:.2f} (median of paired rounds; budget <= 1.20): "
        f"{'PASS' if slow <= 1.2 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
