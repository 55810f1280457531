"""The job runner's side: redeem a grant at vault-bridge, unwrap the credential at Vault itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from vault_bridge.errors import VaultBridgeError
from vault_bridge.providers.catalog import Catalog
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.wrapping import unwrap

__all__ = ["Credential", "RunnerClient", "RunnerError", "credential_from", "unwrap"]


class RunnerError(VaultBridgeError):
    """vault-bridge or Vault refused to hand out the credential."""

    status = 502
    code = "runner_error"


@dataclass(frozen=True)
class Credential:
    """A provider credential for one job (secret: never log or print its repr)."""

    provider: str
    source: str
    job_id: str
    fields: dict[str, str] = field(repr=False)

    def environment(self, catalog: Catalog) -> dict[str, str]:
        """The environment variables the provider's own SDK reads (from the catalog)."""
        provider = catalog.providers[self.provider]
        return {
            f.env: self.fields[f.name] for f in provider.fields if f.env and f.name in self.fields
        }


def credential_from(redeemed: Mapping[str, Any], unwrapped: Mapping[str, Any]) -> Credential:
    """Build the credential from a redeem answer and the unwrapped KV read."""
    fields = unwrapped.get("data")
    if not isinstance(fields, dict):
        raise RunnerError("the unwrapped response holds no credential")
    return Credential(
        provider=redeemed["provider"],
        source=redeemed["source"],
        job_id=redeemed.get("job_id", ""),
        fields={str(k): str(v) for k, v in fields.items()},
    )


class RunnerClient:
    """Redeems grants over HTTP with the runner's Vault token, then unwraps at Vault."""

    def __init__(self, bridge_url: str, vault: VaultClient, timeout: float = 10.0) -> None:
        self.bridge_url = bridge_url.rstrip("/")
        self.vault = vault
        self.timeout = timeout
        self._http = requests.Session()
        self._http.trust_env = False

    def __repr__(self) -> str:
        return f"RunnerClient(bridge_url={self.bridge_url!r})"

    def redeem(self, grant: str) -> Credential:
        """Exchange a grant for its credential, once."""
        try:
            response = self._http.post(
                f"{self.bridge_url}/api/v1/runtime/grants/redeem",
                json={"grant": grant},
                headers={"X-Vault-Token": self.vault.token},
                timeout=self.timeout,
            )
        except requests.RequestException:
            raise RunnerError(f"vault-bridge at {self.bridge_url} is unreachable") from None
        if response.status_code != 200:
            try:
                error = response.json()["error"]
                message = f"{error['message']} ({error['code']})"
            except (ValueError, KeyError, TypeError):
                message = f"HTTP {response.status_code}"
            raise RunnerError(f"redeem refused: {message}", status=response.status_code)
        redeemed = response.json()
        return credential_from(redeemed, unwrap(self.vault, redeemed["wrap_token"]))
