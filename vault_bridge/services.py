"""The composition root: the services one app instance uses, wired from settings. Nothing here
does domain work, and nothing runs at import time.

The parts only HTTP requests use (the authenticator, the session key, the runner token check)
are built when first asked for: a ``vault-bridge`` command builds services without importing
Flask."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from vault_bridge.audit import AuditLog
from vault_bridge.config import Settings
from vault_bridge.directory.accounts import Accounts
from vault_bridge.directory.orgs import Organizations
from vault_bridge.directory.reconciler import PolicyReconciler, ReconcileLoop
from vault_bridge.directory.sessions import SessionStore
from vault_bridge.directory.throttle import Limits, LoginThrottle
from vault_bridge.directory.users import Directory
from vault_bridge.metrics import standard_metrics
from vault_bridge.providers.catalog import load_catalog
from vault_bridge.providers.store import ProviderTokens
from vault_bridge.runtime.grants import RuntimeGrants
from vault_bridge.runtime.jobs import Jobs
from vault_bridge.runtime.runner import BundledRunner
from vault_bridge.tokens.service import TokenService
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.kv import KV

if TYPE_CHECKING:
    from vault_bridge.auth import Authenticator, RunnerTokens
    from vault_bridge.auth.session import SessionKey

EXTENSION = "vault_bridge"


class Services:
    """Tokens, directory, organizations, provider tokens, grants and jobs over one Vault
    connection (plus the bundled runner's and the policy reconciler's own, when configured)."""

    def __init__(
        self,
        settings: Settings,
        client: VaultClient,
        audit: AuditLog | None = None,
        runner_vault: VaultClient | None = None,
        reconciler_vault: VaultClient | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self._own_audit = audit is None
        self.audit = audit or AuditLog(settings.audit_path)
        self.metrics = standard_metrics()
        client.observer = self.metrics.vault_observer()
        self.catalog = load_catalog()
        self.directory = Directory(client, settings)
        self.tokens = TokenService(client, settings, self.audit, address=self._address)
        self.reconciler = None
        self.reconcile_loop = None
        if reconciler_vault is not None:
            self.reconciler = PolicyReconciler(reconciler_vault, settings)
            self.reconcile_loop = ReconcileLoop(
                self.reconciler,
                interval=settings.reconcile_interval,
                full_interval=settings.reconcile_full_interval,
            )
        self.orgs = Organizations(
            client, settings, self.directory, self.audit, reconciler=self.reconciler
        )
        self.sessions = SessionStore(
            KV(client, settings.kv_mount), settings.session_lifetime, settings.directory_cache_ttl
        )
        limits = Limits(
            pair=settings.login_pair_limit,
            address=settings.login_address_limit,
            account=settings.login_account_limit,
            window=settings.login_window,
        )
        self.accounts = Accounts(
            self.directory, self.tokens, self.orgs, self.audit, self.sessions, LoginThrottle(limits)
        )
        self.providers = ProviderTokens(client, settings, self.catalog, self.audit)
        self.grants = RuntimeGrants(client, settings, self.catalog, self.directory, self.audit)
        runner = None
        if runner_vault is not None:
            runner = BundledRunner(
                self.grants,
                runner_vault,
                lambda token: self.runners.check(token),  # the checker is built on first use
                threads=settings.runner_threads,
                provider_urls=settings.provider_url_map(),
            )
        self.jobs = Jobs(client, settings.kv_mount, self.grants, runner)
        denylist = self.tokens.denylist
        self.metrics.gauge("vault_bridge_denylist_entries", lambda: float(len(denylist)))
        self.metrics.gauge("vault_bridge_denylist_age_seconds", lambda: denylist.age)

    @functools.cached_property
    def authenticator(self) -> Authenticator:
        """Who is calling: PATs, sessions, CSRF (built by the app, never by a command)."""
        from vault_bridge.auth import Authenticator

        return Authenticator(
            self.tokens,
            self.directory,
            self.sessions,
            self.audit,
            self.metrics,
            self.settings.session_lifetime,
        )

    @functools.cached_property
    def session_key(self) -> SessionKey:
        """The key that signs session cookies, kept in Vault."""
        from vault_bridge.auth.session import SessionKey

        return SessionKey(KV(self.client, self.settings.kv_mount), self.settings.secret_key)

    @functools.cached_property
    def runners(self) -> RunnerTokens:
        """Checks job runners' Vault tokens."""
        from vault_bridge.auth.runner import RunnerTokens

        return RunnerTokens(self.client)

    def _address(self, user_id: str) -> tuple[str, str] | None:
        """A user's display name and e-mail, for notices."""
        user = self.directory.get_user(user_id)
        return None if user is None else (user.display_name, user.email)

    def start(self) -> None:
        """Start background work: keep keys and revocations fresh (and gauges, under gunicorn);
        reconcile organization policies when this process has the reconciler's identity."""
        self.tokens.start()
        self.metrics.start()
        if self.reconcile_loop is not None:
            self.reconcile_loop.start()

    def close(self) -> None:
        """Stop background work."""
        if self.reconcile_loop is not None:
            self.reconcile_loop.stop()
        self.jobs.close()
        self.tokens.close()
        self.metrics.close()
        if self._own_audit:
            self.audit.close()


def current_services() -> Services:
    """The services of the current app."""
    from flask import current_app

    services: Services = current_app.extensions[EXTENSION]
    return services
