"""What organizations know of their members' PATs: where each was used in the organization's
context (``orgs/<org>/pat-usage``) and which ones its owners blocked (``pat-blocks/<org>``), both
documents (``vault.documents``). Blocks live in a folder of their own so that a replica loads
all of them with one list and one read per organization that blocks anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from vault_bridge.vault.documents import Document, Documents
from vault_bridge.vault.kv import KV
from vault_bridge.vault.names import PAT_BLOCKS_FOLDER, org_pat_usage_path, pat_blocks_path

T = TypeVar("T")
Change = Callable[[Document | None], tuple[Any, T]]


class OrgTokenStore:
    """The usage and block documents of organizations."""

    def __init__(self, kv: KV) -> None:
        self.kv = kv
        self.documents = Documents(kv)

    def read_usage(self, org: str) -> Document | None:
        """PATs used in the organization's context: ``{"tokens": {<id>: {...}}}``."""
        return self.documents.read(org_pat_usage_path(org))

    def update_usage(self, org: str, change: Change[T]) -> T:
        """Change the usage document with check-and-set."""
        return self.documents.update(org_pat_usage_path(org), change)

    def read_blocks(self, org: str) -> Document | None:
        """PATs blocked in the organization: ``{"tokens": {<id>: {...}}}``."""
        return self.documents.read(pat_blocks_path(org))

    def update_blocks(self, org: str, change: Change[T]) -> T:
        """Change the block document with check-and-set."""
        return self.documents.update(pat_blocks_path(org), change)

    def blocking_orgs(self) -> list[str]:
        """Organizations with a block document."""
        return [key for key in self.kv.list(PAT_BLOCKS_FOLDER) if not key.endswith("/")]

    def delete_blocks(self, org: str) -> None:
        """Remove an organization's blocks (with the organization)."""
        self.documents.delete(pat_blocks_path(org))
