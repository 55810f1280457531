"""The settings UI in a real browser: the flows a new user goes through."""

from __future__ import annotations

import requests

from tests.helpers import Account, unique_id


def sign_in(page, base: str, account: Account) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(account.id)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/settings/personal-access-tokens")


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
    sign_in(page, server.url, account)
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
    page.get_by_role("link", name="Revoke").click()
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


def test_organization_roles_in_the_browser(browser, live, make_user, shot) -> None:
    server = live()
    owner, maint, viewer = make_user("uo"), make_user("um"), make_user("uv")
    org = unique_id("uiorg")
    pages = {}
    for name, account in (("owner", owner), ("maint", maint), ("viewer", viewer)):
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        pages[name] = context.new_page()
        sign_in(pages[name], server.url, account)
    page = pages["owner"]
    page.goto(f"{server.url}/organizations")
    shot(page, "07-orgs-empty")
    page.get_by_label("Identifier").fill(org)
    page.get_by_label("Display name").fill("Acme Quantum")
    page.get_by_role("button", name="Create organization").click()
    page.wait_for_url(f"**/organizations/{org}")
    for account, role in ((maint, "maintainer"), (viewer, "viewer")):
        page.get_by_label("Username").fill(account.id)
        page.get_by_label("Role", exact=True).select_option(role)
        page.get_by_role("button", name="Add member").click()
        assert f"{account.id} is now {role}" in page.get_by_role("status").inner_text()
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
    viewer_page.get_by_label("Account").select_option(org)
    viewer_page.wait_for_url(f"**/organizations/{org}/provider-access-tokens")
    viewer_page.get_by_label("Account").select_option("")
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
    sign_in(page, server.url, account)
    response = page.goto(f"{server.url}/organizations/not-mine-at-all")
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
    sign_in(page, server.url, account)
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
