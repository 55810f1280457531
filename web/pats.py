"""The personal access token pages: list, create, regenerate, revoke, revoke all.

A new token's value is shown by post/redirect/get: the form's answer is a redirect, and the page
after it shows the value once (``once``); reloading it neither submits the form again nor shows
the value again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from vault_bridge.errors import BadRequest, Conflict, NotFound
from vault_bridge.ids import check_token_id
from vault_bridge.timeutil import now_utc
from vault_bridge.tokens.service import Wanted

from . import bp, go, login_required, once, services
from .token_rows import (
    expiring_notice,
    format_day,
    format_expiry,
    recent_notices,
    rows,
    select,
)

PRESETS = (7, 30, 60, 90)  # days offered in the expiry menu
GRACES = {  # what "Regenerate" offers: seconds the old token keeps working -> label
    0: "None: the old token stops working now",
    3600: "1 hour",
    86400: "1 day",
    604800: "7 days",
}
TOKEN_FIELDS = {
    "invalid_name": "name",
    "name_taken": "name",
    "too_many_tokens": "name",
    "invalid_scopes": "scopes",
    "invalid_expires_at": "expiry",
    "invalid_description": "description",
    "invalid_organizations": "organizations",
}
REVOKE_PROMISE = (
    "Anything using it stops working within 1 second, on every server of the service. "
    "This cannot be undone."
)


def _blank_form() -> dict[str, Any]:
    orgs = [o["id"] for o in services().orgs.list_for(current_user.user)]
    return {
        "name": "",
        "description": "",
        "scopes": ["api"],
        "expiry": "30",
        "expires_on": "",
        "personal": True,
        "org_scope": "all",
        "organizations": orgs,
    }


def _page(
    form: dict[str, Any] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    """The tokens page (``?tab=inactive`` for expired and revoked ones)."""
    user = current_user.user
    today = now_utc().date()
    tab: Wanted = "inactive" if request.args.get("tab") == "inactive" else "active"
    text, scope = request.args.get("q", ""), request.args.get("scope", "")
    sort = request.args.get("sort", "created")
    listed = rows(services().tokens.list(user.id, tab), today)
    active = listed if tab == "active" else rows(services().tokens.list(user.id), today)
    shown = once.take() if status == 200 else None
    page = render_template(
        "pats.html",
        section="pats",
        tab=tab,
        tokens=select(listed, text, scope, sort),
        total=len(listed),
        active_count=len(active),
        notice=expiring_notice(active),
        security=recent_notices(services().tokens.notices(user.id), now_utc()),
        query={"q": text, "scope": scope, "sort": sort},
        shown=shown,
        form=form or _blank_form(),
        errors=errors or {},
        orgs=services().orgs.list_for(user),
        presets=[(days, format_day(today + dt.timedelta(days=days))) for days in PRESETS],
        today=today.isoformat(),
        max_date=(today + dt.timedelta(days=services().settings.pat_max_days)).isoformat(),
        max_days=services().settings.pat_max_days,
    )
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/settings/personal-access-tokens")
@login_required
def personal_access_tokens() -> Response:
    """The user's tokens, the create form, and a new token's value once after creating it."""
    return _page()


def _expires_at(expiry: str, expires_on: str) -> str:
    """The day the user chose (a token works through that day, UTC), as the API takes it."""
    if expiry == "custom":
        return expires_on or "missing"
    if expiry in {str(days) for days in PRESETS}:
        return (now_utc().date() + dt.timedelta(days=int(expiry))).isoformat()
    return "invalid"


@bp.post("/settings/personal-access-tokens")
@login_required
def create_pat() -> Response:
    """Create a token, then redirect to the page that shows its value once."""
    user = current_user.user
    expiry, expires_on = request.form.get("expiry", "30"), request.form.get("expires_on", "")
    form: dict[str, Any] = {
        "name": request.form.get("name", ""),
        "description": request.form.get("description", ""),
        "scopes": request.form.getlist("scopes"),
        "expiry": expiry,
        "expires_on": expires_on,
        "personal": _personal(request.form.getlist("personal")),
        "org_scope": "chosen" if request.form.get("org_scope") == "chosen" else "all",
        "organizations": request.form.getlist("organizations"),
    }
    expires_at = _expires_at(expiry, expires_on)
    try:
        record, token = services().tokens.issue(
            user.id,
            form["name"],
            form["scopes"],
            expires_at,
            description=form["description"],
            organizations=form["organizations"] if form["org_scope"] == "chosen" else None,
            personal=form["personal"],
            memberships=user.memberships,
            actor=user.id,
        )
    except (BadRequest, Conflict) as exc:
        message = exc.message
        if exc.code == "invalid_scopes":
            message = "Choose at least one scope."
        elif exc.code == "invalid_expires_at" and expires_at == "missing":
            message = "Pick a date."
        elif exc.code == "invalid_organizations" and not form["personal"]:
            message = "Choose your personal account, an organization, or both."
        return _page(form, {TOKEN_FIELDS.get(exc.code, "name"): message}, status=exc.status)
    once.hold({"kind": "created", "name": record["name"], "token": token, **_ends(record)})
    return _show_new_token()


def _show_new_token() -> Response:
    """Redirect to the tokens page, at the box that shows the new value."""
    return redirect(url_for("web.personal_access_tokens") + "#new-token", code=303)


def _personal(values: list[str]) -> bool:
    """The personal-account box: the form sends ``off`` always and ``on`` when it is checked;
    a client that sends neither gets the default (allowed), as in the API."""
    return "on" in values if values else True


def _ends(record: Mapping[str, object]) -> dict[str, str]:
    expires_at = str(record["expires_at"])
    return {"expires": format_expiry(expires_at), "expires_at": expires_at}


def _own_token(token_id: str) -> dict[str, Any]:
    """One of the user's tokens that still works (404 otherwise)."""
    check_token_id(token_id)
    for token in services().tokens.list(current_user.user.id):
        if token["id"] == token_id:
            return dict(token)
    raise NotFound("This token does not exist, expired or was already revoked.")


