"""Account actions that span the directory: password sign-in (throttled, audited), password
changes (which end sessions) and deletion of an account with everything it owns."""

from __future__ import annotations

from vault_bridge.audit import AuditLog
from vault_bridge.directory.sessions import SessionStore
from vault_bridge.directory.throttle import LoginThrottle
from vault_bridge.directory.users import Directory, Memberships, TokenRevoker, User
from vault_bridge.errors import Forbidden, Unauthenticated
from vault_bridge.ids import is_account_id


class Accounts:
    """Sign in, change passwords and delete accounts."""

    def __init__(
        self,
        directory: Directory,
        tokens: TokenRevoker,
        orgs: Memberships,
        audit: AuditLog,
        sessions: SessionStore,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.directory = directory
        self.tokens = tokens
        self.orgs = orgs
        self.audit = audit
        self.sessions = sessions
        self.throttle = throttle or LoginThrottle()

    def sign_in(self, username: object, password: object, address: str | None) -> User:
        """Check a password with Vault, throttled per account, address and both; audited."""
        valid_name = isinstance(username, str) and is_account_id(username)
        account = str(username) if valid_name else "?"
        where = address or "?"
        self.throttle.check(account, where)
        try:
            user = self.directory.authenticate(username, password)
        except Unauthenticated:
            self.throttle.failed(account, where)
            shown = account if valid_name else "(invalid)"
            self.audit.record("login", actor=shown, outcome="failure", method="password")
            raise
        self.throttle.succeeded(account, where)
        self.audit.record("login", actor=user.id, method="password")
        return user

    def change_password(self, user: User, current: str, new: str, keep_session: str) -> int:
        """The account's own password change: the current password is checked by Vault, with
        failures throttled per account (apart from sign-ins, which a session holder's guesses
        must not block); every other session ends. Returns how many ended."""
        key = f"change:{user.id}"
        self.throttle.check_key(key, self.throttle.limits.pair)
        try:
            self.directory.authenticate(user.id, current)
        except Unauthenticated:
            self.throttle.count(key)
            self.audit.record("user.password", actor=user.id, outcome="failure")
            raise Forbidden(
                "the current password is wrong", code="wrong_password", field="current_password"
            ) from None
        self.throttle.clear(key)
        return self.set_password(user.id, new, actor=user.id, keep_session=keep_session)

    def set_password(
        self, user_id: str, password: str, actor: str, keep_session: str | None = None
    ) -> int:
        """Replace a password and end the account's sessions (all but ``keep_session``, the one
        that asked); returns how many ended."""
        self.directory.set_password(user_id, password)
        ended = self.sessions.end_all(user_id, keep=keep_session)
        self.audit.record("user.password", actor=actor, target=user_id, sessions_ended=ended)
        return ended

    def delete(self, user_id: str, actor: str) -> None:
        """Delete an account with everything it owns (refused while it is a last owner)."""
        self.directory.delete_user(user_id, self.tokens, self.orgs)
        self.audit.record("user.delete", actor=actor, target=user_id)
