"""PAT records in the KV mount (the revocation denylist is in ``vault.revocations``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from vault_bridge.vault.kv import KV
from vault_bridge.vault.names import pat_folder, pat_path


class PatRecord(TypedDict):
    """A PAT's record in Vault: metadata only, never the token value."""

    id: str
    name: str
    scopes: list[str]
    created_at: str
    expires_at: str
    last_used_at: str | None


@dataclass(frozen=True)
class StoredPat:
    """A PAT record and its KV version (for check-and-set updates)."""

    data: PatRecord
    version: int


def _record(data: dict[str, Any]) -> PatRecord:
    return {
        "id": str(data["id"]),
        "name": str(data["name"]),
        "scopes": [str(scope) for scope in data["scopes"]],
        "created_at": str(data["created_at"]),
        "expires_at": str(data["expires_at"]),
        "last_used_at": data.get("last_used_at"),
    }


class PatRecords:
    """PAT records under ``users/<user>/personal-access-tokens/<id>``."""

    def __init__(self, kv: KV) -> None:
        self.kv = kv

    def create(self, user: str, record: PatRecord) -> None:
        """Store a new record (check-and-set 0: never overwrite)."""
        self.kv.write(pat_path(user, record["id"]), dict(record), cas=0)

    def read(self, user: str, token_id: str) -> StoredPat | None:
        """Read one record; None when absent."""
        secret = self.kv.read(pat_path(user, token_id))
        return None if secret is None else StoredPat(_record(secret.data), secret.version)

    def update(self, user: str, token_id: str, record: PatRecord, version: int) -> None:
        """Replace a record if it is still at ``version``."""
        self.kv.write(pat_path(user, token_id), dict(record), cas=version)

    def ids(self, user: str) -> list[str]:
        """Ids of a user's records."""
        return [key for key in self.kv.list(pat_folder(user)) if not key.endswith("/")]

    def all(self, user: str) -> list[PatRecord]:
        """Every record of a user (one read each)."""
        records = []
        for token_id in self.ids(user):
            stored = self.read(user, token_id)
            if stored is not None:
                records.append(stored.data)
        return records

    def destroy(self, user: str, token_id: str) -> None:
        """Delete a record with all its versions."""
        self.kv.destroy(pat_path(user, token_id))
