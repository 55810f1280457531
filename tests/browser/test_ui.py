"""The settings UI in a real browser: the flows a new user goes through."""

from __future__ import annotations

import requests
from playwright.sync_api import expect

from tests.browser.session import sign_in, sign_in_with_the_form
from tests.helpers import eventually, unique_id


def test_pat_lifecycle_in_the_browser(page, live, make_user, shot) -> None:
    server = live()
    account = make_user("ui", display_name="Ada Lovelace")
    page.goto(f"{server.url}/settings/personal-access-tokens")
    page.wait_for_url("**/login?next=*")
    shot(page, "01-login")
    page.get_by_label("Username").fill(account.id)
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong username or password."
    sign_in_with_the_form(page, server.url, account)
    assert "No tokens yet" in page.content()
    shot(page, "02-pats-empty")

    page.get_by_label("Name").fill("laptop CLI")
    page.get_by_label("quantum_tokens").check()
    page.get_by_label("Expires").select_option("7")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("New token value").input_value()
    assert token.count(".") == 2
    page.get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == token
    shot(page, "03-pat-created")
    assert "expires soon" in page.content()

    me = requests.get(f"{server.url}/api/v1/user", headers={"X-Auth-Token": token}, timeout=10)
    assert me.status_code == 200 and me.json()["id"] == account.id

    page.goto(f"{server.url}/settings/personal-access-tokens")
    assert token not in page.content()  # shown once only
    page.get_by_role("link", name="Revoke laptop CLI").click()
    shot(page, "04-revoke-confirm")
    page.get_by_role("button", name="Revoke token").click()
    assert "revoked" in page.get_by_role("status").inner_text()
    assert (
        requests.get(
            f"{server.url}/api/v1/user", headers={"X-Auth-Token": token}, timeout=10
        ).status_code
        == 401
    )


def test_create_form_errors_are_shown_next_to_fields(page, live, make_user) -> None:
    server = live()
    account = make_user("uf")
    sign_in(page, server.url, account)
    page.locator("input[name=scopes][value=api]").uncheck()
    page.get_by_role("button", name="Create token").click()
    assert "name is required" in page.content()
    page.get_by_label("Name").fill("x")
    page.get_by_role("button", name="Create token").click()
    assert "Choose at least one scope." in page.content()


def test_provider_tokens_add_replace_remove_never_show_the_secret(
    page, live, make_user, shot
) -> None:
    server = live()
    account = make_user("up")
    sign_in(page, server.url, account)
    page.get_by_role("link", name="Provider Access Tokens").click()
    shot(page, "05-providers")
    secret = "ionqSECRET" + "q" * 30
    card = page.locator("#provider-ionq")
    card.get_by_text("Add IonQ token").click()
    card.get_by_label("API key").fill("too short")
    card.get_by_role("button", name="Save IonQ token").click()
    card = page.locator("#provider-ionq")
    assert "This should not contain spaces: it should be 32-64 letters or digits." in (
        card.inner_text()
    )
    assert "too short" not in page.content()
    card.get_by_label("API key").fill(secret)
    card.get_by_role("button", name="Save IonQ token").click()
    card = page.locator("#provider-ionq")
    assert "configured" in card.inner_text() and "…qqqq" in card.inner_text()
    assert secret not in page.content()
    shot(page, "06-provider-set")
    replacement = "ionqREPLACED" + "r" * 28
    card.get_by_text("Replace IonQ token").click()
    assert card.get_by_label("API key").input_value() == ""  # never rendered into the form
    card.get_by_label("API key").fill(replacement)
    card.get_by_role("button", name="Save IonQ token").click()
    assert "…rrrr" in page.locator("#provider-ionq").inner_text()
    for text in (page.content(),):
        assert secret not in text and replacement not in text
    page.locator("#provider-ionq").get_by_text("Replace IonQ token").click()
    page.locator("#provider-ionq").get_by_role("link", name="Remove").click()
    page.get_by_role("button", name="Remove token").click()
    assert "not configured" in page.locator("#provider-ionq").inner_text()


