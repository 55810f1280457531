"""Sessions the integration tests of a module share: one sign-in per account and module.

They build on ``module_app`` and ``module_user``: only for tests that send what is refused, only
read, or each write only their own thing that no other test reads. Each module says which of
its tests share and why.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.conftest import accounts
from tests.helpers import Account, Api
from vault_bridge.services import Services


@pytest.fixture(scope="module")
def module_api(module_app: Flask, module_user: Account) -> Api:
    """A session of the module's account on the module's app, signed in once."""
    api = Api(module_app.test_client())
    api.login(module_user)
    return api


@pytest.fixture(scope="module")
def module_writer(
    module_app: Flask, admin: Services, password_hash: str
) -> Iterator[tuple[Api, Account]]:
    """A second account of the module, signed in once, for writes that no other test reads
    (so that ``module_user`` can stay without any)."""
    with accounts(admin, password_hash) as build:
        account = build()
        api = Api(module_app.test_client())
        api.login(account)
        yield api, account


@pytest.fixture
def module_app_api(module_app: Flask) -> Api:
    """A new client of the module's app, not signed in: for a test's own accounts."""
    return Api(module_app.test_client())