@bp.route("/settings/personal-access-tokens/<token_id>/regenerate", methods=["GET", "POST"])
@login_required
def regenerate_pat(token_id: str) -> Any:
    """Choose how long the old token keeps working, then replace it by a new one."""
    token = _own_token(token_id)
    if request.method == "GET":
        return render_template("regenerate.html", section="pats", token=token, graces=GRACES)
    try:
        grace = int(request.form.get("grace_seconds", ""))
    except ValueError:
        grace = -1
    if grace not in GRACES:
        raise BadRequest("Choose how long the old token keeps working.", code="invalid_grace")
    record, value = services().tokens.rotate(
        current_user.user.id, token_id, grace, actor=current_user.user.id
    )
    until = now_utc() + dt.timedelta(seconds=grace)
    once.hold(
        {
            "kind": "regenerated",
            "name": record["name"],
            "token": value,
            "old_until": "" if grace == 0 else until.isoformat(),
            **_ends(record),
        }
    )
    return _show_new_token()


@bp.route("/settings/personal-access-tokens/<token_id>/revoke", methods=["GET", "POST"])
@login_required
def revoke_pat(token_id: str) -> Any:
    """Confirm, then revoke one of the user's tokens."""
    token = _own_token(token_id)
    if request.method == "GET":
        return render_template(
            "confirm.html",
            section="pats",
            title=f"Revoke “{token['name']}”?",
            message=REVOKE_PROMISE,
            action=url_for("web.revoke_pat", token_id=token_id),
            button="Revoke token",
            back=url_for("web.personal_access_tokens"),
        )
    services().tokens.revoke(current_user.user.id, token_id, actor=current_user.user.id)
    flash(f"Token “{token['name']}” revoked.", "success")
    return go("web.personal_access_tokens")


@bp.route("/settings/personal-access-tokens/revoke-all", methods=["GET", "POST"])
@login_required
def revoke_all_pats() -> Any:
    """Confirm with the count, then revoke every token of the user that still works."""
    user = current_user.user
    if request.method == "GET":
        count = len(services().tokens.list(user.id))
        if not count:
            flash("You have no active tokens to revoke.", "info")
            return go("web.personal_access_tokens")
        noun = "1 token" if count == 1 else f"all {count} tokens"
        return render_template(
            "confirm.html",
            section="pats",
            title=f"Revoke {noun}?",
            message=REVOKE_PROMISE,
            action=url_for("web.revoke_all_pats"),
            button=f"Revoke {noun}",
            back=url_for("web.personal_access_tokens"),
        )
    count = services().tokens.revoke_all(user.id, actor=user.id)
    flash(f"Revoked {count} token{'' if count == 1 else 's'}.", "success")
    return go("web.personal_access_tokens")
