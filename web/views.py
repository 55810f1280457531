"""The pages of the settings UI."""

from __future__ import annotations

import logging
from typing import Any, Literal
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from vault_bridge.auth.session import end_session, start_session
from vault_bridge.directory.orgs import ROLES, check_display_name, with_article
from vault_bridge.errors import (
    BadRequest,
    Conflict,
    NotFound,
    TooManyRequests,
    Unauthenticated,
    VaultBridgeError,
    error_headers,
)
from vault_bridge.ids import (
    is_account_id,
    strip_surrounding,
    suggest_account_id,
)
from vault_bridge.providers.catalog import Provider

from . import WebUser, bp, go, login_required, render_error, services, set_context

log = logging.getLogger(__name__)
OwnerKind = Literal["users", "orgs"]  # whose provider tokens a page shows


@bp.errorhandler(Exception)
def web_error(exc: Exception) -> Any:
    """Every error of a page renders as a page."""
    if not isinstance(exc, (VaultBridgeError, HTTPException)):
        # the type and where, not the text: exception texts may quote input
        log.error(
            "page %s failed: %s",
            request.endpoint,
            type(exc).__name__,
            exc_info=current_app.debug or current_app.testing,
        )
    page, status = render_error(exc)
    return page, status, error_headers(exc) if isinstance(exc, VaultBridgeError) else {}


def safe_next(target: str | None) -> str:
    """Only local paths are followed after sign-in."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("web.personal_access_tokens")


# -- sign in and out ---------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form; the password is checked by Vault."""
    next_url = request.args.get("next")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(next_url))
    if request.method == "GET":
        return render_template("login.html", next=next_url, username="", error=None)
    username = request.form.get("username", "").strip()
    try:
        user = services().accounts.sign_in(
            username, request.form.get("password", ""), request.remote_addr
        )
    except (Unauthenticated, TooManyRequests) as exc:
        message = "Wrong username or password." if isinstance(exc, Unauthenticated) else exc.message
        page = render_template("login.html", next=next_url, username=username, error=message)
        return page, exc.status, error_headers(exc)
    start_session(user, services().sessions, request.remote_addr)
    login_user(WebUser(user))
    flash(f"Welcome, {user.display_name}.", "success")
    return redirect(safe_next(next_url))


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Any:
    """GET asks, POST signs out."""
    if request.method == "GET":
        if not current_user.is_authenticated:
            return go("web.login")
        return render_template("logout.html")
    logout_user()
    end_session(services().sessions)
    flash("You are signed out.", "info")
    return go("web.login")


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The icon browsers ask for on their own, whatever the page links."""
    with bp.open_resource("static/favicon.svg") as icon:  # a few hundred bytes, no file left open
        response = Response(icon.read(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/")
def home() -> Response:
    """Start at the settings."""
    return go("web.personal_access_tokens")


# the page of the same kind in another account context: (personal, an organization's)
SWITCH_TARGETS = {
    "pats": ("web.personal_access_tokens", "web.personal_access_tokens"),
    "providers": ("web.provider_access_tokens", "web.org_provider_tokens"),
    "members": ("web.organizations", "web.organization"),
    "orgs": ("web.organizations", "web.organizations"),
}


@bp.post("/context")
@login_required
def switch_context() -> Response:
    """Switch the account context (personal or an organization), staying on the same kind of
    page: an organization's provider tokens become the personal ones, and back."""
    org = request.form.get("context") or None
    personal, organizational = SWITCH_TARGETS.get(
        request.form.get("page", ""), SWITCH_TARGETS["providers"]
    )
    if org is None:
        set_context(None)
        return go(personal)
    if org not in current_user.user.memberships:
        abort(404)
    set_context(org)
    if organizational in {"web.org_provider_tokens", "web.organization"}:
        return go(organizational, org=org)
    return go(organizational)


# -- provider access tokens --------------------------------------------------------------------


def _provider_link(endpoint: str, provider: str, kind: OwnerKind, owner: str) -> str:
    if kind == "orgs":
        return url_for(endpoint, provider=provider, org=owner)
    return url_for(endpoint, provider=provider)


