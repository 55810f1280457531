"""Provider access tokens in Vault KV v2: values in the data, everything else in custom metadata.

Write-only: nothing here returns a secret field's value except ``read_credential``, which only the
run-time delivery path may call.
"""

from __future__ import annotations

from typing import TypedDict

from vault_bridge.audit import AuditLog
from vault_bridge.config import Settings
from vault_bridge.errors import BadRequest, NotFound
from vault_bridge.ids import check_account_id
from vault_bridge.providers.catalog import Catalog, Provider
from vault_bridge.timeutil import iso, now_utc
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.kv import KV
from vault_bridge.vault.locks import Lease
from vault_bridge.vault.names import OwnerKind, provider_folder, provider_lease, provider_path

__all__ = ["FieldState", "OwnerKind", "ProviderTokens", "TokenMetadata", "hint"]


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
        self, kind: OwnerKind, owner: str, provider_id: str, body: object, actor: str
    ) -> tuple[TokenMetadata, bool]:
        """Validate against the catalog, then set or replace; returns (metadata, created)."""
        check_account_id(owner)
        provider = self.catalog.get(provider_id)
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object of fields", code="invalid_json")
        values = provider.validate(body)
        path = provider_path(kind, owner, provider.id)
        with Lease(self.kv, provider_lease(kind, owner, provider.id)).hold():
            meta = self.kv.read_metadata(path)
            current = int((meta or {}).get("current_version") or 0)
            version = self.kv.write(path, values, cas=current)
            custom = {
                "provider": provider.id,
                "owner": f"{kind}/{owner}",
                "updated_by": actor,
                "updated_at": iso(now_utc()) or "",
                "data_version": str(version),
            }
            for field in provider.fields:
                if field.name not in values:
                    continue
                if field.secret:
                    custom[f"hint_{field.name}"] = hint(values[field.name])
                else:
                    custom[f"field_{field.name}"] = values[field.name]
            self.kv.write_metadata(path, custom)
        created = current == 0
        self.audit.record(
            "provider_token.set" if created else "provider_token.replace",
            actor=actor,
            target=provider.id,
            owner=f"{kind}/{owner}",
            version=version,
            fields=sorted(values),
        )
        described = self._describe(kind, owner, provider)
        assert described is not None
        return described, created

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

    def read_credential(
        self, kind: OwnerKind, owner: str, provider_id: str
    ) -> dict[str, str] | None:
        """The stored values, secrets included: for run-time delivery only, never a response."""
        check_account_id(owner)
        provider = self.catalog.get(provider_id)
        secret = self.kv.read(provider_path(kind, owner, provider.id))
        return None if secret is None else dict(secret.data)

    def _describe(self, kind: OwnerKind, owner: str, provider: Provider) -> TokenMetadata | None:
        meta = self.kv.read_metadata(provider_path(kind, owner, provider.id))
        if meta is None or not KV.is_live(meta):
            return None  # absent, or soft-deleted with `bao kv delete`: not configured
        custom = meta.get("custom_metadata") or {}
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
