"""Every name vault-bridge gives things in Vault: AppRoles, policies, groups and KV paths.

Mount names are settings; everything below a mount is named here and nowhere else.
"""

from __future__ import annotations

from typing import Literal

OwnerKind = Literal["users", "orgs", "platform"]

# -- AppRoles and the policies they carry ----------------------------------------------------

SERVICE_ROLE = "vault-bridge"
RUNNER_ROLE = "vault-bridge-runner"
RECONCILER_ROLE = "vault-bridge-reconciler"  # writes the organizations' policies, nothing else
SERVICE_POLICY = "vault-bridge-service"
RUNNER_POLICY = "vault-bridge-runner"
RECONCILER_POLICY = "vault-bridge-reconciler"
USER_POLICY = "vault-bridge-user"
ADMIN_ROLE = "vault-bridge-admin"  # the embedded OpenBao's local administrator
APPROLE_NAMES = (SERVICE_ROLE, RUNNER_ROLE, RECONCILER_ROLE)  # what bootstrap creates

# -- organizations: one identity group per role, two policies ------------------------------

ORG_ROLES = ("owner", "maintainer", "viewer")
ORG_POLICY_KINDS = ("maintain", "view")
ORG_ROLE_POLICY = {"owner": "maintain", "maintainer": "maintain", "viewer": "view"}
ORG_POLICY_PREFIX = "vault-bridge-org-"


def org_group_name(org: str, role: str) -> str:
    """The identity group of one role of an organization."""
    return f"vault-bridge-org-{org}-{role}"


def org_policy_name(org: str, kind: str) -> str:
    """Name of an organization's policy: ``vault-bridge-org-<org>-maintain`` or ``-view``."""
    return f"{ORG_POLICY_PREFIX}{org}-{kind}"


def org_of_policy(name: str) -> str | None:
    """The organization id an organization policy's name carries (unchecked); None otherwise."""
    if not name.startswith(ORG_POLICY_PREFIX):
        return None
    for kind in ORG_POLICY_KINDS:
        if name.endswith(f"-{kind}"):
            return name[len(ORG_POLICY_PREFIX) : -len(kind) - 1]
    return None


# -- KV paths (below the KV mount) -----------------------------------------------------------

SESSION_KEY_PATH = "config/session"
RECONCILE_FOLDER = "reconcile/orgs"  # organizations whose policies the reconciler must look at
RECONCILE_STATE_PATH = "reconcile/state"  # the last completed look at every organization
GRANT_KEY_PATH = "config/grants"
REDEEMED_FOLDER = "runtime/redeemed"
DENYLIST_FOLDER = "denylist"  # the revocation log, its checkpoint and chunks (revocations.py)
PLATFORM_OWNER: tuple[OwnerKind, str] = ("platform", "default")


def user_folder(user: str) -> str:
    """Everything the service keeps for one user."""
    return f"users/{user}"


def session_folder(user: str) -> str:
    """Folder of a user's browser sessions (one record each, bound to the account's entity)."""
    return f"users/{user}/sessions"


def session_path(user: str, session_id: str) -> str:
    """One session's record."""
    return f"{session_folder(user)}/{session_id}"


def pat_folder(user: str) -> str:
    """Folder of a user's PAT records."""
    return f"users/{user}/personal-access-tokens"


def pat_path(user: str, token_id: str) -> str:
    """Path of one PAT record (metadata only; the token value is never stored)."""
    return f"{pat_folder(user)}/{token_id}"


def pat_index_path(user: str) -> str:
    """The index of a user's PATs: every record's metadata and last use, one document."""
    return f"users/{user}/pat-index"


PAT_OWNERS_FOLDER = "pat-owners"  # token id -> its user, for operators (``pats revoke ID``)
PAT_INDEX_MARKER = "config/pat-index"  # written once every user's records are indexed


def pat_owner_path(token_id: str) -> str:
    """Which user a PAT id belongs to."""
    return f"{PAT_OWNERS_FOLDER}/{token_id}"


def org_pat_usage_path(org: str) -> str:
    """PATs used in an organization's context: who, which, last use there."""
    return f"orgs/{org}/pat-usage"


PAT_BLOCKS_FOLDER = "pat-blocks"  # one document per organization that blocks PATs


def pat_blocks_path(org: str) -> str:
    """The PATs an organization's owners blocked from acting in it."""
    return f"{PAT_BLOCKS_FOLDER}/{org}"


def notices_path(user: str) -> str:
    """A user's recent security notices (and the once-only markers of the e-mails)."""
    return f"users/{user}/notices"


def provider_folder(owner_kind: OwnerKind, owner: str) -> str:
    """Folder of an owner's provider tokens: a user's, an organization's or the platform's."""
    if owner_kind not in ("users", "orgs", "platform"):
        raise ValueError(owner_kind)
    return f"{owner_kind}/{owner}/provider-access-tokens"


def provider_path(owner_kind: OwnerKind, owner: str, provider: str) -> str:
    """Path of one provider token."""
    return f"{provider_folder(owner_kind, owner)}/{provider}"


def jobs_folder(user: str) -> str:
    """Jobs of the reference /quantum surface, per user."""
    return f"users/{user}/jobs"


def job_path(user: str, job_id: str) -> str:
    """One job."""
    return f"{jobs_folder(user)}/{job_id}"


def job_index_folder(user: str, context: str | None) -> str:
    """The index of a user's jobs in one context (``personal`` or ``orgs/<org>``)."""
    where = "personal" if context is None else f"orgs/{context}"
    return f"users/{user}/job-index/{where}"


def job_index_marker(user: str) -> str:
    """Written once a user's jobs (of an earlier version, without an index) are indexed."""
    return f"users/{user}/job-index/indexed"


def redeemed_path(day: str, grant_id: str) -> str:
    """The single-use marker of a redeemed run-time grant, by the day its grant expires."""
    return f"{REDEEMED_FOLDER}/{day}/{grant_id}"


def org_folder(org: str) -> str:
    """Everything the service keeps for one organization."""
    return f"orgs/{org}"


def org_profile_path(org: str) -> str:
    """An organization's profile: its id is claimed here with check-and-set 0."""
    return f"orgs/{org}/profile"


def org_members_lease(org: str) -> str:
    """The lease serializing membership changes of one organization."""
    return f"orgs/{org}/members"


def lease_path(name: str) -> str:
    """Where a lease lives."""
    return f"locks/{name}"


def reconcile_path(org: str) -> str:
    """The marker asking the reconciler to bring one organization's policies in line."""
    return f"{RECONCILE_FOLDER}/{org}"


REMINDER_SCAN_PATH = "config/reminder-scan"  # when the last expiry-reminder scan started
