"""What every benchmark needs: a throwaway embedded OpenBao on free loopback ports."""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import free_port_pair
from vault_bridge.config import Settings
from vault_bridge.embedded import EmbeddedOpenBao
from vault_bridge.vault.client import VaultClient


@contextlib.contextmanager
def throwaway_openbao() -> Iterator[EmbeddedOpenBao]:
    """Start an OpenBao in a temporary directory; stop and delete it afterwards."""
    with tempfile.TemporaryDirectory() as data_dir:
        # the audit log is measured by some benchmarks: never rotated under them
        server = EmbeddedOpenBao(data_dir, free_port_pair(), audit_max_bytes=2**62)
        server.start()
        try:
            yield server
        finally:
            server.stop()


def bench_settings(server: EmbeddedOpenBao, **overrides: object) -> Settings:
    """Settings for a benchmark against ``server`` (no audit file)."""
    return Settings.from_env(
        env={}, vault_addr=server.addr, issuer="https://bench.test", audit_log="off", **overrides
    )


class MeteredClient(VaultClient):
    """A VaultClient that also counts the bytes it sends in writes and receives, and its
    unauthenticated ``sys/leader`` requests apart (a response hook on its HTTP session)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bytes_written = 0
        self.bytes_read = 0
        self.leader_calls = 0
        self._session.hooks["response"].append(self._count)

    def _count(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        if request.method in ("POST", "PUT", "PATCH") and request.body:
            self.bytes_written += len(request.body)
        if (request.path_url or "").startswith("/v1/sys/leader"):
            self.leader_calls += 1
        self.bytes_read += len(response.content)


def audit_bytes_by_token(
    server: EmbeddedOpenBao, offset: int, end: int, clients: list[VaultClient]
) -> list[int]:
    """Audited bytes each client caused between two offsets of the audit log (the log holds
    tokens HMAC'd; ``sys/audit-hash`` computes the same HMAC)."""
    admin = server.admin_client()
    hashes = [
        admin.write("sys/audit-hash/vault-bridge", {"input": client.token})["hash"]
        for client in clients
    ]
    totals = [0] * len(clients)
    with open(server.audit_log, "rb") as handle:
        handle.seek(offset)
        for line in handle.read(end - offset).splitlines():
            try:
                token = json.loads(line).get("auth", {}).get("client_token")
            except ValueError:  # the last line, cut at ``end`` while it was being written
                continue
            if token in hashes:
                totals[hashes.index(token)] += len(line)
    return totals


def rss_mb() -> float:
    """This process's resident set size in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
