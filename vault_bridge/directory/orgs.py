"""Organizations: a profile in KV, and one identity group per role holding the members' entities.

``vault-bridge-org-<org>-owner``, ``-maintainer`` and ``-viewer`` are internal groups; owners and
maintainers carry the policy ``vault-bridge-org-<org>-maintain``, viewers ``-view``. The service
creates the groups and manages their members; the policies, and putting them on the groups, are
the reconciler's (``directory.reconciler``), which the service asks with a marker after each
creation and deletion (and runs at once when this process has the reconciler's identity). An
operator can change memberships with the Vault CLI; replicas honour it within the directory cache
TTL.
"""

from __future__ import annotations

import logging
from typing import Any

from vault_bridge.audit import AuditLog
from vault_bridge.config import Settings
from vault_bridge.directory.reconciler import PolicyReconciler
from vault_bridge.directory.users import ROLE_RANK, Directory, User
from vault_bridge.errors import BadRequest, Conflict, Forbidden, NotFound, VaultBridgeError
from vault_bridge.ids import check_account_id, has_control_characters
from vault_bridge.timeutil import iso, now_utc
from vault_bridge.vault.client import CasConflict, VaultClient
from vault_bridge.vault.identity import Identity
from vault_bridge.vault.kv import KV
from vault_bridge.vault.locks import Lease
from vault_bridge.vault.names import (
    ORG_ROLES,
    lease_path,
    org_folder,
    org_group_name,
    org_members_lease,
    org_profile_path,
    pat_blocks_path,
    reconcile_path,
)

ROLES = ORG_ROLES
log = logging.getLogger(__name__)


def with_article(role: str) -> str:
    """A role with its indefinite article: "an owner", "a maintainer", "a viewer"."""
    return f"{'an' if role[:1] in 'aeiou' else 'a'} {role}"


def check_role(role: object) -> str:
    """One of owner, maintainer, viewer."""
    if not isinstance(role, str) or role not in ROLES:
        raise BadRequest("role must be one of: owner, maintainer, viewer", code="invalid_role")
    return role


def check_display_name(value: object, default: str) -> str:
    """An organization's display name: 1-100 characters, no control characters."""
    if value is None or value == "":
        return default
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise BadRequest("display_name must be 1-100 characters", code="invalid_display_name")
    if has_control_characters(value):
        raise BadRequest(
            "display_name must not contain control characters", code="invalid_display_name"
        )
    return value.strip()


