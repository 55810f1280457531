"""Signing a browser page in: through the form, or through the form's own POST without drawing it.

Most browser tests are about the pages behind the sign-in, not the sign-in page: they send the
form's POST from the page's own browser context (its cookies are the page's, so the session
cookie lands where the page reads it) and open the first page, which costs one page load instead
of three. The sign-in page itself is still driven through its form by the tests about it.
"""

from __future__ import annotations

import re
from typing import Any

from tests.helpers import Account

HOME = "/settings/personal-access-tokens"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in_with_the_form(page: Any, base: str, account: Account) -> None:
    """Open the sign-in page, fill in its form and land on the personal access tokens page."""
    page.goto(f"{base}/login")
    fill_in_the_sign_in_form(page, account)


def fill_in_the_sign_in_form(page: Any, account: Account) -> None:
    """On the sign-in page: fill in the form, send it, land on the personal access tokens page."""
    page.get_by_label("Username").fill(account.id)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{HOME}")


def sign_in(page: Any, base: str, account: Account, to: str | None = HOME) -> Any:
    """Send the sign-in form from the page's context, then open ``to`` (a path) in the page;
    the answer to that page's request (with ``to=None`` the page opens nothing yet)."""
    request = page.context.request
    form = request.get(f"{base}/login")
    match = CSRF_FIELD.search(form.text())
    assert form.ok and match, form.status
    answer = request.post(
        f"{base}/login",
        form={"csrf_token": match[1], "username": account.id, "password": account.password},
        max_redirects=0,
    )
    assert answer.status == 302 and answer.headers["location"].endswith(HOME), answer.status
    if to is None:
        return None
    response = page.goto(f"{base}{to}")
    assert page.url == f"{base}{to}", page.url  # signed in: not sent back to the form
    return response
