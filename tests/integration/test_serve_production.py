"""`vault-bridge serve` as in production (VAULT_ADDR set, gunicorn workers): what it prints."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ISSUER
from tests.helpers import CLI, eventually, free_port
from vault_bridge.bootstrap import SERVICE_ROLE
from vault_bridge.vault.sys import Sys

pytestmark = pytest.mark.slow


class Serve:
    """A `vault-bridge serve` process with its stdout and stderr in files of their own."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.folder = folder
        self.stdout = folder / "stdout"
        self.stderr = folder / "stderr"
        self.base = f"http://127.0.0.1:{env['VAULT_BRIDGE_PORT']}"
        with open(self.stdout, "w") as out, open(self.stderr, "w") as err:
            self.process = subprocess.Popen([CLI, "serve"], env=env, stdout=out, stderr=err)

        def ready() -> bool:
            assert self.process.poll() is None, self.stderr.read_text()
            try:
                return requests.get(f"{self.base}/readyz", timeout=5).status_code == 200
            except requests.RequestException:  # not listening yet, or a worker still starting
                return False

        eventually(ready, timeout=60, interval=0.1)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """A request on a connection of its own (so that requests spread over the workers)."""
        headers = {"Connection": "close", **kwargs.pop("headers", {})}
        return requests.get(f"{self.base}{path}", headers=headers, timeout=10, **kwargs)

    def stop(self) -> int:
        """SIGTERM, as a container runtime stops it; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


@pytest.fixture
def production_env(bao, admin_client, tmp_path: Path) -> dict[str, str]:
    """The environment of a replica on the test OpenBao, nothing about serving chosen: with
    VAULT_ADDR set, serve picks gunicorn and JSON lines by itself."""
    sys_ = Sys(admin_client)
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "VAULT_ADDR": bao.addr,
        "VAULT_BRIDGE_ROLE_ID": sys_.approle_role_id("approle", SERVICE_ROLE),
        "VAULT_BRIDGE_SECRET_ID": sys_.approle_secret_id("approle", SERVICE_ROLE),
        "VAULT_BRIDGE_ISSUER": ISSUER,
        "VAULT_BRIDGE_PORT": str(free_port()),
        "VAULT_BRIDGE_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
    }


@pytest.fixture
def serve(production_env, tmp_path: Path) -> Iterator[Serve]:
    """A running serve; stopped after the test."""
    served = Serve(production_env, tmp_path)
    yield served
    served.stop()


def json_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a file, each of which must be one JSON object."""
    lines = path.read_text().splitlines()
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(entry, dict) for entry in parsed), lines
    return parsed


def test_every_line_of_output_and_audit_is_a_json_object(serve: Serve, user, tmp_path) -> None:
    http = requests.Session()
    wrong = {"username": user.id, "password": "not-the-password"}
    assert http.post(f"{serve.base}/api/v1/session", json=wrong).status_code == 401
    login = http.post(
        f"{serve.base}/api/v1/session", json={"username": user.id, "password": user.password}
    )
    created = http.post(
        f"{serve.base}/api/v1/user/personal-access-tokens",
        json={"name": "logs", "scopes": ["api"]},
        headers={"X-CSRF-Token": login.json()["csrf_token"]},
    ).json()
    pat = {"X-Auth-Token": created["token"]}
    assert serve.get("/api/v1/user?secret=in-the-query", headers=pat).status_code == 200
    assert serve.get("/no/such/page").status_code == 404
    audit = tmp_path / "audit.jsonl"
    audit.rename(tmp_path / "audit.jsonl.1")  # what logrotate does, without telling anyone
    revoked = requests.delete(
        f"{serve.base}/api/v1/user/personal-access-tokens/{created['id']}", headers=pat
    )
    assert revoked.status_code == 204
    assert serve.stop() == 0

    before = [e["event"] for e in json_lines(tmp_path / "audit.jsonl.1")]
    assert before == ["login", "login", "pat.create", "pat.use"]
    after = [e["event"] for e in json_lines(audit)]  # a new file after rotation
    assert after[-1] == "pat.revoke" and set(after[:-1]) <= {"pat.use"}  # the other worker's use

    access = json_lines(serve.stdout)
    assert {e["logger"] for e in access} == {"vault_bridge.access"}
    routes = [(e["route"], e["status"]) for e in access]
    assert ("/api/v1/user", 200) in routes and ("unmatched", 404) in routes
    assert all(set(e) >= {"time", "level", "request_id", "path", "ms"} for e in access)

    messages = json_lines(serve.stderr)
    assert any("with 2 gunicorn workers" in e.get("message", "") for e in messages)
    booting = [e for e in messages if "Booting worker" in e.get("message", "")]
    assert len(booting) == 2 and {e["logger"] for e in booting} == {"gunicorn.error"}
    everything = "".join(p.read_text() for p in (serve.stdout, serve.stderr, audit))
    assert created["token"] not in everything and "in-the-query" not in everything