class Organizations:
    """Create, inspect and delete organizations; manage their members."""

    def __init__(
        self,
        client: VaultClient,
        settings: Settings,
        directory: Directory,
        audit: AuditLog,
        reconciler: PolicyReconciler | None = None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.audit = audit
        self.kv = KV(client, settings.kv_mount)
        self.identity = Identity(client)
        self.reconciler = reconciler  # the reconciler's identity, when this process has it

    # -- reading -------------------------------------------------------------------------------

    def profile(self, org: str) -> dict[str, Any] | None:
        """The organization's profile; None when it does not exist."""
        check_account_id(org, "organization id")
        secret = self.kv.read(org_profile_path(org))
        return None if secret is None else secret.data

    def for_member(self, user: User, org: str) -> tuple[dict[str, Any], str]:
        """(profile, role) for a member; 404 for everyone else (existence is not revealed)."""
        check_account_id(org, "organization id")
        role = user.memberships.get(org)
        profile = self.profile(org) if role else None
        if role is None or profile is None:
            raise NotFound(f"no organization {org}", code="org_not_found")
        return profile, role

    def require_role(self, user: User, org: str, *roles: str) -> tuple[dict[str, Any], str]:
        """As ``for_member``, and 403 unless the user has one of ``roles``."""
        profile, role = self.for_member(user, org)
        if role not in roles:
            raise Forbidden(
                f"this needs the {' or '.join(roles)} role in {org}; you are {role}",
                code="insufficient_role",
            )
        return profile, role

    def list_for(self, user: User) -> list[dict[str, Any]]:
        """The user's organizations with their role, sorted by id."""
        result = []
        for org, role in sorted(user.memberships.items()):
            profile = self.profile(org)
            if profile is not None:
                result.append({"id": org, "display_name": profile["display_name"], "role": role})
        return result

    def list_all(self) -> list[dict[str, Any]]:
        """Every organization (operators)."""
        result = []
        for key in self.kv.list("orgs"):
            org = key.rstrip("/")
            profile = self.profile(org)
            if profile is not None:
                result.append(profile)
        return result

    def members(self, org: str) -> list[dict[str, str]]:
        """``[{user, role}]`` read from the role groups, owners first."""
        groups = self._groups(org)
        seen: dict[str, str] = {}
        for role in ROLES:
            for entity_id in groups[role].get("member_entity_ids") or []:
                name = self.directory.user_name(entity_id)
                if name and ROLE_RANK[role] > ROLE_RANK.get(seen.get(name, ""), 0):
                    seen[name] = role
        return [
            {"user": name, "role": role}
            for name, role in sorted(seen.items(), key=lambda item: (-ROLE_RANK[item[1]], item[0]))
        ]

    def _groups(self, org: str) -> dict[str, dict[str, Any]]:
        groups = {}
        for role in ROLES:
            group = self.identity.read_group(org_group_name(org, role))
            if group is None:
                raise NotFound(f"no organization {org}", code="org_not_found")
            groups[role] = group
        return groups

    # -- changing ------------------------------------------------------------------------------

    def create(self, org: object, display_name: object, owner: User, actor: str) -> dict[str, Any]:
        """Create an organization with ``owner`` as its first owner; 409 when the id is taken."""
        org = check_account_id(org, "organization id")
        name = check_display_name(display_name, org)
        profile = {
            "id": org,
            "display_name": name,
            "created_at": iso(now_utc()),
            "created_by": actor,
        }
        try:
            self.kv.write(org_profile_path(org), profile, cas=0)
        except CasConflict:
            raise Conflict(f"organization {org} already exists", code="org_exists") from None
        try:
            for role in ROLES:
                members = [owner.entity_id] if role == "owner" else []
                self._write_group(org, role, members)
        except Exception:
            self._remove_everything(org)
            raise
        self._ask_for_policies(org)
        self.directory.forget(owner.id)
        self.audit.record("org.create", actor=actor, target=org, owner=org, member=owner.id)
        return profile

    def _write_group(self, org: str, role: str, members: list[str]) -> None:
        self.identity.write_group(
            org_group_name(org, role),
            metadata={"vault_bridge_org": org, "role": role},
            member_entity_ids=members,
        )

    def _ask_for_policies(self, org: str) -> None:
        """Leave a marker for the reconciler, and run it now when this process may."""
        self.kv.write(reconcile_path(org), {"requested_at": iso(now_utc())})
        if self.reconciler is None:
            return
        try:
            self.reconciler.handle(org)
        except VaultBridgeError as exc:  # the marker stays: the reconciler's loop retries
            log.warning("organization policies of %s not reconciled yet: %s", org, exc.message)

    def set_member(self, org: str, user_id: object, role: object, actor: str) -> dict[str, str]:
        """Add a member or change their role; the last owner cannot be demoted (409)."""
        check_account_id(org, "organization id")
        user_id = check_account_id(user_id)
        role = check_role(role)
        target = self.directory.get_user(user_id)
        if target is None:
            raise NotFound(f"no user {user_id}", code="user_not_found")
        with Lease(self.kv, org_members_lease(org)).hold():
            groups = self._groups(org)
            current = self._role_in(groups, target.entity_id)
            if current == role:
                return {"user": user_id, "role": role}
            if current == "owner" and self._owner_count(groups) == 1:
                raise Conflict(f"{user_id} is the last owner of {org}", code="last_owner")
            for each in ROLES:
                members = list(groups[each].get("member_entity_ids") or [])
                if each == role and target.entity_id not in members:
                    self._write_group(org, each, [*members, target.entity_id])
                elif each != role and target.entity_id in members:
                    self._write_group(org, each, [m for m in members if m != target.entity_id])
        self.directory.forget(user_id)
        event = "org.member.add" if current is None else "org.member.role"
        self.audit.record(
            event, actor=actor, target=user_id, owner=org, role=role, previous=current
        )
        return {"user": user_id, "role": role}

    def remove_member(self, org: str, user_id: object, actor: str) -> None:
        """Remove a member; the last owner cannot leave (409)."""
        check_account_id(org, "organization id")
        user_id = check_account_id(user_id)
        target = self.directory.get_user(user_id)
        with Lease(self.kv, org_members_lease(org)).hold():
            groups = self._groups(org)
            current = self._role_in(groups, target.entity_id) if target else None
            if target is None or current is None:
                raise NotFound(f"{user_id} is not a member of {org}", code="member_not_found")
            if current == "owner" and self._owner_count(groups) == 1:
                raise Conflict(f"{user_id} is the last owner of {org}", code="last_owner")
            for each in ROLES:
                members = list(groups[each].get("member_entity_ids") or [])
                if target.entity_id in members:
                    self._write_group(org, each, [m for m in members if m != target.entity_id])
        self.directory.forget(user_id)
        self.audit.record(
            "org.member.remove", actor=actor, target=user_id, owner=org, previous=current
        )

    def leave_all(self, user: User) -> None:
        """Remove a user from every organization (before deleting the user); 409 if they are the
        last owner of one."""
        sole = [
            org
            for org, role in user.memberships.items()
            if role == "owner" and self._owner_count(self._groups(org)) == 1
        ]
        if sole:
            raise Conflict(
                f"{user.id} is the last owner of {', '.join(sorted(sole))}: add another owner "
                "or delete the organization first",
                code="last_owner",
            )
        for org in user.memberships:
            self.remove_member(org, user.id, actor="system")

    def delete(self, org: str, actor: str) -> None:
        """Delete an organization: its provider tokens, profile, groups and policies."""
        check_account_id(org, "organization id")
        if self.profile(org) is None:
            raise NotFound(f"no organization {org}", code="org_not_found")
        with Lease(self.kv, org_members_lease(org)).hold():
            members = [m["user"] for m in self.members(org)]
            self._remove_everything(org)
        self.kv.destroy(lease_path(org_members_lease(org)))
        for user_id in members:
            self.directory.forget(user_id)
        self.audit.record("org.delete", actor=actor, target=org, owner=org)

    def _remove_everything(self, org: str) -> None:
        self.kv.destroy_tree(org_folder(org))
        self.kv.destroy(pat_blocks_path(org))
        for role in ROLES:
            self.identity.delete_group(org_group_name(org, role))
        self._ask_for_policies(org)  # the profile is gone: the reconciler deletes the policies

    @staticmethod
    def _role_in(groups: dict[str, dict[str, Any]], entity_id: str) -> str | None:
        for role in ROLES:
            if entity_id in (groups[role].get("member_entity_ids") or []):
                return role
        return None

    @staticmethod
    def _owner_count(groups: dict[str, dict[str, Any]]) -> int:
        return len(groups["owner"].get("member_entity_ids") or [])
