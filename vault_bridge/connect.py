"""Which Vault to talk to, and as whom: the service, the bundled runner, a job runner."""

from __future__ import annotations

import contextlib

from vault_bridge.config import Settings
from vault_bridge.embedded import EmbeddedOpenBao
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.names import RUNNER_ROLE
from vault_bridge.vault.sys import Sys


def vault_address(settings: Settings) -> str:
    """VAULT_ADDR, or the embedded OpenBao's address."""
    return settings.vault_addr or f"http://127.0.0.1:{settings.embedded_port}"


def vault_client(settings: Settings) -> VaultClient:
    """The service's client: VAULT_TOKEN, AppRole, or the embedded administrator."""
    if settings.embedded and not (settings.role_id or settings.vault_token):
        return EmbeddedOpenBao(settings.data_dir, settings.embedded_port).admin_client(
            timeout=settings.vault_timeout
        )
    return VaultClient(
        vault_address(settings),
        token=settings.vault_token,
        role_id=settings.role_id,
        secret_id=settings.secret_id,
        approle_mount=settings.approle_mount,
        timeout=settings.vault_timeout,
    )


def bundled_runner_client(settings: Settings, addr: str) -> VaultClient | None:
    """The bundled job runner's own identity (runner AppRole), if configured."""
    return _approle(settings, addr, settings.runner_role_id, settings.runner_secret_id)


def reconciler_client(settings: Settings, addr: str) -> VaultClient | None:
    """The organization policy reconciler's own identity (reconciler AppRole), if configured."""
    return _approle(settings, addr, settings.reconciler_role_id, settings.reconciler_secret_id)


def _approle(settings: Settings, addr: str, role_id: str, secret_id: str) -> VaultClient | None:
    if not role_id:
        return None
    return VaultClient(
        addr,
        role_id=role_id,
        secret_id=secret_id,
        approle_mount=settings.approle_mount,
        timeout=settings.vault_timeout,
    )


def job_runner_client(settings: Settings) -> VaultClient | None:
    """A job runner's identity for ``runner redeem``: runner AppRole, VAULT_TOKEN, or (embedded)
    a fresh runner secret_id made with the local administrator."""
    addr = vault_address(settings)
    if settings.runner_role_id:
        return bundled_runner_client(settings, addr)
    if settings.vault_token:
        return VaultClient(addr, token=settings.vault_token)
    if settings.embedded:
        admin = EmbeddedOpenBao(settings.data_dir, settings.embedded_port).admin_client()
        with contextlib.closing(admin):
            sys_ = Sys(admin)
            return VaultClient(
                addr,
                role_id=sys_.approle_role_id(settings.approle_mount, RUNNER_ROLE),
                secret_id=sys_.approle_secret_id(settings.approle_mount, RUNNER_ROLE, ttl="10m"),
                approle_mount=settings.approle_mount,
            )
    return None