def test_organization_roles_in_the_browser(new_page, live, make_user, shot) -> None:
    server = live()
    owner, maint, viewer = make_user("uo"), make_user("um"), make_user("uv")
    org = unique_id("uiorg")
    pages = {name: new_page() for name in ("owner", "maint", "viewer")}
    # everyone is signed in first: the sessions see memberships granted after their start
    sign_in(pages["owner"], server.url, owner, to="/organizations")
    sign_in(pages["maint"], server.url, maint, to=None)
    sign_in(pages["viewer"], server.url, viewer, to=None)
    page = pages["owner"]
    shot(page, "07-orgs-empty")
    page.get_by_label("Identifier").fill(org)
    page.get_by_label("Display name").fill("Acme Quantum")
    page.get_by_role("button", name="Create organization").click()
    page.wait_for_url(f"**/organizations/{org}")
    for account, role in ((maint, "maintainer"), (viewer, "viewer")):
        page.get_by_label("Username").fill(account.id)
        page.get_by_label("Role", exact=True).select_option(role)
        page.get_by_role("button", name="Add member").click()
        assert f"{account.id} is now a {role}." in page.get_by_role("status").inner_text()
    shot(page, "08-org-members")

    maint_page = pages["maint"]
    maint_page.goto(f"{server.url}/organizations/{org}/provider-access-tokens")
    card = maint_page.locator("#provider-dwave-leap")
    card.get_by_text("Add D-Wave Leap token").click()
    token = "DEV-" + "ab12" * 10
    card.get_by_label("API token").fill(token)
    card.get_by_role("button", name="Save D-Wave Leap token").click()
    assert "configured" in maint_page.locator("#provider-dwave-leap").inner_text()
    assert token not in maint_page.content()

    viewer_page = pages["viewer"]
    viewer_page.goto(f"{server.url}/organizations/{org}/provider-access-tokens")
    card = viewer_page.locator("#provider-dwave-leap")
    assert "configured" in card.inner_text() and f"by {maint.id}" in card.inner_text()
    assert viewer_page.locator("form[action*='provider-access-tokens/']").count() == 0
    assert viewer_page.get_by_text("Replace D-Wave Leap token").count() == 0
    shot(viewer_page, "09-org-providers-viewer")
    # a forged POST from the viewer's own session, with a valid CSRF token, is still refused
    status = viewer_page.evaluate(
        """async ([url]) => {
            const page = await fetch(location.href); const html = await page.text();
            const csrf = html.match(/name="csrf_token" value="([^"]+)"/)[1];
            const body = new URLSearchParams({csrf_token: csrf, token: 'DEV-' + 'f'.repeat(40)});
            const r = await fetch(url, {method: 'POST', body}); return r.status; }""",
        [f"{server.url}/organizations/{org}/provider-access-tokens/dwave-leap"],
    )
    assert status == 403
    viewer_page.goto(f"{server.url}/organizations/{org}")
    assert viewer_page.get_by_role("button", name="Change").count() == 0
    assert viewer_page.get_by_role("button", name="Add member").count() == 0
    # the account switcher in the header takes the viewer to the organization and back
    viewer_page.goto(f"{server.url}/settings/provider-access-tokens")
    viewer_page.get_by_label("Account", exact=True).select_option(org)
    viewer_page.wait_for_url(f"**/organizations/{org}/provider-access-tokens")
    viewer_page.get_by_label("Account", exact=True).select_option("")
    viewer_page.wait_for_url("**/settings/provider-access-tokens")


def test_csrf_and_sign_out(page, live, make_user) -> None:
    server = live()
    account = make_user("uc")
    sign_in(page, server.url, account)
    status = page.evaluate(
        """async ([url]) => {
            const body = new URLSearchParams({name: 'forged', scopes: 'api', expiry: '30'});
            const r = await fetch(url, {method: 'POST', body}); return r.status; }""",
        [f"{server.url}/settings/personal-access-tokens"],
    )
    assert status == 403
    page.reload()
    assert "forged" not in page.content()
    page.get_by_label("User menu").click()
    page.get_by_role("menuitem", name="Sign out").click()
    page.wait_for_url("**/login")
    page.goto(f"{server.url}/settings/personal-access-tokens")
    page.wait_for_url("**/login?next=*")


def test_error_pages_and_narrow_screens(page, live, make_user, shot) -> None:
    server = live()
    account = make_user("ue")
    response = sign_in(page, server.url, account, to="/organizations/not-mine-at-all")
    assert response.status == 404 and "Not found" in page.content()
    shot(page, "10-error-404")
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{server.url}/settings/personal-access-tokens")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 380, width
    shot(page, "11-narrow")


