"""Sessions a test module shares among its tests: one sign-in per account and module.

Module-scoped fixtures build on these where the tests only send what is refused, only read, or
each write only their own thing that no other test reads; each module says which of its tests
share and why.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import Flask

from tests.conftest import accounts
from tests.helpers import Account, Api
from vault_bridge.services import Services


def signed_in(app: Flask, account: Account) -> Api:
    """A new client of ``app`` with a session of ``account``."""
    api = Api(app.test_client())
    api.login(account)
    return api


@contextlib.contextmanager
def new_account_session(
    app: Flask, admin: Services, password_hash: str, prefix: str = "u"
) -> Iterator[tuple[Api, Account]]:
    """A new account signed in on ``app``; the account is gone again on leaving."""
    with accounts(admin, password_hash) as build:
        account = build(prefix)
        yield signed_in(app, account), account
