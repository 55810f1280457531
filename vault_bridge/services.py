"""The services one app instance uses, built from settings; nothing here runs at import time."""

from __future__ import annotations

import threading

from vault_bridge.audit import AuditLog
from vault_bridge.bootstrap import SESSION_KEY_PATH
from vault_bridge.compat.jobs import Jobs
from vault_bridge.config import Settings
from vault_bridge.directory.orgs import Organizations
from vault_bridge.directory.throttle import LoginThrottle
from vault_bridge.directory.users import Directory, User
from vault_bridge.embedded import EmbeddedOpenBao
from vault_bridge.errors import ServiceUnavailable, Unauthenticated
from vault_bridge.ids import is_account_id
from vault_bridge.metrics import standard_metrics
from vault_bridge.providers.catalog import load_catalog
from vault_bridge.providers.store import ProviderTokens
from vault_bridge.runtime.grants import RuntimeGrants
from vault_bridge.tokens.service import TokenService
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.kv import KV


def vault_client(settings: Settings) -> VaultClient:
    """A client for the configured Vault: VAULT_TOKEN, AppRole, or the embedded administrator."""
    if settings.embedded and not (settings.role_id or settings.vault_token):
        return EmbeddedOpenBao(settings.data_dir, settings.embedded_port).admin_client(
            timeout=settings.vault_timeout
        )
    addr = settings.vault_addr or f"http://127.0.0.1:{settings.embedded_port}"
    return VaultClient(
        addr,
        token=settings.vault_token,
        role_id=settings.role_id,
        secret_id=settings.secret_id,
        approle_mount=settings.approle_mount,
        timeout=settings.vault_timeout,
    )


class Services:
    """Tokens, directory, organizations and provider tokens over one Vault connection."""

    def __init__(
        self, settings: Settings, client: VaultClient | None = None, audit: AuditLog | None = None
    ) -> None:
        self.settings = settings
        self.client = client or vault_client(settings)
        self.audit = audit or AuditLog(settings.audit_path)
        self.metrics = standard_metrics()
        self.client.observer = self._observe_vault
        self.catalog = load_catalog()
        self.tokens = TokenService(self.client, settings, self.audit)
        self.directory = Directory(self.client, settings)
        self.throttle = LoginThrottle()
        self.orgs = Organizations(self.client, settings, self.directory, self.audit)
        self.providers = ProviderTokens(self.client, settings, self.catalog, self.audit)
        self.grants = RuntimeGrants(self.client, settings, self.catalog, self.directory, self.audit)
        runner_vault = None
        if settings.runner_role_id:
            runner_vault = VaultClient(
                self.client.addr,
                role_id=settings.runner_role_id,
                secret_id=settings.runner_secret_id,
                approle_mount=settings.approle_mount,
                timeout=settings.vault_timeout,
            )
        self.jobs = Jobs(self.client, settings, self.grants, self.audit, runner_vault)
        self._register_gauges()
        self._session_key = settings.secret_key
        self._lock = threading.Lock()

    def _observe_vault(self, seconds: float, outcome: str) -> None:
        self.metrics.inc("vault_bridge_vault_requests_total", outcome=outcome)
        self.metrics.observe("vault_bridge_vault_request_duration_seconds", seconds)

    def _register_gauges(self) -> None:
        denylist = self.tokens.denylist
        self.metrics.gauge("vault_bridge_denylist_entries", lambda: float(len(denylist)))
        self.metrics.gauge("vault_bridge_denylist_age_seconds", lambda: denylist.age)

    def session_key(self) -> str:
        """The key that signs session cookies, shared by every replica through Vault."""
        if self._session_key:
            return self._session_key
        with self._lock:
            if not self._session_key:
                secret = KV(self.client, self.settings.kv_mount).read(SESSION_KEY_PATH)
                if secret is None:
                    raise ServiceUnavailable(
                        "Vault is not bootstrapped: run `vault-bridge bootstrap`",
                        code="not_bootstrapped",
                    )
                self._session_key = secret.data["secret_key"]
        return self._session_key

    def sign_in(self, username: object, password: object, address: str | None) -> User:
        """Check a password with Vault, throttled per username and per address, audited."""
        keys = (f"user:{username}" if is_account_id(username) else "user:?", f"ip:{address}")
        self.throttle.check(*keys)
        try:
            user = self.directory.authenticate(username, password)
        except Unauthenticated:
            self.throttle.failed(*keys)
            shown = username if is_account_id(username) else "(invalid)"
            self.audit.record("login", actor=shown, outcome="failure", method="password")
            raise
        self.throttle.succeeded(*keys)
        self.audit.record("login", actor=user.id, method="password")
        return user

    def delete_user(self, user_id: str, actor: str) -> None:
        """Delete an account with everything it owns (refused while it is a last owner)."""
        self.directory.delete_user(user_id, self.tokens, self.orgs)
        self.audit.record("user.delete", actor=actor, target=user_id)

    def close(self) -> None:
        """Stop background work."""
        self.jobs.close()
        self.tokens.close()
