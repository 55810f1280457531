"""Issue, verify, list and revoke personal access tokens."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt

from vault_bridge.audit import AuditLog
from vault_bridge.config import Settings
from vault_bridge.errors import (
    BadRequest,
    Conflict,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
    VaultBridgeError,
)
from vault_bridge.ids import check_account_id, check_token_id, is_account_id, is_token_id
from vault_bridge.timeutil import iso, now_utc, parse_iso
from vault_bridge.tokens.denylist import Denylist
from vault_bridge.tokens.keys import SigningKeys, kid_for
from vault_bridge.vault.client import CasConflict, VaultClient
from vault_bridge.vault.kv import KV
from vault_bridge.vault.records import PatRecords
from vault_bridge.vault.revocations import RevocationStore
from vault_bridge.vault.transit import Transit

log = logging.getLogger(__name__)

SCOPES = ("api", "quantum_tokens")
TOKEN_TYPE = "pat+jwt"  # noqa: S105 - the JWT typ header, not a secret
REQUIRED_CLAIMS = ["iss", "sub", "aud", "iat", "nbf", "exp", "jti", "scope"]
MAX_TOKEN_LENGTH = 4096
LEEWAY_SECONDS = 5
CACHE_LIMIT = 100_000
NAME_MAX = 100
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class VerifiedToken:
    """A PAT whose signature, claims and revocation state have been checked."""

    token_id: str
    user: str
    scopes: frozenset[str]
    expires_at: int
    issued_at: int

    def __repr__(self) -> str:
        return f"VerifiedToken(token_id={self.token_id!r}, user={self.user!r})"


def normalize_scopes(value: object) -> list[str]:
    """A non-empty subset of SCOPES, in canonical order; accepts PLANQK's upper-case spelling."""
    if isinstance(value, str):
        value = [part for part in re.split(r"[\s,]+", value) if part]
    if not isinstance(value, list) or not value:
        raise BadRequest(
            "scopes must be a non-empty list of: api, quantum_tokens", code="invalid_scopes"
        )
    wanted = set()
    for scope in value:
        if not isinstance(scope, str) or scope.lower() not in SCOPES:
            raise BadRequest(
                "unknown scope; allowed scopes are: api, quantum_tokens", code="invalid_scopes"
            )
        wanted.add(scope.lower())
    return [scope for scope in SCOPES if scope in wanted]


