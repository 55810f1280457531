"""Fixtures of the container tests (make test-containers): Docker, the image, docker compose.

They need a Docker engine (DOCKER_HOST) with `docker compose`, and the images named by
VAULT_BRIDGE_IMAGE (default vault-bridge:<version>, from `make image`) and OPENBAO_IMAGE (default:
the public image of docker-compose.yml). Nothing here is skipped: without Docker they fail.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

import vault_bridge
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"


def image() -> str:
    """The service image under test."""
    return os.environ.get("VAULT_BRIDGE_IMAGE") or f"vault-bridge:{vault_bridge.__version__}"


def run(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    check: bool = True,
    cwd: Path | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command (docker, docker compose, pip), failing the test with its output."""
    result = subprocess.run(
        args, env=env, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


@dataclass
class Stack:
    """A running `docker compose up` of docker-compose.yml under its own project name."""

    project: str
    env: dict[str, str]
    replicas: list[str]
    admin_password: str

    def compose(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """docker compose on this project."""
        command = ["docker", "compose", "-f", str(COMPOSE_FILE), "-p", self.project, *args]
        return run(*command, env=self.env, **kwargs)

    def container(self, service: str) -> dict[str, Any]:
        """`docker inspect` of the service's (first) container."""
        ids = self.compose("ps", "--all", "--quiet", service).stdout.split()
        assert ids, f"no container for {service}"
        return json.loads(run("docker", "inspect", ids[0]).stdout)[0]

    def exec(
        self, service: str, *command: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the service's running container."""
        return self.compose("exec", "-T", service, *command, check=check, timeout=120)

    def wait_for_policy(self, name: str, within: float) -> str | None:
        """The text of Vault policy ``name`` once it exists (read with the administrator
        credential, in a one-off bootstrap container), None when it did not appear in time."""
        probe = (
            "import sys, time\n"
            "from vault_bridge.config import Settings\n"
            "from vault_bridge.vault.client import VaultClient\n"
            "s = Settings.from_env()\n"
            "c = VaultClient(s.vault_addr, role_id=s.role_id, secret_id=s.secret_id)\n"
            f"deadline = time.monotonic() + {within}\n"
            "while time.monotonic() < deadline:\n"
            f"    body = c.read('sys/policies/acl/{name}')\n"
            "    if body:\n"
            "        print(body['data']['policy']); sys.exit(0)\n"
            "    time.sleep(0.5)\n"
        )
        done = self.compose(
            "run", "--rm", "-T", "--no-deps", "--entrypoint", "python3", "bootstrap", "-c", probe,
            timeout=180,
        )  # fmt: skip
        return done.stdout or None


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """docker-compose.yml, up on unusual loopback ports; `down -v` afterwards, whatever happened."""
    ports = [free_port(), free_port()]
    env = {
        **os.environ,
        "VAULT_BRIDGE_IMAGE": image(),
        "VAULT_BRIDGE_ADMIN_PASSWORD": secrets.token_urlsafe(18),
        "VAULT_BRIDGE_REPLICA_1_PORT": str(ports[0]),
        "VAULT_BRIDGE_REPLICA_2_PORT": str(ports[1]),
        "VAULT_BRIDGE_ISSUER": f"http://127.0.0.1:{ports[0]}",
    }
    built = Stack(
        project=f"vault-bridge-test-{uuid.uuid4().hex[:8]}",
        env=env,
        replicas=[f"http://127.0.0.1:{port}" for port in ports],
        admin_password=env["VAULT_BRIDGE_ADMIN_PASSWORD"],
    )
    try:
        built.compose("up", "--detach", "--no-build", timeout=600)
        for url in built.replicas:
            wait_ready(url)
        yield built
    finally:
        logs = built.compose("logs", "--no-color", "--timestamps", check=False).stdout
        (tmp_path_factory.getbasetemp() / "compose.log").write_text(logs)
        built.compose("down", "--volumes", "--remove-orphans", "--timeout", "10", check=False)
        left = run(
            "docker",
            "ps",
            "--all",
            "--quiet",
            "--filter",
            f"label=com.docker.compose.project={built.project}",
        ).stdout.split()
        assert left == [], f"containers left after down: {left}"


def wait_ready(url: str, timeout: float = 120.0) -> None:
    """Poll /readyz until it answers 200."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url}/readyz not ready within {timeout:.0f} s")
        time.sleep(0.25)


class RemoteUser:
    """A user of a running vault-bridge over HTTP: password session, CSRF, PATs."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.trust_env = False
        response = self.http.post(
            f"{url}/api/v1/session", json={"username": username, "password": password}, timeout=10
        )
        assert response.status_code == 200, response.text
        self.csrf = response.json()["csrf_token"]

    def new_pat(self, scopes: list[str]) -> dict[str, Any]:
        """Create a PAT with the password session (the only way to mint one)."""
        response = self.http.post(
            f"{self.url}/api/v1/user/personal-access-tokens",
            json={"name": f"t-{uuid.uuid4().hex[:8]}", "scopes": scopes},
            headers={"X-CSRF-Token": self.csrf},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return response.json()


def with_pat(method: str, url: str, token: str, **kwargs: Any) -> requests.Response:
    """One request authenticated by a PAT (Authorization: Bearer), no cookies, no proxies."""
    with requests.Session() as http:
        http.trust_env = False
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return http.request(method, url, headers=headers, timeout=10, **kwargs)
