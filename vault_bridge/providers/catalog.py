"""The provider catalog, loaded from ``catalog.toml`` (data, not code) and checked once."""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from vault_bridge.errors import BadRequest, NotFound
from vault_bridge.ids import has_invisible_characters, is_account_id, strip_surrounding

FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_VALUE = 4096
MAX_SHOWN_BYTES = 512  # non-secret values live in KV custom metadata: Vault takes 512 bytes
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
API_HOST = re.compile(rf"(?:\*\.)?{LABEL}(?:\.{LABEL})+")


@dataclass(frozen=True)
class Field:
    """One field of a provider's credential."""

    name: str
    label: str
    secret: bool
    required: bool
    pattern: re.Pattern[str]
    format: str  # the pattern in words: "<provider> <label> should <format>"
    help: str
    env: str

    def as_dict(self) -> dict[str, Any]:
        """The public description (served by GET /api/v1/providers)."""
        return {
            "name": self.name,
            "label": self.label,
            "secret": self.secret,
            "required": self.required,
            "pattern": self.pattern.pattern,
            "format": self.format,
            "help": self.help,
            "env": self.env,
        }


@dataclass(frozen=True)
class Provider:
    """A quantum provider and the fields of its credential."""

    id: str
    label: str
    website: str
    planqk: str
    fields: tuple[Field, ...]
    api_hosts: tuple[str, ...] = ()  # hosts a credential may point the runner at

    def field(self, name: str) -> Field | None:
        """The field called ``name``."""
        return next((f for f in self.fields if f.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        """The public description."""
        return {
            "id": self.id,
            "label": self.label,
            "website": self.website,
            "planqk_provider": self.planqk,
            "fields": [f.as_dict() for f in self.fields],
        }

    def validate(self, body: Mapping[str, Any]) -> dict[str, str]:
        """Clean and check a credential; each error names its field and shape, never the value.

        Surrounding whitespace of every value is dropped (a pasted trailing newline is no
        mistake, see ``strip_surrounding``); a value left empty counts as not given. When several
        fields are at fault, the error (``InvalidFields``) speaks for the first and carries one
        error per field, so a form can show each next to its field.
        """
        unknown = sorted(set(body) - {f.name for f in self.fields})
        if unknown:
            name = unknown[0] if len(unknown[0]) <= 40 else unknown[0][:40] + "…"
            raise BadRequest(
                f"unknown field '{name}' for {self.label}", code="unknown_field", field=unknown[0]
            )
        values: dict[str, str] = {}
        errors: list[BadRequest] = []
        for field in self.fields:
            value = body.get(field.name)
            if isinstance(value, str):
                value = strip_surrounding(value)
            if value is None or value == "":
                if field.required:
                    errors.append(
                        BadRequest(
                            f"{self.label} {field.label} is required",
                            code="missing_field",
                            field=field.name,
                        )
                    )
                continue
            problem = (
                self._problem(field, value) if isinstance(value, str) else "must be a string"
            )
            if problem:
                errors.append(self._invalid(field, problem))
                continue
            values[field.name] = value
        if errors:
            raise InvalidFields(errors)
        return values

    def _problem(self, field: Field, value: str) -> str:
        """What is wrong with a (stripped, non-empty) value, in words; empty when nothing is."""
        if len(value) > MAX_VALUE or (not field.secret and len(value.encode()) > MAX_SHOWN_BYTES):
            limit = f"{MAX_VALUE} characters" if field.secret else f"{MAX_SHOWN_BYTES} bytes"
            return f"is too long: it should have at most {limit}"
        if has_invisible_characters(value):
            return (
                f"contains a line break, tab or other invisible character: it should {field.format}"
            )
        if field.pattern.fullmatch(value):
            return ""
        if any(ch.isspace() for ch in value):
            return f"should not contain spaces: it should {field.format}"
        return f"should {field.format}"

    def _invalid(self, field: Field, problem: str) -> BadRequest:
        """The refusal of one field, in the provider's and the field's own words."""
        return BadRequest(
            f"{self.label} {field.label} {problem}", code="invalid_field", field=field.name
        )


class InvalidFields(BadRequest):
    """Fields at fault: the first speaks for the API, ``errors`` has one error per field."""

    def __init__(self, errors: list[BadRequest]) -> None:
        first = errors[0]
        super().__init__(first.message, code=first.code, field=first.field)
        self.errors = errors


class Catalog:
    """Every provider by id."""

    def __init__(self, providers: list[Provider]) -> None:
        self.providers = {p.id: p for p in providers}

    def get(self, provider_id: object) -> Provider:
        """The provider, 400 for a malformed id, 404 for an unknown one."""
        if not isinstance(provider_id, str) or not is_account_id(provider_id):
            raise BadRequest("invalid provider id", code="invalid_id")
        provider = self.providers.get(provider_id)
        if provider is None:
            raise NotFound(f"unknown provider '{provider_id}'", code="unknown_provider")
        return provider

    def as_list(self) -> list[dict[str, Any]]:
        """The catalog as served."""
        return [p.as_dict() for p in self.providers.values()]


def parse_catalog(text: str) -> Catalog:
    """Parse and check a catalog document (raises ValueError on a bad entry)."""
    data = tomllib.loads(text)
    providers = []
    for entry in data.get("providers", []):
        if not is_account_id(entry.get("id")):
            raise ValueError(f"provider id {entry.get('id')!r} is not a valid id")
        fields = []
        for raw in entry.get("fields", []):
            if not FIELD_NAME.fullmatch(raw.get("name", "")):
                raise ValueError(f"{entry['id']}: bad field name {raw.get('name')!r}")
            if not isinstance(raw.get("format"), str) or not raw["format"].strip():
                raise ValueError(
                    f"{entry['id']}.{raw['name']}: say what a value looks like (format)"
                )
            fields.append(
                Field(
                    name=raw["name"],
                    label=raw["label"],
                    secret=bool(raw["secret"]),
                    required=bool(raw["required"]),
                    pattern=re.compile(raw["pattern"]),
                    format=raw["format"],
                    help=raw.get("help", ""),
                    env=raw.get("env", ""),
                )
            )
        if not any(f.required for f in fields):
            raise ValueError(f"{entry['id']}: at least one field must be required")
        if len({f.name for f in fields}) != len(fields):
            raise ValueError(f"{entry['id']}: duplicate field names")
        hosts = tuple(entry.get("api_hosts", ()))
        if not all(isinstance(h, str) and API_HOST.fullmatch(h) for h in hosts):
            raise ValueError(f"{entry['id']}: api_hosts must be host names or '*.' + a host name")
        providers.append(
            Provider(
                id=entry["id"],
                label=entry["label"],
                website=entry.get("website", ""),
                planqk=entry.get("planqk", ""),
                fields=tuple(fields),
                api_hosts=hosts,
            )
        )
    if len({p.id for p in providers}) != len(providers):
        raise ValueError("duplicate provider ids")
    return Catalog(providers)


@functools.cache
def load_catalog() -> Catalog:
    """The catalog shipped with the package."""
    text = resources.files("vault_bridge.providers").joinpath("catalog.toml").read_text()
    return parse_catalog(text)
