"""What the bundled runner accepts as a provider endpoint from a credential, and what it takes
from a provider's answer: hostile values of every kind are refused."""

from __future__ import annotations

import pytest

from vault_bridge.providers.catalog import load_catalog
from vault_bridge.runtime.adapters import ProviderError, endpoint_base, parse_histogram

AZURE = load_catalog().providers["azure-quantum"].api_hosts


def test_the_catalog_allows_azure_quantum_workspaces_only() -> None:
    assert AZURE == ("*.quantum.azure.com",)


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("https://westeurope.quantum.azure.com/", "https://westeurope.quantum.azure.com"),
        ("https://eastus.quantum.azure.com", "https://eastus.quantum.azure.com"),
        ("https://EastUS.Quantum.Azure.com:443/", "https://eastus.quantum.azure.com"),
    ],
)
def test_workspace_endpoints_are_accepted(url: str, base: str) -> None:
    assert endpoint_base(url, AZURE) == base


@pytest.mark.parametrize(
    "url",
    [
        "",
        "https://evil.example/",
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://2130706433/",
        "https://169.254.169.254/latest/meta-data/",
        "https://localhost/",
        "http://westeurope.quantum.azure.com/",
        "ftp://westeurope.quantum.azure.com/",
        "//westeurope.quantum.azure.com/",
        "westeurope.quantum.azure.com",
        "https://westeurope.quantum.azure.com@127.0.0.1/",
        "https://user:pw@westeurope.quantum.azure.com/",
        "https://westeurope.quantum.azure.com/?",
        "https://127.0.0.1:8200/v1/sys/health?.quantum.azure.com",
        "https://127.0.0.1:8200/v1/sys/health#.quantum.azure.com",
        "https://westeurope.quantum.azure.com/#x",
        "https://westeurope.quantum.azure.com/v0.3/other",
        "https://westeurope.quantum.azure.com/..",
        "https://westeurope.quantum.azure.com:8443/",
        "https://westeurope.quantum.azure.com:0/",
        "https://westeurope.quantum.azure.com:99999/",
        "https://quantum.azure.com/",
        "https://a.b.quantum.azure.com/",
        "https://evilquantum.azure.com/",
        "https://quantum.azure.com.evil.example/",
        "https://westeurope.quantum.azure.com./",
        "https://westeurope.quantum.azure.com\\@evil.example/",
        "https://westeurope.quantum.azure.com%2f@evil.example/",
        "https://west europe.quantum.azure.com/",
        "https://westeurope.quantum.azure.com/\r\nHost: evil",
        "https://-x.quantum.azure.com/",
        "https://wëst.quantum.azure.com/",
        "https://" + "a" * 64 + ".quantum.azure.com/",
    ],
)
def test_hostile_endpoints_are_refused(url: str) -> None:
    with pytest.raises(ProviderError) as refused:
        endpoint_base(url, AZURE)
    assert refused.value.code == "provider_endpoint"
    assert url not in refused.value.message or not url


@pytest.mark.parametrize(
    "answer",
    [
        None,
        [],
        "text",
        {},
        {"0": "0.5"},
        {"0": True},
        {"0": -1},
        {"0": float("nan")},
        {"0": float("inf")},
        {"secret": 1},
        {"0": {"nested": 1}},
        {str(n): 1 for n in range(5000)},
    ],
)
def test_only_a_histogram_of_numbers_is_taken_from_an_answer(answer: object) -> None:
    with pytest.raises(ProviderError):
        parse_histogram(answer)


def test_a_histogram_is_copied_as_numbers() -> None:
    assert parse_histogram({"0": 0.5, "3": 1}) == {"0": 0.5, "3": 1.0}
