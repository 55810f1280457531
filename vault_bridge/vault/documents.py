"""JSON documents kept whole in one KV v2 secret and changed with check-and-set.

A document is stored as ``{"format": 1, "zjson": "<base64 of the zlib-compressed JSON>"}``:
one string, however many entries it holds, because Vault and OpenBao limit how many JSON strings
a request may carry (OpenBao: 1,000); one secret, so that reading all of it is one Vault call;
compressed, because reading and writing it is then several times cheaper (a PAT index of 1,000
tokens is about 60 KB instead of 400 KB). Its stored size is bounded by ``MAX_BYTES``, far below
raft's 1 MiB entry limit. Read one with
``bao kv get -field=zjson -mount=vault-bridge <path> | base64 -d | zlib-flate -uncompress``
(or ``python3 -c 'import sys, zlib; print(zlib.decompress(sys.stdin.buffer.read()).decode())'``).
"""

from __future__ import annotations

import base64
import json
import random
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from vault_bridge.errors import Conflict, ServiceUnavailable
from vault_bridge.vault.client import CasConflict
from vault_bridge.vault.kv import KV

FORMAT = 1
MAX_BYTES = 768 * 1024  # stored (compressed, base64) size
MAX_TEXT = 32 * 2**20  # decompressed size accepted on reading
ATTEMPTS = 12
T = TypeVar("T")


class DocumentTooLarge(Conflict):
    """A document would outgrow what one KV write may carry."""

    code = "too_large"


@dataclass(frozen=True)
class Document:
    """A document's value and the KV version it was read at (0: it does not exist)."""

    value: Any
    version: int


def encode(value: Any) -> dict[str, Any]:
    """The KV data of a document; DocumentTooLarge past ``MAX_BYTES``."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    packed = base64.b64encode(zlib.compress(text, 1)).decode("ascii")
    if len(packed) > MAX_BYTES or len(text) > MAX_TEXT:
        raise DocumentTooLarge("this record has grown too large to store; remove some entries")
    return {"format": FORMAT, "zjson": packed}


def decode(data: dict[str, Any]) -> Any:
    """The value of a document's KV data."""
    packed = data.get("zjson")
    if not isinstance(packed, str):
        raise ServiceUnavailable("a vault-bridge document in Vault is malformed (no zjson field)")
    try:
        inflate = zlib.decompressobj()
        text = inflate.decompress(base64.b64decode(packed, validate=True), MAX_TEXT)
        if inflate.unconsumed_tail:
            raise ValueError("too large")
        return json.loads(text)
    except (ValueError, zlib.error):
        raise ServiceUnavailable("a vault-bridge document in Vault is malformed") from None


class Documents:
    """Read, create and update documents on one KV mount."""

    def __init__(self, kv: KV) -> None:
        self.kv = kv

    def read(self, path: str) -> Document | None:
        """The document at ``path``; None when there is none."""
        secret = self.kv.read(path)
        return None if secret is None else Document(decode(secret.data), secret.version)

    def write(self, path: str, value: Any, *, cas: int) -> int:
        """Write if still at version ``cas`` (0: create only); the new version, or CasConflict."""
        return self.kv.write(path, encode(value), cas=cas)

    def update(
        self,
        path: str,
        change: Callable[[Document | None], tuple[Any, T]],
        *,
        shrink: Callable[[Any], Any] | None = None,
        attempts: int = ATTEMPTS,
    ) -> T:
        """Read, change, write with check-and-set; again on a lost race.

        ``change`` gets the current document (None when absent) and returns the new value and a
        result for the caller; a new value of None writes nothing. ``shrink`` gets a value too
        large to store and returns a smaller one (or None: give up, DocumentTooLarge).
        """
        delay = 0.005
        for _ in range(attempts):
            current = self.read(path)
            value, result = change(current)
            if value is None:
                return result
            try:
                while True:
                    try:
                        data = encode(value)
                        break
                    except DocumentTooLarge:
                        value = shrink(value) if shrink is not None else None
                        if value is None:
                            raise
                self.kv.write(path, data, cas=current.version if current else 0)
                return result
            except CasConflict:
                time.sleep(delay * random.uniform(0.5, 1.5))  # noqa: S311 - spreading writers
                delay = min(delay * 2, 0.2)
        raise Conflict("too many concurrent changes; try again", code="busy")

    def delete(self, path: str) -> None:
        """Delete a document with all its versions."""
        self.kv.destroy(path)
