"""Provider access tokens in Vault KV v2: values in the data, everything else in custom metadata.

Write-only: nothing here returns a secret field's value except ``read_credential``, which only the
run-time delivery path may call.

No lease: a write is a check-and-set of the data (a lost race is retried on top of the winner:
the last writer wins, no write is lost), then a merge patch of the custom metadata describing
that version (``data_version``), with ``updated_by_v<N>`` naming the writer of version N. Only
the description of the current version may stand: a writer that finds it overwritten by an older
one rebuilds it from the data and ``updated_by_v<N>``, and a reader that finds it not written yet
(a write in progress, or a writer that died) describes the data itself. A writer that dies
leaves nothing that holds up the next one.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from typing import Any, TypedDict

from vault_bridge.audit import AuditLog
from vault_bridge.config import Settings
from vault_bridge.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from vault_bridge.ids import check_account_id
from vault_bridge.providers.catalog import Catalog, Provider
from vault_bridge.timeutil import iso, now_utc
from vault_bridge.vault.client import CasConflict, VaultClient
from vault_bridge.vault.kv import KV
from vault_bridge.vault.names import OwnerKind, provider_folder, provider_path

__all__ = ["FieldState", "OwnerKind", "ProviderTokens", "TokenMetadata", "hint"]

log = logging.getLogger(__name__)
ATTEMPTS = 5  # rounds of describing the current version before leaving it to readers
READ_PATIENCE = 2.0  # seconds to wait for a lagging standby to show what was written
WRITE_PATIENCE = 5.0  # seconds of data writes lost to concurrent writers before 409 busy
WRITER = "updated_by_v"  # + a version number: who wrote that version
WRITER_KEY = re.compile(r"updated_by_v(\d+)")


class FieldState(TypedDict, total=False):
    """A stored field: a secret shows only a hint of its end, a plain field its value."""

    secret: bool
    set: bool
    hint: str | None
    value: str | None


class TokenMetadata(TypedDict):
    """A stored provider token's metadata (never a secret)."""

    provider: str
    label: str
    configured: bool
    fields: dict[str, FieldState]
    updated_at: str | None
    updated_by: str | None
    version: int


def hint(value: str) -> str:
    """At most the last 4 characters, fewer for short values, nothing for very short ones."""
    if len(value) >= 16:
        return "…" + value[-4:]
    if len(value) >= 8:
        return "…" + value[-2:]
    return ""


