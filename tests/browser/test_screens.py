"""Every page of the settings UI at a desktop and a phone width, with realistic data.

Each page is saved as a screenshot under test-artifacts/screens/ (``<page>-<width>.png``) for a
person to look at, and each must fit its width: nothing may scroll sideways.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.session import fill_in_the_sign_in_form
from tests.conftest import accounts
from tests.helpers import Account, LiveServer, unique_id

WIDTHS = (1280, 375)
SCREENS = ARTIFACTS / "screens"


@dataclass
class Scene:
    """A signed-in owner with tokens, provider tokens and an organization with members."""

    url: str
    owner: Account
    member: Account
    org: str


@pytest.fixture(scope="module")
def scene(admin, password_hash, module_app) -> Iterator[Scene]:
    """Built once for both widths: the test only looks (each form it sends is refused)."""
    with accounts(admin, password_hash) as make_user:
        server = LiveServer(module_app)
        try:
            yield build_scene(admin, make_user, server.url)
        finally:
            server.stop()


def build_scene(admin: Any, make_user: Callable[..., Account], url: str) -> Scene:
    """Accounts, tokens, provider tokens and an organization with members, through the service."""
    owner = make_user("screens", display_name="Maximiliane Oberhauser-Wittgenstein")
    member = make_user("collaborator-long-name", display_name="Grace Hopper")
    viewer = make_user("viewer", display_name="Ada Lovelace")
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).date().isoformat()
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=300)).date().isoformat()
    for name, scopes, expires, description in (
        (
            "laptop CLI for the quantum-chemistry project",
            ["api", "quantum_tokens"],
            later,
            "Used by the nightly benchmark runs on the shared workstation in room 4.17.",
        ),
        ("ci", ["api"], soon, None),
        ("notebook-jupyterhub-experiments-2026", ["api", "quantum_tokens"], later, None),
    ):
        admin.tokens.issue(owner.id, name, scopes, expires, description=description)
    admin.providers.put(
        "users",
        owner.id,
        "ibm-quantum",
        {"token": "Q" * 44, "instance": "ibm-q-research/quantum-chemistry/default-project"},
        owner.id,
    )
    admin.providers.put(
        "users",
        owner.id,
        "dwave-leap",
        {"token": "DEV-" + "ab12" * 10, "region": "eu-central-1"},
        owner.id,
    )
    org = unique_id("quantum-chemistry-research")
    admin.orgs.create(
        org,
        "Quantum Chemistry Research Group, Faculty of Physics",
        admin.directory.get_user(owner.id),
        actor=owner.id,
    )
    admin.orgs.set_member(org, member.id, "maintainer", actor=owner.id)
    admin.orgs.set_member(org, viewer.id, "viewer", actor=owner.id)
    admin.providers.put(
        "orgs",
        org,
        "aws-braket",
        {"access_key_id": "AKIA" + "X" * 16, "secret_access_key": "s" * 40, "region": "eu-west-2"},
        member.id,
    )
    return Scene(url, owner, member, org)


@pytest.fixture(params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def phone_or_desktop(request, browser) -> Iterator[tuple[Any, int]]:
    width = request.param
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    failed: list[str] = []
    page.on(
        "response",
        lambda r: (
            failed.append(r.url)
            if r.status >= 400 and r.request.resource_type != "document"
            else None
        ),
    )
    yield page, width
    context.close()
    assert failed == [], failed  # no missing stylesheet, script or icon on any page


def look(page: Any, name: str, width: int) -> None:
    """Save the page as a screenshot; it must not scroll sideways."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}-{width}.png"), full_page=True)
    scroll = page.evaluate("document.scrollingElement.scrollWidth")
    assert scroll <= width, f"{name} scrolls sideways at {width} px: {scroll} px wide"
    header = page.evaluate("document.querySelector('.topbar').offsetHeight")
    assert header <= 60, f"{name}: the header takes {header} px, more than one row"


def test_every_page_fits_and_is_captured(scene: Scene, phone_or_desktop) -> None:
    page, width = phone_or_desktop
    base, org = scene.url, scene.org
    page.goto(f"{base}/login")
    look(page, "login", width)
    fill_in_the_sign_in_form(page, scene.owner)
    look(page, "pats", width)

    page.locator("input[name=scopes][value=api]").uncheck()
    page.get_by_label("Expires").select_option("custom")
    day = dt.date.today() + dt.timedelta(days=40)
    page.locator("#expires_on").fill(day.isoformat())
    words = f"{day.day} {day:%b %Y}"
    assert page.locator("#expires-on-words").inner_text() == words  # the day, as pages write it
    page.get_by_role("button", name="Create token").click()
    assert page.locator("#expires-on-words").inner_text() == words  # also when sent back
    look(page, "pats-form-errors", width)

    page.goto(f"{base}/settings/provider-access-tokens")
    look(page, "providers", width)
    card = page.locator("#provider-aws-braket")
    card.get_by_text("Add Amazon Braket token").click()
    card.get_by_label("Access key ID").fill("not a key")
    card.get_by_label("Region").fill("Mars")
    card.get_by_role("button", name="Save Amazon Braket token").click()
    look(page, "providers-form-errors", width)
    page.goto(f"{base}/settings/provider-access-tokens/ibm-quantum/remove")
    look(page, "providers-remove-confirm", width)

    page.goto(f"{base}/organizations")
    look(page, "organizations", width)
    page.get_by_label("Identifier").fill("Not An Id")
    page.get_by_role("button", name="Create organization").click()
    look(page, "organizations-form-errors", width)

    page.goto(f"{base}/organizations/{org}")
    look(page, "organization-members", width)
    page.get_by_label("Username").fill("Grace")
    page.get_by_role("button", name="Add member").click()
    look(page, "organization-members-form-errors", width)
    page.goto(f"{base}/organizations/{org}/members/{scene.member.id}/remove")
    look(page, "organization-remove-member-confirm", width)

    page.goto(f"{base}/organizations/{org}/provider-access-tokens")
    look(page, "organization-providers", width)
    page.locator("#provider-aws-braket").get_by_text("Replace Amazon Braket token").click()
    look(page, "organization-providers-replace", width)

    page.goto(f"{base}/organizations/not-a-member-here")
    look(page, "error-404", width)
    page.goto(f"{base}/logout")
    look(page, "logout", width)
