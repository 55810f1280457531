"""Organization owners' page of the members' PATs used in the organization, with blocks.

A blocked PAT cannot act in the organization (on every replica within the revocation bound) and
keeps working everywhere else. Only owners see the page; other members get 403.
"""

from __future__ import annotations

from typing import Any

from flask import flash, render_template
from flask_login import current_user
from werkzeug.wrappers import Response

from vault_bridge.ids import check_token_id

from . import bp, go, login_required, services


@bp.get("/organizations/<org>/personal-access-tokens")
@login_required
def org_pats(org: str) -> Any:
    """The PATs members used in the organization: name, member, scopes, last use, expiry."""
    profile, _ = services().orgs.require_role(current_user.user, org, "owner")
    return render_template(
        "org_pats.html",
        section="orgs",
        org=profile,
        tokens=services().tokens.org_access.list(org),
    )


@bp.post("/organizations/<org>/personal-access-tokens/<token_id>/block")
@login_required
def block_org_pat(org: str, token_id: str) -> Response:
    """Block a member's PAT from acting in the organization (owners)."""
    services().orgs.require_role(current_user.user, org, "owner")
    check_token_id(token_id)
    token = services().tokens.org_access.block(org, token_id, actor=current_user.user.id)
    flash(
        f"“{token['name']}” of {token['user']} is blocked in this organization; it keeps "
        "working elsewhere. Every server honours the block within 1 second.",
        "success",
    )
    return go("web.org_pats", org=org)


@bp.post("/organizations/<org>/personal-access-tokens/<token_id>/unblock")
@login_required
def unblock_org_pat(org: str, token_id: str) -> Response:
    """Let a blocked PAT act in the organization again (owners)."""
    services().orgs.require_role(current_user.user, org, "owner")
    check_token_id(token_id)
    services().tokens.org_access.unblock(org, token_id, actor=current_user.user.id)
    flash("The token may act in this organization again.", "success")
    return go("web.org_pats", org=org)
