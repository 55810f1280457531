"""Requests and answers of the JSON API (``/api/v1``), declared once: validation and the
OpenAPI document both come from here."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    WithJsonSchema,
    model_validator,
)

from vault_bridge import scopes
from vault_bridge.api.spec import Error, ErrorDetail, RequestModel, coded
from vault_bridge.directory.orgs import check_display_name, check_role
from vault_bridge.ids import ACCOUNT_ID, check_account_id
from vault_bridge.runtime.grants import JOB_ID_MAX, check_job_id
from vault_bridge.tokens.reports import REPORT_MAX
from vault_bridge.tokens.rules import (
    DESCRIPTION_MAX,
    NAME_MAX,
    ORGANIZATIONS_MAX,
    check_description,
    check_name,
    normalize_scopes,
)
from vault_bridge.tokens.service import GRACE_MAX
from vault_bridge.tokens.verify import MAX_TOKEN_LENGTH

ID_PATTERN = f"^(?:{ACCOUNT_ID.pattern})$"
ROLES = ("owner", "maintainer", "viewer")
Role = Literal["owner", "maintainer", "viewer"]
__all__ = ["Error", "ErrorDetail"]  # re-exported: the error shape belongs with the models
SCOPE_NAMES = [*scopes.NAMES, *(scope.planqk for scope in scopes.REGISTRY)]


def _text_or_empty(value: object) -> str:
    """Sign-in fields: anything but text counts as empty (one answer for every bad login)."""
    return value if isinstance(value, str) else ""


def _org_id(value: object) -> str:
    return check_account_id(value, "organization id")


# -- session and user -----------------------------------------------------------------------------


class Login(RequestModel):
    """Password sign-in; the password is checked by Vault."""

    username: Annotated[str, BeforeValidator(_text_or_empty)] = Field("", max_length=4096)
    password: Annotated[str, BeforeValidator(_text_or_empty)] = Field("", max_length=4096)


class ChangePassword(RequestModel):
    """A new password, proven by the current one; every other session of the account ends."""

    current_password: Annotated[str, BeforeValidator(_text_or_empty)] = Field(
        "", max_length=4096, json_schema_extra=coded("wrong_password")
    )
    new_password: str = Field(
        min_length=8, max_length=256, json_schema_extra=coded("invalid_password")
    )


class Profile(BaseModel):
    """An account's public fields."""

    id: str
    display_name: str
    email: str


class LoginAnswer(BaseModel):
    """A started session: send csrf_token back in X-CSRF-Token on state-changing requests."""

    user: Profile
    csrf_token: str


class Membership(BaseModel):
    """One of the caller's organizations."""

    id: str
    display_name: str
    role: Role


class TokenInUse(BaseModel):
    """The PAT the request came with."""

    id: str
    scopes: list[str]
    expires_at: str | None


class Me(Profile):
    """The caller."""

    organizations: list[Membership]
    context: str | None = Field(description="the organization acted in (X-OrganizationId)")
    token: TokenInUse | None


# -- personal access tokens -----------------------------------------------------------------------


class CreateToken(RequestModel):
    """A new PAT."""

    name: Annotated[str, BeforeValidator(check_name)] = Field(
        min_length=1, max_length=NAME_MAX, json_schema_extra=coded("invalid_name")
    )
    scopes: Annotated[
        list[str],
        BeforeValidator(normalize_scopes),
        WithJsonSchema(
            {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "enum": SCOPE_NAMES},
                "description": "PLANQK's upper-case spelling is accepted",
            }
        ),
    ] = Field(json_schema_extra=coded("invalid_scopes"))
    expires_at: str | None = Field(
        None,
        max_length=64,
        description="an ISO 8601 date (valid through that day, UTC) or date-time",
        json_schema_extra=coded("invalid_expires_at"),
    )
    description: Annotated[str | None, BeforeValidator(check_description)] = Field(
        None,
        max_length=DESCRIPTION_MAX,
        description="what the token is for (optional)",
        json_schema_extra=coded("invalid_description"),
    )
    organizations: list[Annotated[str, Field(pattern=ID_PATTERN)]] | None = Field(
        None,
        max_length=ORGANIZATIONS_MAX,
        description=(
            "the organizations the token may act in (each one of the caller's); absent: every "
            "organization the caller belongs to at request time"
        ),
        json_schema_extra=coded("invalid_organizations"),
    )
    personal: bool = Field(
        True,
        strict=True,
        description="whether the token may act outside any organization (default true)",
        json_schema_extra=coded("invalid_personal"),
    )


