"""Small helpers shared by the tests: free ports, API sign-in, token creation, CLI runs."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient


def free_port_pair() -> int:
    """A loopback port p such that p and p + 1 are both free (API and cluster port).

    Drawn below the kernel's ephemeral range where there is room, so that the ports the kernel
    hands out meanwhile (outgoing connections, ``free_port``) cannot take them before OpenBao binds.
    """
    low, high = 20000, 60000
    ephemeral = _ephemeral_range()
    if ephemeral and ephemeral[0] - 10000 > 2000:
        low, high = 10000, ephemeral[0] - 2
    for _ in range(200):
        port = random.randint(low, high)
        if all(_free(p) for p in (port, port + 1)):
            return port
    raise RuntimeError("no free port pair")


def _ephemeral_range() -> tuple[int, int] | None:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as handle:
            first, last = handle.read().split()
    except (OSError, ValueError):
        return None
    return int(first), int(last)


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def unique_id(prefix: str = "u") -> str:
    """A valid, unique user or organization id."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass
class Account:
    """A test user and its password."""

    id: str
    password: str


class Api:
    """Drives the JSON API like a client: sign in, create tokens, call with a PAT."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf = ""

    def login(self, account: Account) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/session", json={"username": account.id, "password": account.password}
        )
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        self.csrf = body["csrf_token"]
        return body

    def create_pat(self, name: str = "cli", scopes: Any = ("api",), **extra: Any) -> Any:
        return self.client.post(
            "/api/v1/user/personal-access-tokens",
            json={"name": name, "scopes": list(scopes), **extra},
            headers={"X-CSRF-Token": self.csrf},
        )

    def new_pat(
        self, name: str | None = None, scopes: Any = ("api",), **extra: Any
    ) -> dict[str, Any]:
        response = self.create_pat(name or f"t-{uuid.uuid4().hex[:8]}", scopes, **extra)
        assert response.status_code == 201, response.get_json()
        return response.get_json()


PAT_PREFIX = "vbpat_"  # the default VAULT_BRIDGE_PAT_PREFIX


def jws(token: str) -> str:
    """The compact JWS of a PAT: what any JWT library verifies, once the prefix is stripped."""
    return token.removeprefix(PAT_PREFIX)


def pat_headers(token: str, header: str = "X-Auth-Token") -> dict[str, str]:
    """Headers carrying a PAT the way PLANQK clients (or Bearer clients) send it."""
    if header == "Authorization":
        return {"Authorization": f"Bearer {token}"}
    return {header: token}


def eventually(check: Any, timeout: float = 10.0, interval: float = 0.02) -> float:
    """Call ``check`` until it returns true; return the seconds it took, fail after ``timeout``.

    The timeout only ends a wait that will not succeed: keep it generous (a loaded machine is
    slow), and assert on the returned seconds where a test claims a time bound.
    """
    import time

    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


class LiveServer:
    """An app served over real HTTP on a loopback port, in a thread (for clients that use HTTP)."""

    # serve_forever notices a shutdown request only between polls (Werkzeug's default is 0.5 s,
    # paid by every test that stops a server); an idle poll costs next to nothing
    POLL_INTERVAL = 0.02

    def __init__(self, app: Any) -> None:
        import threading

        from werkzeug.serving import make_server

        # port 0: the kernel picks a free port at bind time (no race with parallel test workers)
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(self.POLL_INTERVAL,), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()


# The console script pip installed beside this interpreter: for the tests that need a real process.
CLI = str(Path(sys.executable).parent / "vault-bridge")


def run_cli(
    *args: str, env: Mapping[str, str], stdin: str = "", check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a ``vault-bridge`` command in this process, as its console script would run it.

    The real command group runs in standalone mode under click's test runner, which swaps
    stdin, stdout and stderr for the call; the settings are read from ``env`` alone (never from
    this process's environment, which stays untouched). An exception the command does not turn
    into an exit code propagates, as a traceback would end the process. With ``check``, a
    non-zero exit fails the test.
    """
    from click.testing import CliRunner

    from vault_bridge.cli import cli

    result = CliRunner().invoke(
        cli,
        list(args),
        input=stdin,
        obj=dict(env),
        prog_name="vault-bridge",
        catch_exceptions=False,
    )
    done = subprocess.CompletedProcess(
        ["vault-bridge", *args], result.exit_code, result.stdout, result.stderr
    )
    if check:
        assert done.returncode == 0, (done.stdout, done.stderr)
    return done


def run_process(
    *args: str, env: Mapping[str, str], stdin: str = "", check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a ``vault-bridge`` command as a process of the installed console script."""
    done = subprocess.run(
        [CLI, *args], input=stdin, env=dict(env), capture_output=True, text=True, timeout=60
    )
    if check:
        assert done.returncode == 0, (done.stdout, done.stderr)
    return done


class AuditTail:
    """The requests an OpenBao's file audit device logs from now on (path and operation).

    The log may be rotated meanwhile (``audit.log`` -> ``audit.log.1``): the rest of the
    rotated file is read first.
    """

    def __init__(self, log: Path) -> None:
        self.log = log
        self.offset = log.stat().st_size

    def requests(self) -> list[tuple[str, str]]:
        """``(operation, path)`` of every request logged since this tail was made."""
        size = self.log.stat().st_size
        parts = [self.log.read_bytes()[self.offset :]]
        if size < self.offset:  # rotated: the rest of the old file, then all of the new one
            rotated = self.log.with_name(self.log.name + ".1")
            parts = [rotated.read_bytes()[self.offset :], self.log.read_bytes()]
        seen = []
        for line in b"".join(parts).split(b"\n")[:-1]:  # a line still being written waits
            entry = json.loads(line)
            if entry.get("type") == "request":
                request = entry["request"]
                seen.append((request.get("operation", ""), request.get("path", "")))
        return seen
