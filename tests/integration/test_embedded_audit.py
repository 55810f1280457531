"""The embedded OpenBao's audit log is rotated by size, so its disk use is bounded."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import eventually, free_port_pair
from vault_bridge.embedded import EmbeddedOpenBao

pytestmark = pytest.mark.slow


@pytest.fixture
def small_audit(tmp_path: Path) -> Iterator[EmbeddedOpenBao]:
    server = EmbeddedOpenBao(
        tmp_path, free_port_pair(), audit_max_bytes=30_000, audit_keep=2, audit_check_interval=0.05
    )
    server.start()
    yield server
    server.stop()


def test_the_audit_log_is_rotated_by_size_and_old_files_are_dropped(small_audit) -> None:
    admin = small_audit.admin_client()
    root = small_audit.root
    for _ in range(400):  # audited requests, about 2.5 KB each in the log
        rotations = small_audit.audit_rotations
        admin.read("sys/mounts")
        if small_audit.audit_rotations >= 4:
            break
        if small_audit.audit_log.stat().st_size >= small_audit.audit_max_bytes:
            # the limit is reached: the check (every 0.05 s) rotates before the next write, so
            # what a rotated file holds past the limit does not depend on how busy the machine is
            eventually(lambda r=rotations: small_audit.audit_rotations > r, timeout=10)
        time.sleep(0.01)
    assert small_audit.audit_rotations >= 4
    # OpenBao writes into a new file after the SIGHUP
    admin.read("sys/mounts")
    eventually(small_audit.audit_log.exists, timeout=2)
    assert {p.name for p in root.glob("audit.log*")} == {"audit.log", "audit.log.1", "audit.log.2"}
    # every file holds whole JSON lines; the rotated ones stay near the limit (it is checked
    # every 0.05 s, and OpenBao writes to the renamed file until it has reopened)
    for name in ("audit.log.1", "audit.log.2"):
        lines = (root / name).read_text().splitlines()
        assert lines and all(json.loads(line)["type"] for line in lines)
        assert (root / name).stat().st_size < 30_000 * 2
    before = small_audit.audit_log.stat().st_size
    admin.read("sys/mounts")
    eventually(lambda: small_audit.audit_log.stat().st_size > before, timeout=2)
    assert admin.read("sys/mounts") is not None  # and the server is fine
