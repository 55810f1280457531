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
from vault_bridge.directory.sessions import SessionStore
from vault_bridge.directory.users import Directory
from vault_bridge.metrics import standard_metrics
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.kv import KV

if TYPE_CHECKING:
    from vault_bridge.auth import Authenticator, RunnerTokens
    from vault_bridge.auth.session import SessionKey
    from vault_bridge.directory.accounts import Accounts
    from vault_bridge.directory.orgs import Organizations
    from vault_bridge.directory.reconciler import PolicyReconciler, ReconcileLoop
    from vault_bridge.providers.catalog import Catalog
    from vault_bridge.providers.store import ProviderTokens
    from vault_bridge.runtime.grants import RuntimeGrants
    from vault_bridge.runtime.jobs import Jobs
    from vault_bridge.tokens.service import TokenService

EXTENSION = "vault_bridge"
PARTS = ("catalog", "tokens", "reconcile_loop", "orgs", "accounts", "providers", "grants", "jobs")


class Services:
    """Tokens, directory, organizations, provider tokens, grants and jobs over one Vault
    connection (plus the bundled runner's and the policy reconciler's own, when configured).

    Each part is built (and its modules imported) when first asked for, so that a command
    pays only for what it uses; ``start`` builds every part before the service answers
    requests, so that no request thread ever builds one.
    """

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
        self.directory = Directory(client, settings)
        self.sessions = SessionStore(
            KV(client, settings.kv_mount), settings.session_lifetime, settings.directory_cache_ttl
        )
        self._runner_vault = runner_vault
        self._reconciler_vault = reconciler_vault

    @functools.cached_property
    def catalog(self) -> Catalog:
        """The provider catalog."""
        from vault_bridge.providers.catalog import load_catalog

        return load_catalog()

    @functools.cached_property
    def tokens(self) -> TokenService:
        """Personal access tokens (with the denylist's gauges)."""
        from vault_bridge.tokens.service import TokenService

        tokens = TokenService(self.client, self.settings, self.audit, address=self._address)
        denylist = tokens.denylist
        self.metrics.gauge("vault_bridge_denylist_entries", lambda: float(len(denylist)))
        self.metrics.gauge("vault_bridge_denylist_age_seconds", lambda: denylist.age)
        return tokens

    @functools.cached_property
    def reconciler(self) -> PolicyReconciler | None:
        """The organization policy reconciler, when this process has its Vault identity."""
        if self._reconciler_vault is None:
            return None
        from vault_bridge.directory.reconciler import PolicyReconciler

        return PolicyReconciler(self._reconciler_vault, self.settings)

    @functools.cached_property
    def reconcile_loop(self) -> ReconcileLoop | None:
        """The reconciler's background loop, when there is a reconciler."""
        if self.reconciler is None:
            return None
        from vault_bridge.directory.reconciler import ReconcileLoop

        return ReconcileLoop(
            self.reconciler,
            interval=self.settings.reconcile_interval,
            full_interval=self.settings.reconcile_full_interval,
        )

    @functools.cached_property
    def orgs(self) -> Organizations:
        """Organizations, their members and roles."""
        from vault_bridge.directory.orgs import Organizations

        return Organizations(
            self.client, self.settings, self.directory, self.audit, reconciler=self.reconciler
        )

    @functools.cached_property
    def accounts(self) -> Accounts:
        """Account life cycle: sign-in, passwords, deletion."""
        from vault_bridge.directory.accounts import Accounts
        from vault_bridge.directory.throttle import Limits, LoginThrottle

        limits = Limits(
            pair=self.settings.login_pair_limit,
            address=self.settings.login_address_limit,
            account=self.settings.login_account_limit,
            window=self.settings.login_window,
        )
        return Accounts(
            self.directory, self.tokens, self.orgs, self.audit, self.sessions, LoginThrottle(limits)
        )

    @functools.cached_property
    def providers(self) -> ProviderTokens:
        """Provider access tokens of users, organizations and the platform."""
        from vault_bridge.providers.store import ProviderTokens

        return ProviderTokens(self.client, self.settings, self.catalog, self.audit)

    @functools.cached_property
    def grants(self) -> RuntimeGrants:
        """Run-time grants."""
        from vault_bridge.runtime.grants import RuntimeGrants

        return RuntimeGrants(self.client, self.settings, self.catalog, self.directory, self.audit)

    @functools.cached_property
    def jobs(self) -> Jobs:
        """Jobs of the reference /quantum surface (with the bundled runner, when configured)."""
        from vault_bridge.runtime.jobs import Jobs

        runner = None
        if self._runner_vault is not None:
            from vault_bridge.runtime.runner import BundledRunner

            runner = BundledRunner(
                self.grants,
                self._runner_vault,
                lambda token: self.runners.check(token),  # the checker is built on first use
                threads=self.settings.runner_threads,
                provider_urls=self.settings.provider_url_map(),
            )
        return Jobs(self.client, self.settings.kv_mount, self.grants, runner)

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
        """Build every part, then start background work: keep keys and revocations fresh (and
        gauges, under gunicorn); reconcile organization policies when this process has the
        reconciler's identity."""
        for part in PARTS:
            getattr(self, part)
        self.tokens.start()
        self.metrics.start()
        if self.reconcile_loop is not None:
            self.reconcile_loop.start()

    def close(self) -> None:
        """Stop background work (of the parts that were built)."""
        built = vars(self)
        loop = built.get("reconcile_loop")
        if loop is not None:
            loop.stop()
        if "jobs" in built:
            self.jobs.close()
        if "tokens" in built:
            self.tokens.close()
        self.metrics.close()
        if self._own_audit:
            self.audit.close()


def current_services() -> Services:
    """The services of the current app."""
    from flask import current_app

    services: Services = current_app.extensions[EXTENSION]
    return services
