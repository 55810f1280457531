"""A 3-node OpenBao Raft cluster on loopback ports, for the failover test.

Node 1 is an EmbeddedOpenBao (self-initialized, static seal). Nodes 2 and 3 share its seal key and
join it with ``retry_join``; every node can serve, standbys forward to the active node.

Start-up is tuned for a test: the followers start together with node 1 (they retry the join until
it answers, and a node only tries its stored unseal key every 5 s, so starting late costs a whole
round), and node 1's autopilot promotes them to voters after 1 s of health instead of 10 s.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.helpers import free_port_pair
from vault_bridge.embedded import EmbeddedOpenBao, bao_binary
from vault_bridge.errors import ServiceUnavailable
from vault_bridge.vault.client import VaultClient, VaultError
from vault_bridge.vault.sys import Sys

FOLLOWER = """\
disable_mlock = true
api_addr = "http://127.0.0.1:{port}"
cluster_addr = "http://127.0.0.1:{cluster_port}"
storage "raft" {{
  path = "{raft}"
  node_id = "{node_id}"
  performance_multiplier = 1
  retry_join {{
    leader_api_addr = "{leader}"
  }}
}}
listener "tcp" {{
  address = "127.0.0.1:{port}"
  cluster_address = "127.0.0.1:{cluster_port}"
  tls_disable = true
}}
seal "static" {{
  current_key_id = "embedded-1"
  current_key = "file://{seal_key}"
}}
"""


AUTOPILOT = """\
  autopilot_reconcile_interval = "1s"
  autopilot_update_interval = "500ms"
"""


class FirstNode(EmbeddedOpenBao):
    """The embedded server, with autopilot reconciling every second (a test cluster)."""

    def prepare(self) -> None:
        super().prepare()
        config = self.root / "config.hcl"
        text = config.read_text()
        anchor = "performance_multiplier = 1\n"
        assert anchor in text, "the embedded raft stanza changed: update tests/cluster.py"
        config.write_text(text.replace(anchor, anchor + AUTOPILOT, 1))


class Cluster:
    """Start, inspect and stop the three nodes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.first = FirstNode(root / "node1", free_port_pair())
        self.nodes: dict[str, str] = {}
        self.processes: dict[str, subprocess.Popen[bytes] | None] = {}

    def start(self) -> None:
        try:
            self.first.prepare()  # the seal key the followers share
            self._start_followers()
            self.first.start()
            self.nodes["node1"] = self.first.addr
            self.processes["node1"] = self.first._process
            self.first.admin_client().write(
                "sys/storage/raft/autopilot/configuration", {"server_stabilization_time": "1s"}
            )
            self.wait_for_voters(3)
        except BaseException:
            self.stop()
            raise

    def _start_followers(self) -> None:
        for name in ("node2", "node3"):
            port = free_port_pair()
            folder = self.root / name
            (folder / "raft").mkdir(parents=True)
            config = folder / "config.hcl"
            config.write_text(
                FOLLOWER.format(
                    port=port,
                    cluster_port=port + 1,
                    raft=folder / "raft",
                    node_id=name,
                    leader=self.first.addr,
                    seal_key=self.first.root / "seal.key",
                )
            )
            with open(folder / "server.log", "wb") as log:  # the child keeps its own descriptor
                self.processes[name] = subprocess.Popen(
                    [bao_binary(), "server", f"-config={config}"],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            self.nodes[name] = f"http://127.0.0.1:{port}"

    def admin(self, node: str) -> VaultClient:
        """The embedded administrator, talking to one node."""
        client = self.first.admin_client()
        client._hvac.adapter.base_uri = self.nodes[node]
        client.addr = self.nodes[node]
        return client

    def wait_for_voters(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                config = self.admin("node1").read("sys/storage/raft/configuration")
                servers = config["data"]["config"]["servers"]
                if sum(1 for s in servers if s["voter"]) >= count and all(
                    VaultClient(addr, timeout=1).health().get("sealed") is False
                    for addr in self.nodes.values()
                ):
                    return
            except (ServiceUnavailable, VaultError, KeyError, TypeError):
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"the cluster did not reach {count} voters; see {self.root}/*/server.log"
        )

    def leader(self, via: str) -> str:
        """Name of the active node, as seen from ``via``."""
        address = Sys(VaultClient(self.nodes[via], timeout=1)).leader().get("leader_address", "")
        for name, addr in self.nodes.items():
            if addr == address:
                return name
        return ""

    def kill(self, name: str) -> None:
        """Stop one node the hard way (no leadership hand-over)."""
        process = self.processes.get(name)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        self.processes[name] = None

    def stop(self) -> None:
        running = [p for p in self.processes.values() if p is not None and p.poll() is None]
        for process in running:  # all at once: each takes a moment to leave the cluster
            process.terminate()
        for process in running:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