def check_name(value: object) -> str:
    """A token name: 1-100 characters, no control characters, surrounding spaces trimmed."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("name is required (1-100 characters)", code="invalid_name")
    name = value.strip()
    if len(name) > NAME_MAX:
        raise BadRequest("name must be at most 100 characters", code="invalid_name")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise BadRequest("name must not contain control characters", code="invalid_name")
    return name


def parse_expiry(value: object, now: dt.datetime, default_days: int, max_days: int) -> dt.datetime:
    """The expiry of a new token: a date (valid through that day, UTC) or a date-time."""
    if value is None:
        return now + dt.timedelta(days=default_days)
    if not isinstance(value, str):
        raise BadRequest("expires_at must be an ISO 8601 date", code="invalid_expires_at")
    try:
        if _DATE_ONLY.fullmatch(value):
            day = dt.date.fromisoformat(value)
            moment = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)
        else:
            moment = parse_iso(value)
    except ValueError:
        raise BadRequest("expires_at must be an ISO 8601 date", code="invalid_expires_at") from None
    if moment <= now:
        raise BadRequest("expires_at must be in the future", code="invalid_expires_at")
    latest = now + dt.timedelta(days=max_days)
    if moment > latest + dt.timedelta(days=1 if _DATE_ONLY.fullmatch(value) else 0):
        raise BadRequest(
            f"expires_at must be at most {max_days} days from now", code="invalid_expires_at"
        )
    return moment.replace(microsecond=0)


def _parse_header(token: str) -> dict[str, Any] | None:
    """Decode only the JWS header (PyJWT's get_unverified_header decodes the whole token)."""
    segment = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError):
        return None
    return header if isinstance(header, dict) else None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TokenService:
    """The PAT lifecycle; one instance per app, shared by its threads."""

    def __init__(
        self, client: VaultClient, settings: Settings, audit: AuditLog | None = None
    ) -> None:
        self.client = client
        self.settings = settings
        self.audit = audit or AuditLog("")
        kv = KV(client, settings.kv_mount)
        self.records = PatRecords(kv)
        self.keys = SigningKeys(
            Transit(client, settings.transit_mount, settings.transit_key),
            settings.algorithm,
            max_age=settings.key_refresh_interval,
        )
        self.denylist = Denylist.from_settings(RevocationStore(kv), settings, LEEWAY_SECONDS)
        self._verified: dict[str, VerifiedToken] = {}
        self._used: dict[str, tuple[str, float]] = {}  # token id -> (user, last use, unix time)
        self._flushed: dict[str, float] = {}  # token id -> when last_used_at was last written
        self._addresses: set[tuple[str, str]] = set()  # (token id, client address) seen
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._start_lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Load keys and denylist, then keep them fresh in background threads (idempotent)."""
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is not None:
                return
            self.keys.refresh()
            self.denylist.start()
            self._thread = threading.Thread(
                target=self._maintain, name="vault-bridge-tokens", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Stop the background threads, writing pending last-used times first."""
        self._stop.set()
        self.denylist.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.flush_last_used(force=True)
        except VaultBridgeError as exc:
            log.warning("could not write last-used times on shutdown: %s", exc.message)

    def _maintain(self) -> None:
        interval = self.settings.denylist_poll_interval
        next_keys = time.monotonic() + self.settings.key_refresh_interval
        next_flush = time.monotonic() + min(5.0, self.settings.last_used_interval)
        while not self._stop.wait(interval):
            try:
                now = time.monotonic()
                if now >= next_keys:
                    next_keys = now + self.settings.key_refresh_interval
                    self.keys.refresh()
                if now >= next_flush:
                    next_flush = now + min(5.0, self.settings.last_used_interval)
                    self.flush_last_used()
            except VaultBridgeError as exc:
                log.warning("token maintenance: %s", exc.message)
            except Exception:  # keep the loop alive; the staleness bound fails requests closed
                log.exception("token maintenance failed")

    # -- issue ---------------------------------------------------------------------------------

    def issue(
        self, user: str, name: object, scopes: object, expires_at: object = None
    ) -> tuple[dict[str, Any], str]:
        """Create a PAT: its record goes to Vault, the token value only to the caller."""
        check_account_id(user)
        name = check_name(name)
        scope_list = normalize_scopes(scopes)
        now = now_utc()
        expiry = parse_expiry(
            expires_at, now, self.settings.pat_default_days, self.settings.pat_max_days
        )
        for record in self.records.all(user):
            if record.get("name") == name and parse_iso(record["expires_at"]) > now:
                raise Conflict(
                    f"you already have an active token named {name!r}", code="name_taken"
                )
        token_id = secrets.token_hex(16)
        record = {
            "id": token_id,
            "name": name,
            "scopes": scope_list,
            "created_at": iso(now),
            "expires_at": iso(expiry),
            "last_used_at": None,
        }
        self.records.create(user, record)
        self.audit.record(
            "pat.create", actor=user, target=token_id, owner=user, name=name, scopes=scope_list
        )
        token = self._sign(
            {
                "iss": self.settings.issuer,
                "sub": user,
                "aud": self.settings.audience,
                "iat": int(now.timestamp()),
                "nbf": int(now.timestamp()),
                "exp": int(expiry.timestamp()),
                "jti": token_id,
                "scope": " ".join(scope_list),
            }
        )
        return record, token

    def _sign(self, claims: dict[str, Any]) -> str:
        key = self.keys.latest()
        header = {"alg": key.algorithm, "kid": key.kid, "typ": TOKEN_TYPE}
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        version, signature = self.keys.transit.sign(signing_input.encode(), key_version=key.version)
        if kid_for(self.keys.transit.key, version) != key.kid:
            raise ServiceUnavailable("transit signed with an unexpected key version")
        return f"{signing_input}.{signature}"

    # -- verify --------------------------------------------------------------------------------

    def verify(self, token: object) -> VerifiedToken:
        """Check a PAT: pinned algorithm, every claim, issuer, audience, expiry, denylist.

        A token seen before is answered from memory (its claims were verified then); the
        denylist check and the expiry check are repeated every time.
        """
        if self._thread is None:
            self.start()
        if not isinstance(token, str):
            raise Unauthenticated("missing access token", code="missing_token")
        cached = self._verified.get(token)
        if cached is not None:
            if time.time() >= cached.expires_at + LEEWAY_SECONDS:
                self._verified.pop(token, None)
                raise Unauthenticated("the access token has expired", code="token_expired")
            self.denylist.check_fresh()
            if self.denylist.is_revoked(cached.token_id):
                raise Unauthenticated("the access token has been revoked", code="token_revoked")
            return cached
        verified = self._verify_first_time(token)
        self.denylist.check_fresh()
        if self.denylist.is_revoked(verified.token_id):
            raise Unauthenticated("the access token has been revoked", code="token_revoked")
        if len(self._verified) >= CACHE_LIMIT:
            for stale in list(self._verified)[: CACHE_LIMIT // 2]:
                self._verified.pop(stale, None)
        self._verified[token] = verified
        return verified

    def _verify_first_time(self, token: str) -> VerifiedToken:
        invalid = Unauthenticated("the access token is invalid", code="invalid_token")
        if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise invalid
        header = _parse_header(token)
        if header is None:
            raise invalid
        if header.get("typ") != TOKEN_TYPE or header.get("alg") != self.keys.algorithm:
            raise invalid
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise invalid
        key = self.keys.get(kid)
        if key is None:
            raise invalid
        try:
            claims = jwt.decode(
                token,
                key.public_key,
                algorithms=[key.algorithm],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=LEEWAY_SECONDS,
                options={
                    "require": REQUIRED_CLAIMS,
                    "verify_signature": True,
                    "verify_exp": True,
                    "verify_nbf": True,
                    "verify_iat": True,
                    "verify_aud": True,
                    "verify_iss": True,
                    "strict_aud": True,
                },
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the access token has expired", code="token_expired") from None
        except jwt.InvalidTokenError:
            raise invalid from None
        scope = claims.get("scope")
        if not isinstance(scope, str):
            raise invalid
        scopes = frozenset(scope.split())
        if not scopes or not scopes <= set(SCOPES):
            raise invalid
        if not is_token_id(claims["jti"]) or not is_account_id(claims["sub"]):
            raise invalid
        return VerifiedToken(
            token_id=claims["jti"],
            user=claims["sub"],
            scopes=scopes,
            expires_at=int(claims["exp"]),
            issued_at=int(claims["iat"]),
        )

    # -- use -----------------------------------------------------------------------------------

    def touch(self, token: VerifiedToken, address: str | None = None) -> bool:
        """Note a use of the token; written to Vault later, coalesced (no write per request).

        Returns True the first time this replica sees the token used from ``address``.
        """
        self._used[token.token_id] = (token.user, time.time())
        key = (token.token_id, address or "")
        if key in self._addresses:
            return False
        if len(self._addresses) >= CACHE_LIMIT:
            self._addresses.clear()
        self._addresses.add(key)
        return True

    def flush_last_used(self, force: bool = False) -> int:
        """Write last_used_at of tokens used since their last write, at most once per interval."""
        now = time.time()
        written = 0
        for token_id, (user, used_at) in list(self._used.items()):
            last = self._flushed.get(token_id, float("-inf"))
            if not force and now - last < self.settings.last_used_interval:
                continue
            self._used.pop(token_id, None)
            self._flushed[token_id] = now
            try:
                self._write_last_used(user, token_id, used_at)
                written += 1
            except CasConflict:
                self._used.setdefault(token_id, (user, used_at))  # try again next round
        return written

    def _write_last_used(self, user: str, token_id: str, used_at: float) -> None:
        secret = self.records.read(user, token_id)
        if secret is None:
            return  # revoked meanwhile
        stored = secret.data.get("last_used_at")
        moment = iso(dt.datetime.fromtimestamp(used_at, dt.UTC))
        if stored and stored >= (moment or ""):
            return
        self.records.update(user, token_id, {**secret.data, "last_used_at": moment}, secret.version)

    # -- list and revoke -----------------------------------------------------------------------

    def list(self, user: str) -> list[dict[str, Any]]:
        """A user's tokens, newest first, never with a value; last_used_at includes local uses."""
        check_account_id(user)
        records = []
        for record in self.records.all(user):
            if self.denylist.is_revoked(record["id"]):
                continue  # revoked, its record is being removed
            local = self._used.get(record["id"])
            if local is not None:
                moment = iso(dt.datetime.fromtimestamp(local[1], dt.UTC))
                if not record.get("last_used_at") or (moment or "") > record["last_used_at"]:
                    record = {**record, "last_used_at": moment}
            records.append(_public(record))
        return sorted(records, key=lambda r: (r["created_at"], r["id"]), reverse=True)

    def revoke(self, user: str, token_id: str, actor: str | None = None) -> None:
        """Revoke one of the user's tokens: denylisted in Vault before this returns."""
        check_account_id(user)
        check_token_id(token_id)
        secret = self.records.read(user, token_id)
        if secret is None:
            raise NotFound("no such token", code="token_not_found")
        self._revoke_records(user, [secret.data], actor or user)

    def revoke_all(self, user: str, actor: str | None = None) -> int:
        """Revoke every token of a user; returns how many."""
        check_account_id(user)
        records = self.records.all(user)
        self._revoke_records(user, records, actor or user)
        return len(records)

    def revoke_value(self, token: str) -> VerifiedToken:
        """Revoke a token given by value (a leaked one); its signature must verify."""
        verified = self._verify_first_time(token.strip())
        self.denylist.add({verified.token_id: verified.expires_at})
        self.records.destroy(verified.user, verified.token_id)
        self._forget(verified.token_id)
        self.audit.record(
            "pat.revoke",
            actor="operator",
            target=verified.token_id,
            owner=verified.user,
            method="by_value",
        )
        return verified

    def _revoke_records(self, user: str, records: list[dict[str, Any]], actor: str) -> None:
        entries = {}
        for record in records:
            exp = int(parse_iso(record["expires_at"]).timestamp())
            entries[record["id"]] = exp
        if not entries:
            return
        self.denylist.add(entries)
        for token_id in entries:
            self.records.destroy(user, token_id)
            self._forget(token_id)
            self.audit.record("pat.revoke", actor=actor, target=token_id, owner=user)

    def _forget(self, token_id: str) -> None:
        self._used.pop(token_id, None)
        self._flushed.pop(token_id, None)
        for token, verified in list(self._verified.items()):
            if verified.token_id == token_id:
                self._verified.pop(token, None)


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "name": record["name"],
        "scopes": list(record["scopes"]),
        "created_at": record["created_at"],
        "expires_at": record["expires_at"],
        "last_used_at": record.get("last_used_at"),
    }