def _provider_items(
    kind: OwnerKind,
    owner: str,
    action: str,
    remove: str,
    failed: tuple[str, dict[str, str], dict[str, str]] | None = None,
) -> list[dict[str, Any]]:
    svc = services()
    states = {s["provider"]: s for s in svc.providers.list(kind, owner)}
    items = []
    for provider in svc.catalog.providers.values():
        state = states.get(provider.id)
        values = {
            name: str(field["value"])
            for name, field in (state["fields"] if state else {}).items()
            if not field["secret"] and field.get("value")
        }
        errors: dict[str, str] = {}
        if failed and failed[0] == provider.id:
            errors, values = failed[1], {**values, **failed[2]}
        items.append(
            {
                "provider": provider,
                "state": state,
                "shown": values,
                "errors": errors,
                "action": _provider_link(action, provider.id, kind, owner),
                "remove": _provider_link(remove, provider.id, kind, owner),
            }
        )
    return items


def _form_fields(provider_id: str) -> tuple[dict[str, str], dict[str, str]]:
    """The submitted fields of a provider (all of them, for validation) and the non-secret ones
    (to show again after an error; secrets are never rendered back)."""
    provider = services().catalog.get(provider_id)
    # Values go to the store as typed: the catalog strips surrounding whitespace, the same rule
    # for the API, the CLI and this form; a field left empty (or blank) is left out.
    body = {f.name: request.form.get(f.name, "") for f in provider.fields}
    shown = {f.name: strip_surrounding(body[f.name]) for f in provider.fields if not f.secret}
    return {k: v for k, v in body.items() if strip_surrounding(v)}, shown


def _field_message(provider: Provider, exc: BadRequest) -> str:
    """A provider field's refusal, worded for the form it appears next to ("This should ...")."""
    if exc.code == "missing_field":
        return "This field is required."
    field = provider.field(exc.field or "")
    named = f"{provider.label} {field.label} " if field else ""
    if exc.code == "invalid_field" and named and exc.message.startswith(named):
        return "This " + exc.message.removeprefix(named) + "."
    return exc.message


def _save_provider(kind: OwnerKind, owner: str, provider_id: str, page: Any) -> Any:
    body, shown = _form_fields(provider_id)
    try:
        services().providers.put(
            kind, owner, provider_id, body, current_user.user.id, keep_secrets=True
        )
    except BadRequest as exc:
        provider = services().catalog.get(provider_id)
        errors: dict[str, str] = {}
        for error in getattr(exc, "errors", [exc]):  # every field at fault, not only the first
            errors.setdefault(error.field or "_form", _field_message(provider, error))
        return page(failed=(provider_id, errors, shown), status=400)
    flash(f"{services().catalog.providers[provider_id].label} token saved.", "success")
    return None


@bp.get("/settings/provider-access-tokens")
@login_required
def provider_access_tokens(failed: Any = None, status: int = 200) -> Any:
    """Every catalog provider with its status and a form; secrets are never rendered."""
    set_context(None)
    items = _provider_items(
        "users",
        current_user.user.id,
        "web.save_provider_token",
        "web.remove_provider_token",
        failed,
    )
    return render_template(
        "providers.html", section="providers", providers=items, org=None, can_edit=True
    ), status


@bp.post("/settings/provider-access-tokens/<provider>")
@login_required
def save_provider_token(provider: str) -> Any:
    """Set or replace one of the user's provider tokens."""
    error = _save_provider("users", current_user.user.id, provider, provider_access_tokens)
    return error or redirect(url_for("web.provider_access_tokens") + f"#provider-{provider}")


@bp.route("/settings/provider-access-tokens/<provider>/remove", methods=["GET", "POST"])
@login_required
def remove_provider_token(provider: str) -> Any:
    """Confirm, then delete one of the user's provider tokens."""
    label = services().catalog.get(provider).label
    if request.method == "GET":
        return render_template(
            "confirm.html",
            section="providers",
            title=f"Remove your {label} token?",
            message="Your jobs can no longer use it. Vault deletes it with all its versions.",
            action=url_for("web.remove_provider_token", provider=provider),
            button="Remove token",
            back=url_for("web.provider_access_tokens"),
        )
    services().providers.delete("users", current_user.user.id, provider, current_user.user.id)
    flash(f"{label} token removed.", "success")
    return go("web.provider_access_tokens")


