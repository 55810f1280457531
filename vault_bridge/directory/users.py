"""User accounts: a userpass login plus an identity entity carrying the profile."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from vault_bridge.config import Settings
from vault_bridge.errors import BadRequest, Conflict, NotFound, ServiceUnavailable, Unauthenticated
from vault_bridge.ids import check_account_id, has_control_characters, is_account_id
from vault_bridge.timeutil import iso, now_utc
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.identity import Identity
from vault_bridge.vault.kv import KV
from vault_bridge.vault.names import USER_POLICY, user_folder
from vault_bridge.vault.userpass import Userpass

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
PASSWORD_MIN = 8
PASSWORD_MAX = 256
CACHE_LIMIT = 50_000  # accounts remembered per replica; the least recently asked go first


ROLE_RANK = {"viewer": 1, "maintainer": 2, "owner": 3}


@dataclass(frozen=True)
class User:
    """A user account's profile (never its password) and its organization roles."""

    id: str
    display_name: str
    email: str
    created_at: str | None = None
    entity_id: str = ""
    memberships: dict[str, str] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The public fields."""
        return {"id": self.id, "display_name": self.display_name, "email": self.email}


def check_password(password: object) -> str:
    """A password of 8-256 characters."""
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise BadRequest(
            f"password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters", code="invalid_password"
        )
    return password


def check_profile(display_name: object, email: object) -> tuple[str, str]:
    """A display name (at most 100 characters) and an empty or plausible e-mail."""
    if (
        not isinstance(display_name, str)
        or len(display_name) > 100
        or has_control_characters(display_name)
    ):
        raise BadRequest(
            "display_name must be text of at most 100 characters", code="invalid_profile"
        )
    if not isinstance(email, str) or (email and not EMAIL.fullmatch(email)):
        raise BadRequest("email is not a valid e-mail address", code="invalid_profile")
    return display_name, email


class Directory:
    """Accounts in Vault, with a short-lived cache of who exists (bounded staleness)."""

    def __init__(self, client: VaultClient, settings: Settings) -> None:
        self.settings = settings
        self.userpass = Userpass(client, settings.userpass_mount)
        self.identity = Identity(client)
        self.kv = KV(client, settings.kv_mount)
        self._cache: OrderedDict[str, tuple[float, User | None]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_limit = CACHE_LIMIT
        self._groups: dict[str, tuple[str, str] | None] = {}  # group id -> (org, role)
        self._names: dict[str, str] = {}  # entity id -> user id

    def create_user(
        self, user_id: str, password: str, display_name: str = "", email: str = ""
    ) -> User:
        """Create an account; 409 when it exists."""
        check_account_id(user_id)
        if self.userpass.read_user(user_id) is not None:  # said first: no password can help
            raise Conflict(f"user {user_id} already exists", code="user_exists")
        check_password(password)
        display_name, email = check_profile(display_name or user_id, email)
        created = iso(now_utc()) or ""
        metadata = {
            "display_name": display_name,
            "email": email,
            "created_at": created,
            "vault_bridge": "user",
        }
        entity = self.identity.write_entity(user_id, metadata)
        self.identity.ensure_alias(entity, user_id, self.userpass.mount_accessor())
        self.userpass.write_user(user_id, password=password, policy=USER_POLICY)
        self._drop(user_id)
        return User(user_id, display_name, email, created)

    def set_password(self, user_id: str, password: str) -> None:
        """Replace an account's password."""
        check_account_id(user_id)
        if self.userpass.read_user(user_id) is None:
            raise NotFound(f"no user {user_id}", code="user_not_found")
        check_password(password)
        self.userpass.write_user(user_id, password=password, policy=USER_POLICY)

    def get_user(self, user_id: str) -> User | None:
        """Read an account from Vault (no cache); None when it does not exist or is disabled."""
        check_account_id(user_id)
        entity = self.identity.read_entity(user_id)
        if entity is None or entity.get("disabled"):
            return None
        if self.userpass.read_user(user_id) is None:
            return None
        meta = entity.get("metadata") or {}
        memberships: dict[str, str] = {}
        for group_id in entity.get("direct_group_ids") or []:
            info = self._group_info(group_id)
            if info is None:
                continue
            org, role = info
            if ROLE_RANK[role] > ROLE_RANK.get(memberships.get(org, ""), 0):
                memberships[org] = role
        self._remember(self._names, entity["id"], user_id)
        return User(
            user_id,
            meta.get("display_name") or user_id,
            meta.get("email") or "",
            meta.get("created_at"),
            entity_id=entity["id"],
            memberships=memberships,
        )

    def _group_info(self, group_id: str) -> tuple[str, str] | None:
        """(org, role) of an organization role group; cached, group ids are never reused."""
        if group_id in self._groups:
            return self._groups[group_id]
        group = self.identity.read_group_by_id(group_id)
        meta = (group or {}).get("metadata") or {}
        org, role = meta.get("vault_bridge_org"), meta.get("role")
        info = None
        if (
            isinstance(org, str)
            and is_account_id(org)
            and isinstance(role, str)
            and role in ROLE_RANK
        ):
            info = (org, role)
        self._remember(self._groups, group_id, info)
        return info

    def user_name(self, entity_id: str) -> str | None:
        """The user id of an entity id (cached); None when the entity is gone."""
        if entity_id in self._names:
            return self._names[entity_id]
        entity = self.identity.read_entity_by_id(entity_id)
        name = (entity or {}).get("name")
        if not isinstance(name, str) or not is_account_id(name):
            return None
        self._remember(self._names, entity_id, name)
        return name

    def forget(self, user_id: str) -> None:
        """Drop a user from the cache (after a change made by this replica)."""
        self._drop(user_id)

    def _remember(self, facts: dict[str, Any], key: str, value: Any) -> None:
        """Note a fact that never changes (ids are not reused), within the cache bound."""
        if len(facts) >= self.cache_limit:
            facts.clear()
        facts[key] = value

    def _drop(self, user_id: str) -> None:
        with self._cache_lock:
            self._cache.pop(user_id, None)

    def active_user(self, user_id: str) -> User | None:
        """The account if it exists and is enabled, from a cache at most directory_cache_ttl old.

        While Vault cannot be reached, the last answer stands for as long as the replica trusts
        its copy of the revocations (``denylist_max_staleness``): nobody can delete or disable
        the account in an unreachable Vault, so a short outage does not take PAT requests down,
        and a longer one fails closed with the same bound."""
        now = time.monotonic()
        with self._cache_lock:
            entry = self._cache.get(user_id)
            if entry is not None:
                self._cache.move_to_end(user_id)
        if entry is not None and now - entry[0] < self.settings.directory_cache_ttl:
            return entry[1]
        try:
            user = self.get_user(user_id)
        except ServiceUnavailable:
            if entry is not None and now - entry[0] < self.settings.denylist_max_staleness:
                return entry[1]
            raise
        self._cache_answer(user_id, user, now)
        return user

    def _cache_answer(self, user_id: str, user: User | None, at: float) -> None:
        """Keep what Vault answered at ``at`` for ``active_user`` (within the cache bound)."""
        with self._cache_lock:
            self._cache[user_id] = (at, user)
            self._cache.move_to_end(user_id)
            while len(self._cache) > self.cache_limit:
                self._cache.popitem(last=False)

    def list_users(self) -> list[User]:
        """Every account, sorted by id."""
        users = []
        for name in sorted(self.userpass.list_users()):
            if is_account_id(name):
                user = self.get_user(name)
                if user is not None:
                    users.append(user)
        return users

    def authenticate(self, user_id: object, password: object) -> User:
        """Check a password with Vault; the same error for unknown users and wrong passwords."""
        if not isinstance(user_id, str) or not is_account_id(user_id):
            raise Unauthenticated("invalid username or password", code="invalid_credentials")
        if not isinstance(password, str) or not password:
            raise Unauthenticated("invalid username or password", code="invalid_credentials")
        self.userpass.check_password(user_id, password)
        read_at = time.monotonic()
        user = self.get_user(user_id)
        # the account as Vault has it now: the requests that follow a sign-in need not read it
        # again within directory_cache_ttl
        self._cache_answer(user_id, user, read_at)
        if user is None:
            raise Unauthenticated("invalid username or password", code="invalid_credentials")
        return user

    def delete_user(self, user_id: str, tokens: TokenRevoker, orgs: Memberships) -> None:
        """Delete an account: revoke its PATs, leave its organizations, delete its data, login
        and entity. Refused (409) while it is the last owner of an organization."""
        check_account_id(user_id)
        if self.userpass.read_user(user_id) is None and self.identity.read_entity(user_id) is None:
            raise NotFound(f"no user {user_id}", code="user_not_found")
        user = self.get_user(user_id)
        if user is not None:
            orgs.leave_all(user)
        tokens.revoke_all(user_id)
        tokens.forget_user(user_id)
        self.kv.destroy_tree(user_folder(user_id))
        self.userpass.delete_user(user_id)
        self.identity.delete_entity(user_id)
        self._drop(user_id)


class TokenRevoker(Protocol):
    """What deleting an account needs of the PATs."""

    def revoke_all(self, user: str, actor: str | None = None) -> int:
        """Revoke every token of a user."""
        ...

    def forget_user(self, user: str) -> None:
        """Drop what points at a deleted user's tokens from outside the user's own folder."""
        ...


class Memberships(Protocol):
    """What deleting an account needs of the organizations."""

    def leave_all(self, user: User) -> None:
        """Remove the user from every organization."""
        ...
