"""Idempotent set-up of Vault for vault-bridge, and the doctor that checks it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from vault_bridge.config import Settings
from vault_bridge.errors import ServiceUnavailable
from vault_bridge.vault.client import CasConflict, VaultClient, VaultError
from vault_bridge.vault.kv import KV
from vault_bridge.vault.names import (
    RECONCILER_POLICY,
    RECONCILER_ROLE,
    RUNNER_POLICY,
    RUNNER_ROLE,
    SERVICE_POLICY,
    SERVICE_ROLE,
    SESSION_KEY_PATH,
)
from vault_bridge.vault.policies import load_policies
from vault_bridge.vault.sys import RoleSettings, Sys
from vault_bridge.vault.transit import Transit

__all__ = [
    "RECONCILER_ROLE",
    "RUNNER_ROLE",
    "SERVICE_ROLE",
    "BootstrapReport",
    "Check",
    "bootstrap",
    "doctor",
]

APPROLES = {
    SERVICE_ROLE: RoleSettings(policies=(SERVICE_POLICY,), ttl="1h", max_ttl="24h"),
    RUNNER_ROLE: RoleSettings(policies=(RUNNER_POLICY,), ttl="10m", max_ttl="1h"),
    RECONCILER_ROLE: RoleSettings(policies=(RECONCILER_POLICY,), ttl="1h", max_ttl="24h"),
}


def userpass_lockout(settings: Settings) -> dict[str, Any]:
    """OpenBao/Vault's userpass lockout, shared by every replica: well above the per-replica
    sign-in limits, so that it caps a guesser spread over many replicas while a handful of
    guesses locks nobody out. In the form the tune endpoint takes."""
    return {
        "lockout_threshold": str(settings.lockout_threshold),
        "lockout_duration": f"{settings.lockout_duration}s",
        "lockout_counter_reset_duration": f"{settings.lockout_counter_reset}s",
        "lockout_disable": False,
    }


def lockout_applied(auths: dict[str, Any], settings: Settings) -> bool:
    """True when the userpass mount (as ``sys/auth`` lists it) has ``userpass_lockout``'s
    values."""
    mount = auths.get(f"{settings.userpass_mount}/") or {}
    config = (mount.get("config") or {}).get("user_lockout_config") or {}
    return {
        key: config.get(key)
        for key in (
            "user_lockout_threshold",
            "user_lockout_duration",
            "user_lockout_counter_reset_duration",
            "user_lockout_disable",
        )
    } == {
        "user_lockout_threshold": settings.lockout_threshold,
        "user_lockout_duration": settings.lockout_duration,
        "user_lockout_counter_reset_duration": settings.lockout_counter_reset,
        "user_lockout_disable": False,
    }


def userpass_accessor(auths: dict[str, Any], settings: Settings) -> str:
    """The accessor of the userpass mount (the service may alias logins of that mount only)."""
    accessor = (auths.get(f"{settings.userpass_mount}/") or {}).get("accessor")
    return accessor if isinstance(accessor, str) else ""


@dataclass
class BootstrapReport:
    """What bootstrap changed; empty on a second run."""

    changed: list[str] = field(default_factory=list)


def bootstrap(client: VaultClient, settings: Settings) -> BootstrapReport:
    """Create whatever is missing: mounts, auth methods, transit key, policies, AppRoles."""
    report = BootstrapReport()
    sys_ = Sys(client)
    mounts = sys_.mounts()
    if f"{settings.kv_mount}/" not in mounts:
        sys_.enable_secrets(settings.kv_mount, "kv", {"version": "2"})
        report.changed.append(f"enabled KV v2 at {settings.kv_mount}/")
    if f"{settings.transit_mount}/" not in mounts:
        sys_.enable_secrets(settings.transit_mount, "transit")
        report.changed.append(f"enabled transit at {settings.transit_mount}/")
    auths = sys_.auth_methods()
    for path, kind in ((settings.userpass_mount, "userpass"), (settings.approle_mount, "approle")):
        if f"{path}/" not in auths:
            sys_.enable_auth(path, kind)
            report.changed.append(f"enabled {kind} auth at {path}/")
    if not lockout_applied(sys_.auth_methods(), settings):
        sys_.tune_auth(settings.userpass_mount, user_lockout_config=userpass_lockout(settings))
        report.changed.append(
            f"set the userpass lockout: {settings.lockout_threshold} failures lock an account "
            f"for {settings.lockout_duration} s"
        )
    transit = Transit(client, settings.transit_mount, settings.transit_key)
    key = transit.read_key()
    if key is None:
        transit.create_key(settings.key_type)
        report.changed.append(f"created transit key {settings.transit_key} ({settings.key_type})")
    elif key.get("type") != settings.key_type:
        raise VaultError(
            f"transit key {settings.transit_key} is {key.get('type')}, "
            f"but VAULT_BRIDGE_KEY_TYPE is {settings.key_type}"
        )
    accessor = userpass_accessor(sys_.auth_methods(), settings)
    for name, text in load_policies(settings, accessor).items():
        if sys_.read_policy(name) != text:
            sys_.write_policy(name, text)
            report.changed.append(f"wrote policy {name}")
    for role, wanted in APPROLES.items():
        current = sys_.read_approle(settings.approle_mount, role)
        if (
            current is None
            or sorted(current.get("token_policies") or []) != sorted(wanted.policies)
            or not current.get("token_no_default_policy")
        ):
            sys_.write_approle(settings.approle_mount, role, wanted)
            report.changed.append(f"wrote AppRole {role}")
    kv = KV(client, settings.kv_mount)
    if kv.read(SESSION_KEY_PATH) is None:
        try:
            kv.write(SESSION_KEY_PATH, {"secret_key": secrets.token_urlsafe(48)}, cas=0)
            report.changed.append("created the session signing key")
        except CasConflict:
            pass  # another bootstrap created it first
    return report


@dataclass
class Check:
    """One doctor finding."""

    name: str
    ok: bool
    detail: str


def doctor(client: VaultClient, settings: Settings) -> list[Check]:
    """Check connection, seal state, authentication, mounts, key, policies and AppRoles."""
    checks: list[Check] = []
    try:
        health = client.health()
    except ServiceUnavailable as exc:
        return [Check("reachable", False, f"{exc.message}; is the server running?")]
    checks.append(
        Check("reachable", True, f"{client.addr} answers (version {health.get('version')})")
    )
    if not health.get("initialized"):
        checks.append(
            Check("initialized", False, "Vault is not initialized: run `bao operator init`")
        )
        return checks
    if health.get("sealed"):
        checks.append(
            Check(
                "unsealed",
                False,
                "Vault is sealed: restart it (auto-unseal) or `bao operator unseal` (Shamir)",
            )
        )
        return checks
    checks.append(Check("unsealed", True, "initialized and unsealed"))
    try:
        sys_ = Sys(client)
        mounts = sys_.mounts()
        auths = sys_.auth_methods()
    except VaultError as exc:
        checks.append(
            Check("authenticated", False, f"cannot read mounts with this token: {exc.message}")
        )
        return checks
    except ServiceUnavailable as exc:
        checks.append(Check("authenticated", False, exc.message))
        return checks
    checks.append(Check("authenticated", True, "token accepted"))
    hint = "run `vault-bridge bootstrap`"
    for path, kind in ((settings.kv_mount, "kv"), (settings.transit_mount, "transit")):
        mount = mounts.get(f"{path}/") or {}
        ok = mount.get("type") == kind
        checks.append(Check(f"mount {path}/", ok, "present" if ok else f"missing ({kind}): {hint}"))
    for path, kind in ((settings.userpass_mount, "userpass"), (settings.approle_mount, "approle")):
        ok = auths.get(f"{path}/", {}).get("type") == kind
        checks.append(
            Check(f"auth {path}/", ok, "enabled" if ok else f"{kind} not enabled: {hint}")
        )
    if auths.get(f"{settings.userpass_mount}/", {}).get("type") == "userpass":
        ok = lockout_applied(auths, settings)
        detail = (
            f"{settings.lockout_threshold} failures lock an account for "
            f"{settings.lockout_duration} s"
        )
        checks.append(Check("userpass lockout", ok, detail if ok else f"not as configured: {hint}"))
    key = Transit(client, settings.transit_mount, settings.transit_key).read_key()
    if key is None:
        checks.append(
            Check("signing key", False, f"transit key {settings.transit_key} missing: {hint}")
        )
    else:
        checks.append(
            Check(
                "signing key",
                True,
                f"{key.get('type')}, latest version {key.get('latest_version')}",
            )
        )
    for name, text in load_policies(settings, userpass_accessor(auths, settings)).items():
        current = sys_.read_policy(name)
        if current is None:
            checks.append(Check(f"policy {name}", False, f"missing: {hint}"))
        elif current != text:
            checks.append(
                Check(f"policy {name}", False, f"differs from policies/{name}.hcl: {hint}")
            )
        else:
            checks.append(Check(f"policy {name}", True, "matches policies/"))
    for role in APPROLES:
        ok = sys_.read_approle(settings.approle_mount, role) is not None
        checks.append(Check(f"approle {role}", ok, "present" if ok else f"missing: {hint}"))
    return checks
