"""Vault's answers become domain errors at the boundary: the texts Vault really sends."""

from __future__ import annotations

import hvac.exceptions
import pytest

from vault_bridge.errors import ServiceUnavailable
from vault_bridge.vault.client import CasConflict, VaultClient, VaultInvalidRequest


def refused_with(text: str) -> object:
    def operation(vault: object) -> None:
        raise hvac.exceptions.InvalidRequest(text, errors=[text], method="POST", url="/v1/kv")

    return operation


@pytest.mark.parametrize(
    "text",
    [
        # OpenBao 2.7, a KV v2 mount written right after it was enabled
        "Upgrading from non-versioned to versioned data. This backend will be unavailable for a "
        "brief period and will resume service shortly.",
        # a standby during the same upgrade
        "cannot write to a mount during upgrade from non-versioned to versioned data",
    ],
)
def test_a_kv_mount_upgrading_its_storage_is_retryable(text: str) -> None:
    client = VaultClient("http://127.0.0.1:1", token="t")
    with pytest.raises(ServiceUnavailable):
        client.call(refused_with(text))


def test_check_and_set_and_other_refusals_keep_their_own_errors() -> None:
    client = VaultClient("http://127.0.0.1:1", token="t")
    with pytest.raises(CasConflict):
        client.call(refused_with("check-and-set parameter did not match the current version"))
    with pytest.raises(VaultInvalidRequest):
        client.call(refused_with("missing client token"))
