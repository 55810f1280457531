"""Account actions that span the directory: password sign-in (throttled, audited) and deletion
of an account with everything it owns."""

from __future__ import annotations

from vault_bridge.audit import AuditLog
from vault_bridge.directory.throttle import LoginThrottle
from vault_bridge.directory.users import Directory, Memberships, TokenRevoker, User
from vault_bridge.errors import Unauthenticated
from vault_bridge.ids import is_account_id


class Accounts:
    """Sign in and delete accounts."""

    def __init__(
        self,
        directory: Directory,
        tokens: TokenRevoker,
        orgs: Memberships,
        audit: AuditLog,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.directory = directory
        self.tokens = tokens
        self.orgs = orgs
        self.audit = audit
        self.throttle = throttle or LoginThrottle()

    def sign_in(self, username: object, password: object, address: str | None) -> User:
        """Check a password with Vault, throttled per username and per address, audited."""
        valid_name = isinstance(username, str) and is_account_id(username)
        keys = (f"user:{username}" if valid_name else "user:?", f"ip:{address}")
        self.throttle.check(*keys)
        try:
            user = self.directory.authenticate(username, password)
        except Unauthenticated:
            self.throttle.failed(*keys)
            shown = str(username) if valid_name else "(invalid)"
            self.audit.record("login", actor=shown, outcome="failure", method="password")
            raise
        self.throttle.succeeded(*keys)
        self.audit.record("login", actor=user.id, method="password")
        return user

    def delete(self, user_id: str, actor: str) -> None:
        """Delete an account with everything it owns (refused while it is a last owner)."""
        self.directory.delete_user(user_id, self.tokens, self.orgs)
        self.audit.record("user.delete", actor=actor, target=user_id)
