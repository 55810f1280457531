"""What every benchmark needs: a throwaway embedded OpenBao on free loopback ports."""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import free_port_pair
from vault_bridge.config import Settings
from vault_bridge.embedded import EmbeddedOpenBao


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