def scrape(serve: Serve) -> str:
    response = serve.get("/metrics")
    assert response.status_code == 200
    return response.text


def sample(text: str, name: str, **labels: str) -> float:
    """One sample of a scrape (0 when absent)."""
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series.split("{")[0] == name and all(f'{k}="{v}"' in series for k, v in labels.items()):
            return float(value)
    return 0.0


def stale_counter(folder: Path, name: str, labels: dict[str, str], amount: float) -> None:
    """What a previous run left in the metrics folder (a counter file of a long-gone pid)."""
    script = (
        "import sys, prometheus_client as p\n"
        f"c = p.Counter({name!r}, 'x', {sorted(labels)!r})\n"
        f"c.labels(**{labels!r}).inc({amount})\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=30)


def test_one_scrape_reports_the_whole_gunicorn_group(production_env, tmp_path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    healthz = {"route": "/healthz", "method": "GET", "status": "200"}
    stale_counter(folder, "vault_bridge_http_requests_total", healthz, 1000)
    assert list(folder.glob("counter_*.db"))
    serve = Serve({**production_env, "PROMETHEUS_MULTIPROC_DIR": str(folder)}, tmp_path)
    try:
        sent = 0

        def workers() -> set[int]:
            return {int(p.stem.split("_")[-1]) for p in folder.glob("counter_*.db")}

        while sent < 40 or (len(workers()) < 2 and sent < 1000):  # the kernel picks the worker
            assert serve.get("/healthz").status_code == 200
            sent += 1
        served = workers()
        assert len(served) == 2  # both workers served, the stale file of the last run is gone
        scrapes = [scrape(serve) for _ in range(6)]  # each on a new connection: any worker
        totals = [sample(text, "vault_bridge_http_requests_total", **healthz) for text in scrapes]
        assert totals == [sent] * len(scrapes)
        seen = [sample(t, "vault_bridge_http_requests_total", route="/metrics") for t in scrapes]
        assert seen == sorted(seen) and seen[-1] >= len(scrapes) - 1  # monotonic, all counted
        # each worker reports its denylist's age once it has loaded it (+Inf until then)
        eventually(lambda: 0 <= sample(scrape(serve), "vault_bridge_denylist_age_seconds") < 5)

        dead = served.pop()
        os.kill(dead, signal.SIGKILL)  # gunicorn starts another; its counts must stay
        eventually(lambda: not (folder / f"gauge_livemax_{dead}.db").exists(), timeout=20)
        eventually(lambda: serve.get("/readyz").status_code == 200, timeout=30)
        after = scrape(serve)
        assert sample(after, "vault_bridge_http_requests_total", **healthz) == sent
        assert sample(after, "vault_bridge_http_requests_total", route="/metrics") > seen[-1]
    finally:
        assert serve.stop() == 0
