"""Provider adapters: call a quantum provider with a credential delivered for one job.

Each adapter's base URL comes from VAULT_BRIDGE_PROVIDER_URLS (by catalog provider id, set by
the operator) or from the credential itself (Azure Quantum's connection string names its
QuantumEndpoint). A URL from a credential is user input: it must be https on port 443 to a host
the catalog allows (``api_hosts``), with no user, path, query or fragment. No redirect is
followed, answers are read up to a size bound, and only the parsed fields of an answer (a job id,
a histogram of numbers) ever reach a job's result, never the provider's body itself.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests

from vault_bridge.errors import VaultBridgeError

MAX_ANSWER = 1 << 20  # bytes read from a provider's answer
MAX_OUTCOMES = 4096  # entries of a histogram
HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
URL_TEXT = re.compile(r"[A-Za-z0-9.:/-]{1,300}")  # nothing that could hide another part
PROVIDER_JOB_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
OUTCOME = re.compile(r"[0-9]{1,40}")


class ProviderError(VaultBridgeError):
    """The provider refused or failed the job (no credential in the message)."""

    status = 502
    code = "provider_error"


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """True when ``host`` is one of ``allowed``, where ``*.`` stands for exactly one label."""
    for entry in allowed:
        if entry.startswith("*."):
            label, dot, rest = host.partition(".")
            if dot and rest == entry[2:] and HOST_LABEL.fullmatch(label):
                return True
        elif host == entry:
            return True
    return False


def endpoint_base(url: str, allowed: Sequence[str]) -> str:
    """``https://<host>`` for a provider endpoint named by a credential; 502
    ``provider_endpoint`` unless it is https, port 443, to an allowed host, with nothing else."""
    refused = ProviderError(
        "the credential's endpoint is not an allowed provider address (https, one of the "
        "provider's hosts, no user, path, query or fragment)",
        code="provider_endpoint",
    )
    if not URL_TEXT.fullmatch(url):
        raise refused  # '@', '?', '#', '%', '\\', spaces and anything else that is not needed
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise refused from None
    host = parts.hostname or ""
    if (
        parts.scheme != "https"
        or parts.username is not None
        or parts.password is not None
        or parts.query
        or parts.fragment
        or parts.path not in ("", "/")
        or port not in (None, 443)
        or parts.netloc.lower() not in (host, f"{host}:443")
        or not host_allowed(host, allowed)
    ):
        raise refused
    return f"https://{host}"


def parse_connection_string(text: str) -> dict[str, str]:
    """Azure Quantum's ``Key=Value;...`` connection string as a dict."""
    parts = {}
    for item in text.split(";"):
        key, sep, value = item.partition("=")
        if sep:
            parts[key.strip()] = value.strip()
    return parts


def read_json(response: requests.Response) -> Any:
    """A provider's JSON answer, read up to MAX_ANSWER bytes; ProviderError otherwise."""
    try:
        body = response.raw.read(MAX_ANSWER + 1, decode_content=True)
    except requests.RequestException as exc:
        raise ProviderError(f"the provider call failed ({type(exc).__name__})") from None
    finally:
        response.close()
    if len(body) > MAX_ANSWER:
        raise ProviderError("the provider's answer is too large")
    try:
        return json.loads(body)
    except ValueError:
        raise ProviderError("the provider answered with something that is not JSON") from None


def parse_histogram(value: object) -> dict[str, float]:
    """Outcome -> probability or count, as numbers; ProviderError for anything else."""
    unexpected = ProviderError("the provider answered with an unexpected result")
    if not isinstance(value, dict) or not 0 < len(value) <= MAX_OUTCOMES:
        raise unexpected
    histogram: dict[str, float] = {}
    for outcome, weight in value.items():
        if (
            not isinstance(outcome, str)
            or not OUTCOME.fullmatch(outcome)
            or isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not math.isfinite(weight)
            or weight < 0
        ):
            raise unexpected
        histogram[outcome] = float(weight)
    return histogram


class AzureIonqAdapter:
    """IonQ's simulator through an Azure Quantum workspace (IonQ REST job format)."""

    credential = "azure-quantum"

    def __init__(
        self, base_url: str | None, allowed_hosts: Sequence[str] = (), timeout: float = 30.0
    ) -> None:
        self.base_url = base_url  # the operator's (VAULT_BRIDGE_PROVIDER_URLS): trusted
        self.allowed_hosts = tuple(allowed_hosts)
        self.timeout = timeout
        self._http = requests.Session()
        self._http.trust_env = False
        self._http.max_redirects = 0

    def run(self, fields: dict[str, str], job: Mapping[str, Any]) -> dict[str, Any]:
        """Submit and wait; return the IonQ-style result ``{"histogram": {...}}``."""
        parts = parse_connection_string(fields["connection_string"])
        if self.base_url:
            base = self.base_url.rstrip("/")
        else:
            base = endpoint_base(parts.get("QuantumEndpoint", ""), self.allowed_hosts)
        headers = {"x-ms-quantum-api-key": parts.get("ApiKey", "")}
        body = {
            "target": "ionq.simulator",
            "shots": job["shots"],
            "input": {"format": "ionq.circuit.v0", **job["input"]},
            "name": job.get("name") or job["id"],
        }
        submitted = self._call("POST", f"{base}/v0.3/jobs", headers, body)
        answer = read_json(submitted)
        provider_job = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(provider_job, str) or not PROVIDER_JOB_ID.fullmatch(provider_job):
            raise ProviderError("the provider answered without a usable job id")
        result = self._call("GET", f"{base}/v0.3/jobs/{provider_job}/results", headers)
        histogram = parse_histogram(read_json(result))
        return {"histogram": histogram, "provider_job_id": provider_job}

    def _call(
        self, method: str, url: str, headers: dict[str, str], body: Any = None
    ) -> requests.Response:
        """One request: no redirect followed, an error status is a ProviderError."""
        try:
            response = self._http.request(
                method,
                url,
                json=body,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.RequestException as exc:
            raise ProviderError(f"the provider call failed ({type(exc).__name__})") from None
        if response.status_code in (401, 403):
            response.close()
            raise ProviderError("the provider rejected the stored credential", code="provider_auth")
        if not 200 <= response.status_code < 300:
            response.close()  # a redirect is not followed, a body is not relayed
            raise ProviderError(f"the provider answered with status {response.status_code}")
        return response


ADAPTERS = {"azure-ionq": AzureIonqAdapter}
