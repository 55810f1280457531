"""PAT records in the KV mount: one record per token, the per-user index, and the token-id index.

- ``users/<user>/personal-access-tokens/<id>``: the token's metadata as created (never the
  token), created with check-and-set 0, deleted when the token leaves the index;
- ``users/<user>/pat-index``: a document (``vault.documents``) with every record of the user,
  its state and its last use: listing is one read, creating one read and one write;
- ``pat-owners/<id>``: ``{user}``, so an operator revokes by id without walking every user.

The revocation denylist is in ``vault.revocations``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar, cast

from vault_bridge.vault.documents import Document, Documents
from vault_bridge.vault.kv import KV
from vault_bridge.vault.names import (
    PAT_INDEX_MARKER,
    pat_folder,
    pat_index_path,
    pat_owner_path,
    pat_path,
)

T = TypeVar("T")


class PatRecord(TypedDict):
    """A PAT's metadata: never the token value."""

    id: str
    name: str
    scopes: list[str]
    created_at: str
    expires_at: str
    last_used_at: str | None
    description: str | None
    organizations: list[str] | None  # None: every organization of the user
    personal: bool
    last_used_addresses: list[str]
    revoked_at: str | None  # in the future while a rotated token's grace period runs
    revoked_by: str | None
    rotated_to: str | None


@dataclass(frozen=True)
class StoredPat:
    """A PAT record and its KV version."""

    data: PatRecord
    version: int


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


FIELDS = frozenset(PatRecord.__annotations__)


def as_record(data: dict[str, Any]) -> PatRecord:
    """A record from stored data (older records lack the newer fields)."""
    if data.keys() == FIELDS:
        return cast(PatRecord, data)  # written by this version: complete
    organizations = data.get("organizations")
    return {
        "id": str(data["id"]),
        "name": str(data["name"]),
        "scopes": [str(scope) for scope in data["scopes"]],
        "created_at": str(data["created_at"]),
        "expires_at": str(data["expires_at"]),
        "last_used_at": _text(data.get("last_used_at")),
        "description": _text(data.get("description")),
        "organizations": None if organizations is None else [str(o) for o in organizations],
        "personal": bool(data.get("personal", True)),
        "last_used_addresses": [str(a) for a in data.get("last_used_addresses") or []],
        "revoked_at": _text(data.get("revoked_at")),
        "revoked_by": _text(data.get("revoked_by")),
        "rotated_to": _text(data.get("rotated_to")),
    }


class PatRecords:
    """The records, the per-user index and the token-id index."""

    def __init__(self, kv: KV) -> None:
        self.kv = kv
        self.documents = Documents(kv)

    # -- one record per token --------------------------------------------------------------

    def create(self, user: str, record: PatRecord) -> None:
        """Store a new record (check-and-set 0: never overwrite)."""
        self.kv.write(pat_path(user, record["id"]), dict(record), cas=0)

    def read(self, user: str, token_id: str) -> StoredPat | None:
        """Read one record; None when absent."""
        secret = self.kv.read(pat_path(user, token_id))
        return None if secret is None else StoredPat(as_record(secret.data), secret.version)

    def ids(self, user: str) -> list[str]:
        """Ids of a user's records (one list call)."""
        return [key for key in self.kv.list(pat_folder(user)) if not key.endswith("/")]

    def legacy(self, user: str) -> list[PatRecord]:
        """Every record of a user, one read each: only to build a missing index."""
        records = []
        for token_id in self.ids(user):
            stored = self.read(user, token_id)
            if stored is not None:
                records.append(stored.data)
        return records

    def destroy(self, user: str, token_id: str) -> None:
        """Delete a record with all its versions."""
        self.kv.destroy(pat_path(user, token_id))

    # -- the per-user index ----------------------------------------------------------------

    def read_index(self, user: str) -> Document | None:
        """The user's index document (``{"tokens": [...]}``); None before it exists."""
        return self.documents.read(pat_index_path(user))

    def update_index(
        self,
        user: str,
        change: Callable[[Document | None], tuple[Any, T]],
        shrink: Callable[[Any], Any] | None = None,
    ) -> T:
        """Change the user's index with check-and-set (``Documents.update``)."""
        return self.documents.update(pat_index_path(user), change, shrink=shrink)

    # -- the token-id index ----------------------------------------------------------------

    def owner(self, token_id: str) -> str | None:
        """The user a token id belongs to; None when not indexed."""
        secret = self.kv.read(pat_owner_path(token_id))
        user = None if secret is None else secret.data.get("user")
        return user if isinstance(user, str) else None

    def set_owner(self, token_id: str, user: str) -> None:
        """Record which user a token id belongs to."""
        self.kv.write(pat_owner_path(token_id), {"user": user})

    def drop_owner(self, token_id: str) -> None:
        """Forget a token id (once its records are gone)."""
        self.kv.destroy(pat_owner_path(token_id))

    def all_indexed(self) -> bool:
        """True once every user's records were indexed (written after the first full walk)."""
        return self.kv.read(PAT_INDEX_MARKER) is not None

    def mark_all_indexed(self) -> None:
        """Record that every user's records are indexed."""
        self.kv.write(PAT_INDEX_MARKER, {"format": 1})