class RotateToken(RequestModel):
    """How long the rotated token keeps working."""

    grace_seconds: int = Field(
        0,
        ge=0,
        le=GRACE_MAX,
        strict=True,
        description="0 (default: it stops now) to 604800 (7 days)",
        json_schema_extra=coded("invalid_grace_seconds"),
    )


TokenState = Literal["active", "expired", "revoked"]


class TokenRecord(BaseModel):
    """A PAT without its value."""

    id: str
    name: str
    description: str | None = None
    scopes: list[str]
    created_at: str
    expires_at: str
    last_used_at: str | None = Field(description="the latest use known, to the second")
    last_used_addresses: list[str] = Field(
        default_factory=list, description="the client addresses of the last uses, newest first"
    )
    organizations: list[str] | None = Field(
        None, description="the organizations it may act in; null: every one of the user's"
    )
    personal: bool = Field(True, description="whether it may act outside any organization")
    state: TokenState
    revoked_at: str | None = None
    revoked_by: str | None = None
    rotated_to: str | None = Field(None, description="the token that replaced it by a rotation")
    grace_until: str | None = Field(
        None, description="a rotated token works until then (set while it still works)"
    )


class CreatedToken(BaseModel):
    """A new PAT: ``token`` is in this answer and nowhere else, ever."""

    id: str
    name: str
    description: str | None = None
    scopes: list[str]
    created_at: str
    expires_at: str
    organizations: list[str] | None = None
    personal: bool = True
    token: str


class TokenList(RootModel[list[TokenRecord]]):
    """A list of TokenRecord."""


REPORTED_TOKEN_MAX = MAX_TOKEN_LENGTH + 32  # a JWS of the longest accepted size, a prefix, spaces


class RevocationReport(RequestModel):
    """Leaked tokens to revoke, given by value (a secret scanner's report)."""

    tokens: list[Annotated[str, Field(strict=True, max_length=REPORTED_TOKEN_MAX)]] = Field(
        max_length=REPORT_MAX,
        description=f"at most {REPORT_MAX} token values, with or without the prefix",
        json_schema_extra=coded("invalid_tokens"),
    )


class ReportAccepted(BaseModel):
    """The same answer whatever the tokens were: how many were taken for checking."""

    accepted: int


class Notice(BaseModel):
    """A security notice about one of the caller's PATs (never its value)."""

    id: str
    kind: Literal["created", "reported", "expires-7d", "expires-1d"]
    token_id: str
    token_name: str
    expires_at: str | None
    at: str
    mail: Literal["off", "pending", "sending", "sent", "failed", "no_address"] = Field(
        description="the e-mail's state: off (no SMTP server configured), sent, failed, ..."
    )
    message: str


class NoticeList(RootModel[list[Notice]]):
    """A list of Notice, newest first."""


class TokenListQuery(RequestModel):
    """Which tokens to list."""

    state: Literal["active", "inactive", "all"] = Field(
        "active",
        description="active (default); inactive: expired or revoked in the last 30 days; all",
        json_schema_extra=coded("invalid_state"),
    )


class OrgToken(BaseModel):
    """A member's PAT as the organization's owners see it: never its value."""

    id: str
    name: str | None
    user: str | None = Field(description="the member it belongs to")
    scopes: list[str]
    expires_at: str
    last_used_at: str | None = Field(description="its last use in the organization's context")
    blocked: bool
    blocked_at: str | None = None
    blocked_by: str | None = None


class OrgTokenList(RootModel[list[OrgToken]]):
    """A list of OrgToken."""


# -- providers ------------------------------------------------------------------------------------


class CatalogField(BaseModel):
    """One field of a provider's credential."""

    name: str
    label: str
    secret: bool
    required: bool
    pattern: str
    format: str = Field(
        description="the pattern in words, e.g. 'start with a prefix such as DEV- followed by "
        "32-64 hex digits'; refusals say it"
    )
    help: str
    env: str


class CatalogProvider(BaseModel):
    """A provider and the fields of its credential."""

    id: str
    label: str
    website: str
    planqk_provider: str
    fields: list[CatalogField]