# -- organizations -----------------------------------------------------------------------------


@bp.get("/organizations")
@login_required
def organizations(
    form: dict[str, str] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Any:
    """The user's organizations and the create form."""
    orgs = services().orgs.list_for(current_user.user)
    return render_template(
        "organizations.html",
        section="orgs",
        orgs=orgs,
        form=form or {"id": "", "display_name": ""},
        errors=errors or {},
    ), status


@bp.post("/organizations")
@login_required
def create_org() -> Any:
    """Create an organization with the user as its owner."""
    form = {
        "id": request.form.get("id", "").strip(),
        "display_name": request.form.get("display_name", "").strip(),
    }
    errors: dict[str, str] = {}  # every field at fault, not only the first
    if not is_account_id(form["id"]):
        errors["id"] = ORG_ID_RULE
    try:
        check_display_name(form["display_name"], form["id"])
    except BadRequest as exc:
        errors["display_name"] = exc.message
    try:
        if errors:
            return organizations(form, errors, 400)
        services().orgs.create(
            form["id"], form["display_name"], current_user.user, actor=current_user.user.id
        )
    except (BadRequest, Conflict) as exc:
        field = "display_name" if exc.code == "invalid_display_name" else "id"
        message = "This identifier is taken." if exc.code == "org_exists" else exc.message
        return organizations(form, {field: message}, exc.status)
    flash(
        f"Organization {form['display_name'] or form['id']} created. You are its owner.", "success"
    )
    return go("web.organization", org=form["id"])


SOLE_OWNER = "You are the only owner: make another member an owner first."


def _sole_owner(role: str, members: list[dict[str, str]]) -> bool:
    """True when the user is the organization's one owner (who cannot leave)."""
    return role == "owner" and sum(m["role"] == "owner" for m in members) == 1


ORG_ID_RULE = "Use 1-40 lower case letters, digits and inner hyphens, e.g. acme-quantum."


def _username_rule(user_id: str) -> str:
    """Say what a username looks like, and offer the lower-cased name when that one is valid."""
    rule = "Usernames are lower case letters, digits and hyphens"
    suggestion = suggest_account_id(user_id)
    if suggestion and suggestion != user_id:
        return f"{rule}: did you mean {suggestion}?"
    return f"{rule}, 1-40 characters, e.g. grace-hopper."


def _member_context(org: str) -> tuple[dict[str, Any], str]:
    """The organization and the user's role in it; its pages make it the account context."""
    profile, role = services().orgs.for_member(current_user.user, org)
    set_context(org)
    return profile, role


@bp.get("/organizations/<org>")
@login_required
def organization(
    org: str,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Any:
    """Members and roles; owners manage them."""
    profile, role = _member_context(org)
    members = services().orgs.members(org)
    return render_template(
        "organization.html",
        section="members",
        org=profile,
        role=role,
        roles=ROLES,
        members=members,
        sole_owner=_sole_owner(role, members),
        sole_owner_reason=SOLE_OWNER,
        form=form or {"user": ""},
        errors=errors or {},
    ), status


@bp.post("/organizations/<org>/members")
@login_required
def set_member(org: str) -> Any:
    """Add a member or change a role (owners; the services refuse everyone else)."""
    services().orgs.require_role(current_user.user, org, "owner")
    user_id = request.form.get("user", "").strip()
    try:
        result = services().orgs.set_member(
            org, user_id, request.form.get("role"), actor=current_user.user.id
        )
    except (BadRequest, NotFound, Conflict) as exc:
        message = {
            "user_not_found": "There is no user with this name.",
            "invalid_id": _username_rule(user_id),
            "last_owner": "An organization needs at least one owner.",
        }.get(exc.code, exc.message)
        if exc.code == "last_owner":
            flash(message, "error")
            return go("web.organization", org=org)
        return organization(org, {"user": user_id}, {"user": message}, exc.status)
    flash(f"{result['user']} is now {with_article(result['role'])}.", "success")
    return go("web.organization", org=org)


@bp.route("/organizations/<org>/members/<user>/remove", methods=["GET", "POST"])
@login_required
def remove_member(org: str, user: str) -> Any:
    """Confirm, then remove a member (owners) or leave (the member)."""
    profile, role = _member_context(org)
    me = user == current_user.user.id
    if not me:
        services().orgs.require_role(current_user.user, org, "owner")
    elif request.method == "GET" and _sole_owner(role, services().orgs.members(org)):
        flash(SOLE_OWNER, "error")
        return go("web.organization", org=org)
    if request.method == "GET":
        name = profile["display_name"]
        return render_template(
            "confirm.html",
            section="members",
            title=f"Leave {name}?" if me else f"Remove {user}?",
            message=f"You will no longer see {name} or its members, and your tokens and jobs "
            "can no longer act in it. An owner can add you again."
            if me
            else f"{user} loses access to {name} and its provider tokens.",
            action=url_for("web.remove_member", org=org, user=user),
            button="Leave" if me else "Remove member",
            back=url_for("web.organization", org=org),
        )
    try:
        services().orgs.remove_member(org, user, actor=current_user.user.id)
    except Conflict:
        flash(SOLE_OWNER if me else "An organization needs at least one owner.", "error")
        return go("web.organization", org=org)
    if me:
        set_context(None)
        flash(f"You left {profile['display_name']}.", "success")
        return go("web.organizations")
    flash(f"{user} removed.", "success")
    return go("web.organization", org=org)


@bp.route("/organizations/<org>/delete", methods=["GET", "POST"])
@login_required
def delete_org(org: str) -> Any:
    """Confirm, then delete an organization (owners)."""
    profile, _ = services().orgs.require_role(current_user.user, org, "owner")
    if request.method == "GET":
        return render_template(
            "confirm.html",
            section="members",
            title=f"Delete {profile['display_name']}?",
            message="Its provider tokens are deleted from Vault for good and every member loses "
            "access. This cannot be undone.",
            action=url_for("web.delete_org", org=org),
            button="Delete organization",
            back=url_for("web.organization", org=org),
        )
    services().orgs.delete(org, actor=current_user.user.id)
    set_context(None)
    flash(f"Organization {profile['display_name']} deleted.", "success")
    return go("web.organizations")


@bp.get("/organizations/<org>/provider-access-tokens")
@login_required
def org_provider_tokens(org: str, failed: Any = None, status: int = 200) -> Any:
    """The organization's provider tokens; owners and maintainers edit, viewers see status."""
    profile, role = _member_context(org)
    items = _provider_items(
        "orgs", org, "web.save_org_provider_token", "web.remove_org_provider_token", failed
    )
    return render_template(
        "providers.html",
        section="providers",
        providers=items,
        org=profile,
        can_edit=role in ("owner", "maintainer"),
    ), status


@bp.post("/organizations/<org>/provider-access-tokens/<provider>")
@login_required
def save_org_provider_token(org: str, provider: str) -> Any:
    """Set or replace an organization's provider token (owners and maintainers only)."""
    services().orgs.require_role(current_user.user, org, "owner", "maintainer")

    def page(failed: Any, status: int) -> Any:
        return org_provider_tokens(org, failed, status)

    error = _save_provider("orgs", org, provider, page)
    return error or redirect(url_for("web.org_provider_tokens", org=org) + f"#provider-{provider}")


@bp.route("/organizations/<org>/provider-access-tokens/<provider>/remove", methods=["GET", "POST"])
@login_required
def remove_org_provider_token(org: str, provider: str) -> Any:
    """Confirm, then delete an organization's provider token (owners and maintainers)."""
    profile, _ = services().orgs.require_role(current_user.user, org, "owner", "maintainer")
    label = services().catalog.get(provider).label
    if request.method == "GET":
        return render_template(
            "confirm.html",
            section="providers",
            title=f"Remove {profile['display_name']}'s {label} token?",
            message="Jobs of every member in this organization can no longer use it.",
            action=url_for("web.remove_org_provider_token", org=org, provider=provider),
            button="Remove token",
            back=url_for("web.org_provider_tokens", org=org),
        )
    services().providers.delete("orgs", org, provider, current_user.user.id)
    flash(f"{label} token of {profile['display_name']} removed.", "success")
    return go("web.org_provider_tokens", org=org)