def test_pages_work_under_a_csp_without_inline_script(page, live, make_user) -> None:
    """The pages' behaviour (expiry picker, select-on-focus, context switcher) comes from the
    static script alone: Chromium enforces the CSP and reports no violation."""
    server = live()
    account = make_user("ucsp")
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    sign_in_with_the_form(page, server.url, account)  # the sign-in page is checked too
    assert page.locator("#custom-date").is_hidden()
    page.get_by_label("Expires").select_option("custom")
    assert page.locator("#custom-date").is_visible()  # toggled by app.js
    page.get_by_label("Expires").select_option("7")
    page.get_by_label("Name").fill("csp check")
    page.get_by_role("button", name="Create token").click()
    field = page.get_by_label("New token value")
    page.get_by_role("button", name="Copy").focus()
    field.focus()
    selected = page.evaluate(
        "() => { const f = document.getElementById('new-token-value');"
        " return f.selectionEnd - f.selectionStart; }"
    )
    assert selected == len(field.input_value())
    # an inline script injected into the page is refused by the browser
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = true'; document.body.appendChild(s); }"
    )
    assert page.evaluate("() => window.injected === undefined")
    assert any("script-src" in text for text in violations), violations
    assert all("script-src" in text for text in violations), violations
    for path in ("/settings/provider-access-tokens", "/organizations", "/logout"):
        violations.clear()
        page.goto(f"{server.url}{path}")
        assert violations == [], (path, violations)


def test_account_switcher_follows_the_page_and_keeps_its_kind(page, live, admin, make_user) -> None:
    server = live()
    account = make_user("usw", display_name="Grace Hopper")
    user = admin.directory.get_user(account.id)
    first, second = unique_id("alpha"), unique_id("beta")
    admin.orgs.create(first, "Alpha Lab", user, actor=account.id)
    admin.orgs.create(second, "Beta Lab", admin.directory.get_user(account.id), actor=account.id)
    # an organization's page, reached by its address: the header and the sidebar say so
    sign_in(page, server.url, account, to=f"/organizations/{first}/provider-access-tokens")
    switcher = page.get_by_label("Account", exact=True)
    sidebar = page.get_by_role("navigation", name="Settings")

    def provider_link() -> str:
        return sidebar.get_by_role("link", name="Provider Access Tokens").get_attribute("href")

    assert switcher.input_value() == first
    assert provider_link() == f"/organizations/{first}/provider-access-tokens"
    assert sidebar.get_by_role("link", name="Members").get_attribute("href") == (
        f"/organizations/{first}"
    )
    # switching keeps the kind of page: provider tokens of the organization -> personal ones
    switcher.select_option("")
    page.wait_for_url("**/settings/provider-access-tokens")
    assert switcher.input_value() == ""
    assert provider_link() == "/settings/provider-access-tokens"
    assert sidebar.get_by_role("link", name="Members").count() == 0
    switcher.select_option(second)
    page.wait_for_url(f"**/organizations/{second}/provider-access-tokens")
    # members of one organization -> members of the other
    page.goto(f"{server.url}/organizations/{first}")
    assert switcher.input_value() == first
    assert sidebar.get_by_role("link", name="Members").get_attribute("aria-current") == "page"
    switcher.select_option(second)
    page.wait_for_url(f"**/organizations/{second}")
    assert page.get_by_role("heading", name="Beta Lab", level=1).count() == 1
    # the personal access tokens page stays itself, in either context
    page.goto(f"{server.url}/settings/personal-access-tokens")
    assert switcher.input_value() == second  # remembered: the sidebar still leads there
    assert provider_link() == f"/organizations/{second}/provider-access-tokens"
    with page.expect_navigation():  # the address is the same before and after
        switcher.select_option("")
    page.wait_for_url("**/settings/personal-access-tokens")
    assert provider_link() == "/settings/provider-access-tokens"


def test_a_sole_owner_sees_why_they_cannot_leave(page, live, admin, make_user) -> None:
    server = live()
    owner, other = make_user("ulv"), make_user("ulw")
    org = unique_id("leave")
    admin.orgs.create(org, "Leave Lab", admin.directory.get_user(owner.id), actor=owner.id)
    admin.orgs.set_member(org, other.id, "viewer", actor=owner.id)
    sign_in(page, server.url, owner, to=f"/organizations/{org}")
    leave = page.get_by_role("button", name="Leave")
    assert leave.is_disabled()
    reason = "You are the only owner: make another member an owner first."
    assert page.locator("#leave-reason").inner_text() == reason
    assert leave.get_attribute("aria-describedby") == "leave-reason"
    # the address of the dialog, typed in, says the same and changes nothing
    page.goto(f"{server.url}/organizations/{org}/members/{owner.id}/remove")
    page.wait_for_url(f"**/organizations/{org}")
    assert reason in page.get_by_role("status").inner_text()
    assert admin.orgs.members(org)[0] == {"user": owner.id, "role": "owner"}

    page.get_by_label(f"Role of {other.id}").select_option("owner")
    page.locator("tr", has_text=other.id).get_by_role("button", name="Change").click()
    page.get_by_role("link", name="Leave").click()
    dialog = page.locator("main").inner_text()
    assert "Leave Leave Lab?" in dialog and "You will no longer see Leave Lab" in dialog
    assert "provider tokens" not in dialog
    page.get_by_role("button", name="Leave").click()
    page.wait_for_url("**/organizations")
    assert "You left Leave Lab." in page.get_by_role("status").inner_text()
    assert {m["user"] for m in admin.orgs.members(org)} == {other.id}


