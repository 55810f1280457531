"""Organization owners' view of their members' PATs, and blocks.

Each replica's usage flush records, per organization, the PATs used in its context (which
member, which token, its scopes and expiry, the last use there): what the owners list. An owner
may block a PAT from acting in the organization; it keeps working elsewhere. A block is written
to ``pat-blocks/<org>`` and announced in the revocation log (``blocks:<org>``), so every replica
reloads that organization's blocks within the revocation bound, in the log follower's thread;
a replica loading the log from its checkpoint loads every organization's blocks.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from vault_bridge.audit import AuditLog
from vault_bridge.errors import NotFound
from vault_bridge.ids import check_account_id, check_token_id
from vault_bridge.timeutil import iso, now_utc
from vault_bridge.tokens.denylist import Denylist
from vault_bridge.tokens.usage import OrgUse
from vault_bridge.vault.documents import Document
from vault_bridge.vault.org_tokens import OrgTokenStore

USAGE_MAX = 5_000  # tokens an organization's usage document keeps (the least recently used go)
NOTICE = "blocks:"


def _iso(unix: float) -> str:
    return iso(dt.datetime.fromtimestamp(unix, dt.UTC)) or ""


def _tokens(document: Document | None) -> dict[str, dict[str, Any]]:
    return dict((document.value.get("tokens") or {}) if document else {})


class OrgAccess:
    """Record, list and block members' PATs in organizations."""

    def __init__(self, store: OrgTokenStore, denylist: Denylist, audit: AuditLog) -> None:
        self.store = store
        self.denylist = denylist
        self.audit = audit
        self._blocked: dict[str, frozenset[str]] = {}  # org -> blocked token ids (replaced whole)
        self._lock = threading.Lock()
        denylist.listener = self.on_notice

    # -- usage (from the usage flush) ----------------------------------------------------------

    def record(self, org: str, uses: list[OrgUse]) -> None:
        """Note uses of tokens in the organization's context (one update per organization)."""
        now = time.time()

        def change(document: Document | None) -> tuple[Any, None]:
            tokens = _tokens(document)
            for use in uses:
                known = tokens.get(use.token_id) or {}
                tokens[use.token_id] = {
                    "user": use.user,
                    "name": use.name,
                    "scopes": list(use.scopes),
                    "expires_at": use.expires_at,
                    "last_used_at": max(_iso(use.at), known.get("last_used_at") or ""),
                }
            live = {tid: t for tid, t in tokens.items() if int(t.get("expires_at") or 0) > now}
            if len(live) > USAGE_MAX:
                recent = sorted(live, key=lambda tid: live[tid]["last_used_at"], reverse=True)
                live = {tid: live[tid] for tid in recent[:USAGE_MAX]}
            return {"tokens": live}, None

        self.store.update_usage(org, change)

    def list(self, org: str) -> list[dict[str, Any]]:
        """The PATs used in the organization that still work, most recently used first, with
        whether (and by whom, when) they are blocked there; never a token value."""
        check_account_id(org, "organization id")
        usage = _tokens(self.store.read_usage(org))
        blocks = _tokens(self.store.read_blocks(org))
        now = time.time()
        answers = []
        for token_id, entry in usage.items():
            if int(entry.get("expires_at") or 0) <= now or self.denylist.is_revoked(token_id):
                continue
            answers.append(_answer(token_id, entry, blocks.get(token_id)))
        return sorted(answers, key=lambda a: (a["last_used_at"] or "", a["id"]), reverse=True)

    # -- blocks ---------------------------------------------------------------------------------

    def is_blocked(self, token_id: str, org: str) -> bool:
        """True when the organization blocked the token (memory only, no lock)."""
        blocked = self._blocked.get(org)
        return blocked is not None and token_id in blocked

    def block(self, org: str, token_id: str, actor: str) -> dict[str, Any]:
        """Block a token used in the organization; 404 for a token never used there."""
        check_account_id(org, "organization id")
        check_token_id(token_id)
        used = _tokens(self.store.read_usage(org)).get(token_id)
        if used is None or self.denylist.is_revoked(token_id):
            raise NotFound(f"no token {token_id} was used in {org}", code="token_not_found")
        stamp = iso(now_utc())

        def change(document: Document | None) -> tuple[Any, None]:
            tokens = _tokens(document)
            if token_id in tokens:
                return None, None
            tokens[token_id] = {
                "user": used.get("user"),
                "name": used.get("name"),
                "expires_at": used.get("expires_at"),
                "blocked_at": stamp,
                "blocked_by": actor,
            }
            return {"tokens": _unexpired(tokens)}, None

        self.store.update_blocks(org, change)
        self._announce(org)
        self.audit.record(
            "pat.block", actor=actor, target=token_id, owner=org, member=used.get("user")
        )
        block = _tokens(self.store.read_blocks(org)).get(token_id) or {}
        return _answer(token_id, used, block)

    def unblock(self, org: str, token_id: str, actor: str) -> None:
        """Let a blocked token act in the organization again; 404 when it is not blocked."""
        check_account_id(org, "organization id")
        check_token_id(token_id)

        def change(document: Document | None) -> tuple[Any, bool]:
            tokens = _tokens(document)
            if token_id not in tokens:
                return None, False
            del tokens[token_id]
            return {"tokens": _unexpired(tokens)}, True

        if not self.store.update_blocks(org, change):
            raise NotFound(f"token {token_id} is not blocked in {org}", code="token_not_blocked")
        self._announce(org)
        self.audit.record("pat.unblock", actor=actor, target=token_id, owner=org)

    def _announce(self, org: str) -> None:
        """Tell every replica (the log), then apply it here."""
        self.denylist.notify(f"{NOTICE}{org}")
        self._load(org)

    def on_notice(self, notice: str | None) -> None:
        """A notice from the revocation log (in its follower's thread); None: reload all."""
        if notice is None:
            orgs = set(self.store.blocking_orgs())
            for org in orgs:
                self._load(org)
            with self._lock:
                self._blocked = {o: ids for o, ids in self._blocked.items() if o in orgs}
        elif notice.startswith(NOTICE):
            self._load(notice[len(NOTICE) :])

    def _load(self, org: str) -> None:
        ids = frozenset(_unexpired(_tokens(self.store.read_blocks(org))))
        with self._lock:
            blocked = dict(self._blocked)
            if ids:
                blocked[org] = ids
            else:
                blocked.pop(org, None)
            self._blocked = blocked  # replaced whole: readers take no lock


def _answer(token_id: str, entry: dict[str, Any], block: dict[str, Any] | None) -> dict[str, Any]:
    """A token as the owners see it."""
    return {
        "id": token_id,
        "name": entry.get("name"),
        "user": entry.get("user"),
        "scopes": entry.get("scopes") or [],
        "expires_at": _iso(int(entry.get("expires_at") or 0)),
        "last_used_at": entry.get("last_used_at"),
        "blocked": block is not None,
        "blocked_at": None if block is None else block.get("blocked_at"),
        "blocked_by": None if block is None else block.get("blocked_by"),
    }


def _unexpired(tokens: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    now = time.time()
    return {tid: t for tid, t in tokens.items() if int(t.get("expires_at") or 0) > now}