class ProviderTokens:
    """Set, replace, describe and delete the provider tokens of a user or an organization."""

    def __init__(
        self, client: VaultClient, settings: Settings, catalog: Catalog, audit: AuditLog
    ) -> None:
        self.kv = KV(client, settings.kv_mount)
        self.catalog = catalog
        self.audit = audit
        self._jitter = random.Random()  # noqa: S311 - spreads retries, guards nothing

    def list(self, kind: OwnerKind, owner: str) -> list[TokenMetadata]:
        """Metadata of every configured provider token of the owner, by provider id."""
        check_account_id(owner)
        result = []
        for key in sorted(self.kv.list(provider_folder(kind, owner))):
            if key.endswith("/") or key not in self.catalog.providers:
                continue
            described = self._describe(kind, owner, self.catalog.providers[key])
            if described is not None:
                result.append(described)
        return result

    def get(self, kind: OwnerKind, owner: str, provider_id: str) -> TokenMetadata:
        """Metadata of one provider token; 404 when not configured."""
        check_account_id(owner)
        provider = self.catalog.get(provider_id)
        described = self._describe(kind, owner, provider)
        if described is None:
            raise NotFound(f"no {provider.label} token is configured", code="token_not_configured")
        return described

    def put(
        self,
        kind: OwnerKind,
        owner: str,
        provider_id: str,
        body: object,
        actor: str,
        *,
        keep_secrets: bool = False,
    ) -> tuple[TokenMetadata, bool]:
        """Validate against the catalog, then set or replace; returns (metadata, created).

        With ``keep_secrets`` (the settings form), a secret field left out keeps its stored
        value, so a non-secret field can change without the secret being typed again.
        """
        check_account_id(owner)
        provider = self.catalog.get(provider_id)
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object of fields", code="invalid_json")
        path = provider_path(kind, owner, provider.id)
        if keep_secrets:
            version, created, values = self._write_keeping_secrets(path, provider, body)
        else:
            values = provider.validate(body)
            version, created = self._write(path, values)
        self._publish(path, provider, f"{kind}/{owner}", version, values, actor)
        self.audit.record(
            "provider_token.set" if created else "provider_token.replace",
            actor=actor,
            target=provider.id,
            owner=f"{kind}/{owner}",
            version=version,
            fields=sorted(values),
        )
        return self._describe_written(kind, owner, provider, version), created

    def _describe_written(
        self, kind: OwnerKind, owner: str, provider: Provider, version: int
    ) -> TokenMetadata:
        """The metadata once Vault shows our version (or a newer one): a standby that serves
        reads itself may lag the write it forwarded by a moment."""
        deadline = time.monotonic() + READ_PATIENCE
        while True:
            described = self._describe(kind, owner, provider)
            if described is not None and described["version"] >= version:
                return described
            if time.monotonic() > deadline:
                raise ServiceUnavailable(
                    f"the {provider.label} token was saved (version {version}), but Vault does "
                    "not show it yet; reload in a moment",
                    code="vault_lagging",
                )
            time.sleep(0.05)

    def delete(self, kind: OwnerKind, owner: str, provider_id: str, actor: str) -> None:
        """Delete the token with all its versions; 404 when not configured."""
        check_account_id(owner)
        provider = self.catalog.get(provider_id)
        path = provider_path(kind, owner, provider.id)
        if self.kv.read_metadata(path) is None:
            raise NotFound(f"no {provider.label} token is configured", code="token_not_configured")
        self.kv.destroy(path)
        self.audit.record(
            "provider_token.delete", actor=actor, target=provider.id, owner=f"{kind}/{owner}"
        )

    def _write_keeping_secrets(
        self, path: str, provider: Provider, body: dict[str, Any]
    ) -> tuple[int, bool, dict[str, str]]:
        """Write the body over the stored version's secrets; the check-and-set is against the
        version whose secrets were kept, so a concurrent replacement is never half merged."""
        secrets = {f.name for f in provider.fields if f.secret}
        written: dict[str, str] = {}

        def merged() -> tuple[dict[str, str], int]:
            stored = self.kv.read(path)
            kept = {
                name: value
                for name, value in (stored.data if stored else {}).items()
                if name in secrets and not body.get(name)
            }
            written.clear()
            written.update(provider.validate({**body, **kept}))
            if stored is not None:
                return written, stored.version
            meta = self.kv.read_metadata(path)  # absent, or its latest version deleted
            return written, int((meta or {}).get("current_version") or 0)

        version, created = self._write(path, written, base=merged)
        return version, created, written

    def _write(
        self,
        path: str,
        values: dict[str, str],
        base: Callable[[], tuple[dict[str, str], int]] | None = None,
    ) -> tuple[int, bool]:
        """Write a new version with check-and-set; (its number, whether it is the first).

        ``base`` gives the values to write and the version they build on, afresh each round.
        """
        deadline = time.monotonic() + WRITE_PATIENCE
        pause = 0.005
        while True:
            if base is None:
                meta = self.kv.read_metadata(path)
                current = int((meta or {}).get("current_version") or 0)
            else:
                values, current = base()
            try:
                return self.kv.write(path, values, cas=current), current == 0
            except CasConflict:
                pass  # another writer came first: write on top of theirs
            if time.monotonic() > deadline:
                raise Conflict(
                    "the token is being changed by others right now; try again", code="busy"
                )
            time.sleep(self._jitter.uniform(0, pause))  # spread the writers that collided
            pause = min(pause * 2, 0.2)

    def _publish(
        self,
        path: str,
        provider: Provider,
        owner: str,
        version: int,
        values: dict[str, Any],
        actor: str,
    ) -> None:
        """Make the custom metadata describe the current version: ours, or a newer one whose
        description ours may just have overwritten."""
        for _ in range(ATTEMPTS):
            meta = self.kv.read_metadata(path)
            if meta is None:
                return  # deleted meanwhile
            custom = meta.get("custom_metadata") or {}
            current = int(meta.get("current_version") or 0)
            if custom.get("data_version") == str(current):
                return  # the current version is described
            if current != version:  # a newer version (or a recreated secret)
                if f"{WRITER}{current}" not in custom:
                    return  # its writer has yet to describe it, and will after us
                secret = self.kv.read(path)
                if secret is None or secret.version != current:
                    continue
                version, values, actor = current, secret.data, custom[f"{WRITER}{current}"]
            self.kv.patch_metadata(
                path, describe_version(provider, owner, version, values, actor, meta)
            )
        log.warning("the metadata of %s is not settled after %d rounds", path, ATTEMPTS)

    def read_credential(
        self, kind: OwnerKind, owner: str, provider_id: str
    ) -> dict[str, str] | None:
        """The stored values, secrets included: for run-time delivery only, never a response."""
        check_account_id(owner)
        provider = self.catalog.get(provider_id)
        secret = self.kv.read(provider_path(kind, owner, provider.id))
        return None if secret is None else dict(secret.data)

    def _describe(self, kind: OwnerKind, owner: str, provider: Provider) -> TokenMetadata | None:
        path = provider_path(kind, owner, provider.id)
        meta = self.kv.read_metadata(path)
        if meta is None or not KV.is_live(meta):
            return None  # absent, or soft-deleted with `bao kv delete`: not configured
        custom = meta.get("custom_metadata") or {}
        if custom.get("data_version") != str(meta["current_version"]):
            # not described yet (a write in progress, a writer that died, a direct write with
            # the Vault CLI): describe the data itself
            secret = self.kv.read(path)
            if secret is not None:
                actor = custom.get(f"{WRITER}{secret.version}")
                fresh = describe_version(
                    provider, f"{kind}/{owner}", secret.version, secret.data, actor, meta
                )
                custom = {k: v for k, v in {**custom, **fresh}.items() if v is not None}
        fields: dict[str, FieldState] = {}
        for field in provider.fields:
            if field.secret:
                key = f"hint_{field.name}"
                fields[field.name] = {"secret": True, "set": key in custom, "hint": custom.get(key)}
            else:
                key = f"field_{field.name}"
                fields[field.name] = {
                    "secret": False,
                    "set": key in custom,
                    "value": custom.get(key),
                }
        return {
            "provider": provider.id,
            "label": provider.label,
            "configured": True,
            "fields": fields,
            "updated_at": custom.get("updated_at") or meta.get("updated_time"),
            "updated_by": custom.get("updated_by"),
            "version": int(meta["current_version"]),
        }


def describe_version(
    provider: Provider,
    owner: str,
    version: int,
    values: dict[str, Any],
    actor: str | None,
    meta: dict[str, Any],
) -> dict[str, str | None]:
    """The custom metadata describing one version, as a merge patch: hints of its secret
    fields, its plain fields (None removes a field it does not have), who wrote it and when;
    writer keys of older versions are removed."""
    written = ((meta.get("versions") or {}).get(str(version)) or {}).get("created_time")
    custom: dict[str, str | None] = {
        "provider": provider.id,
        "owner": owner,
        "updated_by": actor,
        "updated_at": written[:19] + "Z" if written else iso(now_utc()),
        "data_version": str(version),
    }
    if actor is not None:
        custom[f"{WRITER}{version}"] = actor
    for key in meta.get("custom_metadata") or {}:
        older = WRITER_KEY.fullmatch(key)
        if older and int(older.group(1)) < version:
            custom[key] = None
    for field in provider.fields:
        value = values.get(field.name)
        if field.secret:
            custom[f"hint_{field.name}"] = hint(value) if isinstance(value, str) else None
        else:
            custom[f"field_{field.name}"] = value if isinstance(value, str) else None
    return custom
