"""Where PAT records, provider tokens, jobs and organization profiles live in the KV mount."""

from __future__ import annotations

from typing import Any

from vault_bridge.vault.kv import KV, Secret


def pat_folder(user: str) -> str:
    """Folder of a user's PAT records."""
    return f"users/{user}/personal-access-tokens"


def pat_path(user: str, token_id: str) -> str:
    """Path of one PAT record (metadata only; the token value is never stored)."""
    return f"{pat_folder(user)}/{token_id}"


def user_folder(user: str) -> str:
    """Everything the service keeps for one user."""
    return f"users/{user}"


def provider_folder(owner_kind: str, owner: str) -> str:
    """Folder of an owner's provider tokens; ``owner_kind`` is ``users`` or ``orgs``."""
    if owner_kind not in ("users", "orgs", "platform"):
        raise ValueError(owner_kind)
    return f"{owner_kind}/{owner}/provider-access-tokens"


def provider_path(owner_kind: str, owner: str, provider: str) -> str:
    """Path of one provider token (SPEC section 4)."""
    return f"{provider_folder(owner_kind, owner)}/{provider}"


def jobs_folder(user: str) -> str:
    """Jobs of the reference /quantum surface, per user."""
    return f"users/{user}/jobs"


def job_path(user: str, job_id: str) -> str:
    """One job."""
    return f"{jobs_folder(user)}/{job_id}"


REDEEMED_FOLDER = "runtime/redeemed"


def redeemed_path(day: str, grant_id: str) -> str:
    """The single-use marker of a redeemed run-time grant, by the day its grant expires."""
    return f"{REDEEMED_FOLDER}/{day}/{grant_id}"


def org_folder(org: str) -> str:
    """Everything the service keeps for one organization."""
    return f"orgs/{org}"


def org_profile_path(org: str) -> str:
    """An organization's profile: its id is claimed here with check-and-set 0."""
    return f"orgs/{org}/profile"


class PatRecords:
    """PAT records under ``users/<user>/personal-access-tokens/<id>``."""

    def __init__(self, kv: KV) -> None:
        self.kv = kv

    def create(self, user: str, record: dict[str, Any]) -> None:
        """Store a new record (check-and-set 0: never overwrite)."""
        self.kv.write(pat_path(user, record["id"]), record, cas=0)

    def read(self, user: str, token_id: str) -> Secret | None:
        """Read one record; None when absent."""
        return self.kv.read(pat_path(user, token_id))

    def update(self, user: str, token_id: str, record: dict[str, Any], version: int) -> None:
        """Replace a record if it is still at ``version``."""
        self.kv.write(pat_path(user, token_id), record, cas=version)

    def ids(self, user: str) -> list[str]:
        """Ids of a user's records."""
        return [key for key in self.kv.list(pat_folder(user)) if not key.endswith("/")]

    def all(self, user: str) -> list[dict[str, Any]]:
        """Every record of a user (one read each)."""
        records = []
        for token_id in self.ids(user):
            secret = self.kv.read(pat_path(user, token_id))
            if secret is not None:
                records.append(secret.data)
        return records

    def destroy(self, user: str, token_id: str) -> None:
        """Delete a record with all its versions."""
        self.kv.destroy(pat_path(user, token_id))
