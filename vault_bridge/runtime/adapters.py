"""Provider adapters: call a quantum provider with a credential delivered for one job.

Each adapter's base URL comes from VAULT_BRIDGE_PROVIDER_URLS (by catalog provider id) or from
the credential itself (Azure Quantum's connection string names its QuantumEndpoint).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from vault_bridge.errors import VaultBridgeError


class ProviderError(VaultBridgeError):
    """The provider refused or failed the job (no credential in the message)."""

    status = 502
    code = "provider_error"


def parse_connection_string(text: str) -> dict[str, str]:
    """Azure Quantum's ``Key=Value;...`` connection string as a dict."""
    parts = {}
    for item in text.split(";"):
        key, sep, value = item.partition("=")
        if sep:
            parts[key.strip()] = value.strip()
    return parts


class AzureIonqAdapter:
    """IonQ's simulator through an Azure Quantum workspace (IonQ REST job format)."""

    credential = "azure-quantum"

    def __init__(self, base_url: str | None, timeout: float = 30.0) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self._http = requests.Session()
        self._http.trust_env = False

    def run(self, fields: dict[str, str], job: Mapping[str, Any]) -> dict[str, Any]:
        """Submit and wait; return the IonQ-style result ``{"histogram": {...}}``."""
        parts = parse_connection_string(fields["connection_string"])
        base = (self.base_url or parts.get("QuantumEndpoint", "")).rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ProviderError("the Azure Quantum workspace has no usable QuantumEndpoint")
        headers = {"x-ms-quantum-api-key": parts.get("ApiKey", "")}
        body = {
            "target": "ionq.simulator",
            "shots": job["shots"],
            "input": {"format": "ionq.circuit.v0", **job["input"]},
            "name": job.get("name") or job["id"],
        }
        try:
            submitted = self._http.post(
                f"{base}/v0.3/jobs", json=body, headers=headers, timeout=self.timeout
            )
            if submitted.status_code in (401, 403):
                raise ProviderError(
                    "the provider rejected the stored credential", code="provider_auth"
                )
            submitted.raise_for_status()
            provider_job = submitted.json()["id"]
            result = self._http.get(
                f"{base}/v0.3/jobs/{provider_job}/results", headers=headers, timeout=self.timeout
            )
            result.raise_for_status()
            histogram = result.json()
        except requests.RequestException as exc:
            raise ProviderError(f"the provider call failed ({type(exc).__name__})") from None
        if not isinstance(histogram, dict):
            raise ProviderError("the provider answered with an unexpected result")
        return {"histogram": histogram, "provider_job_id": provider_job}


ADAPTERS = {"azure-ionq": AzureIonqAdapter}