def test_forms_keep_secrets_show_every_error_and_say_the_rules(
    page, live, admin, make_user
) -> None:
    server = live()
    account = make_user("ufm")
    token = "DEV-" + "ab12" * 10
    admin.providers.put(
        "users", account.id, "dwave-leap", {"token": token, "region": "na-west-1"}, account.id
    )
    sign_in(page, server.url, account, to="/settings/provider-access-tokens")
    # only the region changes: the stored token is kept, and the form says it will be
    card = page.locator("#provider-dwave-leap")
    card.get_by_text("Replace D-Wave Leap token").click()
    assert "Leave empty to keep the current value (…ab12)." in card.inner_text()
    card.get_by_label("Region").fill("eu-central-1")
    card.get_by_role("button", name="Save D-Wave Leap token").click()
    assert "D-Wave Leap token saved." in page.get_by_role("status").inner_text()
    assert "eu-central-1" in page.locator("#provider-dwave-leap").inner_text()
    assert admin.providers.read_credential("users", account.id, "dwave-leap") == {
        "token": token,
        "region": "eu-central-1",
    }
    # three bad fields: three errors, each next to its field; the page lands on the form
    card = page.locator("#provider-aws-braket")
    card.get_by_text("Add Amazon Braket token").click()
    card.get_by_label("Access key ID").fill("not a key")
    card.get_by_label("Region").fill("Mars")
    card.get_by_role("button", name="Save Amazon Braket token").click()
    card = page.locator("#provider-aws-braket")
    expect(page.locator("#aws-braket-access_key_id")).to_be_focused()  # autofocus
    assert card.get_by_label("Access key ID").evaluate(  # scrolled to: the page lands on it
        "e => e.getBoundingClientRect().top >= 0 && e.getBoundingClientRect().bottom <= innerHeight"
    )
    for field, text in (
        ("access_key_id", "This should not contain spaces: it should start with AKIA or ASIA"),
        ("secret_access_key", "This field is required."),
        ("region", "This should be an AWS region such as us-east-1 or eu-west-2."),
    ):
        error = card.locator(f"#aws-braket-{field}-error")
        assert text in error.inner_text(), field
        assert card.locator(f"#aws-braket-{field}").get_attribute("aria-invalid") == "true"
    assert card.get_by_label("Region").input_value() == "Mars"  # plain fields come back
    # the organization form: both fields at fault, both said
    page.goto(f"{server.url}/organizations")
    page.get_by_label("Identifier").fill("Acme Quantum")
    page.get_by_label("Display name").evaluate("e => e.removeAttribute('maxlength')")
    page.get_by_label("Display name").fill("x" * 101)
    page.get_by_role("button", name="Create organization").click()
    expect(page.locator("#org-id")).to_be_focused()  # autofocus
    text = page.locator("#create-org").inner_text()
    assert "lower case letters, digits and inner hyphens" in text
    assert "display_name must be 1-100 characters" in text
    # a username with capitals: the rule, and the lower-cased name offered
    org = unique_id("forms")
    admin.orgs.create(org, "Forms Lab", admin.directory.get_user(account.id), actor=account.id)
    grace = make_user("grace")
    # the server's replica sees the new membership once its account cache turns over
    eventually(lambda: page.goto(f"{server.url}/organizations/{org}").status == 200)
    page.get_by_label("Username").fill(grace.id.upper())
    page.get_by_role("button", name="Add member").click()
    expect(page.locator("#new-member")).to_be_focused()  # autofocus
    assert (
        f"Usernames are lower case letters, digits and hyphens: did you mean {grace.id}?"
        in page.locator("#add-member").inner_text()
    )
    page.get_by_label("Username").fill(grace.id)
    page.get_by_label("Role", exact=True).select_option("owner")
    page.get_by_role("button", name="Add member").click()
    assert f"{grace.id} is now an owner." in page.get_by_role("status").inner_text()