class Catalog(RootModel[list[CatalogProvider]]):
    """A list of CatalogProvider."""


class ProviderFields(RootModel[dict[str, str | None]]):
    """The provider's fields (``GET /api/v1/providers``) and their values; a bad one is 400
    ``invalid_field`` naming it."""


class FieldState(BaseModel):
    """A stored field: a secret shows only a hint of its end, a plain field its value."""

    secret: bool
    set: bool
    hint: str | None = None
    value: str | None = None


class ProviderToken(BaseModel):
    """A stored provider token's metadata (never a secret)."""

    provider: str
    label: str
    configured: bool
    fields: dict[str, FieldState]
    updated_at: str | None
    updated_by: str | None
    version: int


class ProviderTokenList(RootModel[list[ProviderToken]]):
    """A list of ProviderToken."""


# -- organizations --------------------------------------------------------------------------------


class CreateOrg(RequestModel):
    """A new organization; the caller becomes its first owner."""

    id: Annotated[str, BeforeValidator(_org_id)] = Field(
        pattern=ID_PATTERN, json_schema_extra=coded("invalid_id")
    )
    display_name: Annotated[
        str | None, BeforeValidator(lambda value: check_display_name(value, "") or None)
    ] = Field(None, max_length=100, json_schema_extra=coded("invalid_display_name"))


class Org(BaseModel):
    """An organization, with the caller's role."""

    id: str
    display_name: str
    created_at: str | None = None
    created_by: str | None = None
    role: Role


class OrgList(RootModel[list[Membership]]):
    """A list of Membership."""


class SetRole(RequestModel):
    """A member's role."""

    role: Annotated[Role, BeforeValidator(check_role)] = Field(
        json_schema_extra=coded("invalid_role")
    )


class Member(BaseModel):
    """A member and their role."""

    user: str
    role: Role


class MemberList(RootModel[list[Member]]):
    """A list of Member."""


# -- run-time grants ------------------------------------------------------------------------------


class GrantRequest(RequestModel):
    """A grant for one job, in the caller's context."""

    provider: str = Field(
        max_length=40, description="a catalog provider id", json_schema_extra=coded("invalid_id")
    )
    job_id: Annotated[str, BeforeValidator(check_job_id)] = Field(
        min_length=1,
        max_length=JOB_ID_MAX,
        pattern="^[\\x21-\\x7e]+$",
        json_schema_extra=coded("invalid_job_id"),
    )


class Grant(BaseModel):
    """An issued grant: an opaque string a job runner redeems once."""

    grant: str
    expires_at: str
    source: Literal["user", "organization", "platform"]
    provider: str
    job_id: str


class Redeem(RequestModel):
    """A grant to redeem."""

    grant: str = Field(
        min_length=1,
        max_length=4096,
        pattern="^[A-Za-z0-9._-]+$",
        json_schema_extra=coded("invalid_grant"),
    )


class Redeemed(BaseModel):
    """A single-use Vault wrapping token for the credential; unwrap it at Vault."""

    wrap_token: str
    wrap_ttl: int
    provider: str
    source: Literal["user", "organization", "platform"]
    job_id: str


# -- meta -----------------------------------------------------------------------------------------


class Jwk(BaseModel):
    """A public signing key."""

    model_config = ConfigDict(extra="allow")

    kty: str
    crv: str
    x: str
    y: str | None = None
    kid: str
    alg: str
    use: str


class Jwks(BaseModel):
    """Every signing key version still accepted."""

    keys: list[Jwk]


class Health(BaseModel):
    """Liveness."""

    status: Literal["ok"]


class Readiness(BaseModel):
    """Readiness, with each check's outcome."""

    status: Literal["ready", "not_ready"]
    checks: dict[str, str]


class ContextHeaders(RequestModel):
    """The organization to act in (any authenticated route)."""

    model_config = ConfigDict(populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        """Header names are case-insensitive."""
        if isinstance(value, dict):
            return {str(key).lower(): item for key, item in value.items()}
        return value

    x_organization_id: str = Field(
        "",
        validation_alias="x-organizationid",
        serialization_alias="X-OrganizationId",
        max_length=40,
        description="act in this organization (the caller must be a member)",
        json_schema_extra=coded("invalid_id"),
    )
