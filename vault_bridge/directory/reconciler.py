"""The organization policy reconciler: the one writer of organization policies.

It renders ``policies/templates/org-*.hcl`` for organization ids that pass the id rule and that
have a profile in KV, puts each policy on the organization's existing role groups, and deletes
the policies of organizations that are gone. It runs with its own Vault identity (AppRole
``vault-bridge-reconciler``): the service, which answers HTTP requests, can write no policy and
set no policy on a group. The service asks for a look at an organization by writing a marker
(``reconcile/orgs/<org>``); the reconciler handles markers when Vault's raft index moved, and
looks at every organization now and then as a safety net.

That look is shared by every replica: a completed one is recorded in ``reconcile/state`` (the
templates' digest and when it completed), and a loop whose full look is due skips it while that
record is younger than ``full_interval`` and was made with the same templates.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from vault_bridge.config import Settings
from vault_bridge.errors import VaultBridgeError
from vault_bridge.ids import is_account_id
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.identity import Identity
from vault_bridge.vault.kv import KV
from vault_bridge.vault.names import (
    ORG_POLICY_KINDS,
    ORG_ROLE_POLICY,
    ORG_ROLES,
    RECONCILE_FOLDER,
    RECONCILE_STATE_PATH,
    org_group_name,
    org_of_policy,
    org_policy_name,
    org_profile_path,
    reconcile_path,
)
from vault_bridge.vault.policies import OrgPolicyTemplates
from vault_bridge.vault.sys import Sys

log = logging.getLogger(__name__)

CLOCK_SKEW = 60.0  # seconds a record may come from the future (replicas' clocks differ)
JITTER = 0.05  # of full_interval, added to each replica's next full look


class PolicyReconciler:
    """Brings organization policies in line with the organizations that exist."""

    def __init__(self, client: VaultClient, settings: Settings) -> None:
        self.kv = KV(client, settings.kv_mount)
        self.identity = Identity(client)
        self.sys = Sys(client)
        self.templates = OrgPolicyTemplates(settings)
        self.digest = self.templates.digest

    def reconcile(self, org: str) -> list[str]:
        """One organization: its policies rendered and on its groups while its profile exists,
        deleted once it is gone. Returns what changed (nothing for an id that breaks the rule)."""
        if not is_account_id(org):
            log.warning("reconciler: ignored an organization id that breaks the id rule")
            return []
        changed: list[str] = []
        if self.kv.read(org_profile_path(org)) is None:
            for kind in ORG_POLICY_KINDS:
                name = org_policy_name(org, kind)
                if self.sys.read_policy(name) is not None:
                    self.sys.delete_policy(name)
                    changed.append(f"deleted policy {name}")
            return changed
        for name, text in self.templates.for_org(org).items():
            if self.sys.read_policy(name) != text:
                self.sys.write_policy(name, text)
                changed.append(f"wrote policy {name}")
        for role in ORG_ROLES:
            group = org_group_name(org, role)
            wanted = org_policy_name(org, ORG_ROLE_POLICY[role])
            current = self.identity.read_group(group)
            if current is not None and list(current.get("policies") or []) != [wanted]:
                self.identity.set_group_policy(group, wanted)
                changed.append(f"put {wanted} on group {group}")
        return changed

    def handle(self, org: str) -> list[str]:
        """Reconcile one organization and drop the marker that asked for it."""
        changed = self.reconcile(org)
        self.kv.destroy(reconcile_path(org))
        return changed

    def pending(self) -> list[str]:
        """Every organization a marker asks for."""
        changed: list[str] = []
        for key in self.kv.list(RECONCILE_FOLDER):
            if not key.endswith("/"):
                changed += self.handle(key)
        return changed

    def reconcile_all(self) -> list[str]:
        """Every organization with a profile, the policies left by deleted ones, the markers;
        then record the completed look for the other replicas."""
        started = time.time()
        orgs = {key.rstrip("/") for key in self.kv.list("orgs") if key.endswith("/")}
        changed: list[str] = []
        for org in sorted(orgs):
            changed += self.reconcile(org)
        gone = {org_of_policy(name) for name in self.sys.list_policies()} - orgs - {None}
        for org in sorted(str(each) for each in gone):
            changed += self.reconcile(org)
        changed += self.pending()
        self._record_full_pass(started)
        return changed

    def _record_full_pass(self, started: float) -> None:
        """Write the record of a completed full look (a failed write only costs a look)."""
        record = {"digest": self.digest, "started_at": started, "completed_at": time.time()}
        try:
            self.kv.write(RECONCILE_STATE_PATH, record)
        except VaultBridgeError as exc:
            log.warning("reconciler: could not record the full look: %s", exc.message)

    def last_full_pass(self) -> float | None:
        """Wall-clock time the last full look with these templates completed, from the shared
        record; None when it is missing, unreadable, garbled or made with other templates."""
        try:
            secret = self.kv.read(RECONCILE_STATE_PATH)
        except VaultBridgeError as exc:
            log.warning("reconciler: could not read the record of the full look: %s", exc.message)
            return None
        if secret is None:
            return None
        if secret.data.get("digest") != self.digest:
            log.info("reconciler: the policy templates differ from the last full look's")
            return None
        completed = secret.data.get("completed_at")
        if (
            isinstance(completed, bool)
            or not isinstance(completed, int | float)
            or not math.isfinite(completed)
            or completed > time.time() + CLOCK_SKEW
        ):
            log.warning("reconciler: the record of the full look is garbled; ignored")
            return None
        return float(completed)


class ReconcileLoop:
    """Runs the reconciler: markers whenever Vault's raft index moved (``sys/leader``, not
    audited; every ``interval`` when the storage reports none), everything every
    ``full_interval`` unless another replica's full look is younger than that."""

    def __init__(
        self,
        reconciler: PolicyReconciler,
        *,
        interval: float,
        full_interval: float,
        report: Callable[[str], Any] | None = None,
    ) -> None:
        self.reconciler = reconciler
        self.interval = interval
        self.full_interval = full_interval
        self.report = report or log.info
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._index: object = None
        self._next_full = 0.0

    def step(self) -> None:
        """One round: everything when due and nobody did it lately, else the markers if
        something may have changed."""
        if time.monotonic() >= self._next_full:
            wait = self._shared_wait()
            if wait is None:
                self._next_full = time.monotonic() + self.full_interval  # also when it fails
                self._report(self.reconciler.reconcile_all())
                self._next_full = time.monotonic() + self._jittered(self.full_interval)
                return
            self._next_full = time.monotonic() + self._jittered(wait)
        index = self.reconciler.sys.leader().get("raft_applied_index")
        if index is not None and index == self._index:
            return
        self._index = index
        self._report(self.reconciler.pending())

    def _report(self, changed: list[str]) -> None:
        for line in changed:
            self.report(f"reconciler: {line}")

    def _shared_wait(self) -> float | None:
        """Seconds until the last recorded full look is ``full_interval`` old; None when a
        full look is due now (no usable record, or an old one)."""
        completed = self.reconciler.last_full_pass()
        if completed is None:
            return None
        wait = self.full_interval - max(time.time() - completed, 0.0)
        return wait if wait > 0 else None

    def _jittered(self, delay: float) -> float:
        """``delay`` plus a little randomness, so replicas do not all look at once."""
        return delay + random.uniform(0, JITTER * self.full_interval)  # noqa: S311  # not a secret

    def run(self) -> None:
        """Loop until ``stop`` (errors are logged; the next round tries again)."""
        while not self._stop.is_set():
            try:
                self.step()
            except VaultBridgeError as exc:
                log.warning("reconciler: %s", exc.message)
            except Exception:  # keep the loop alive: the next round may succeed
                log.exception("reconciler round failed")
            self._stop.wait(self.interval)

    def start(self) -> None:
        """Run in a background thread (idempotent)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self.run, name="vault-bridge-reconciler", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the loop (and wait for its thread, if it has one)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)
