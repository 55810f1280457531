"""Source of vault_bridge/api/openapi.json: run `python tools/openapi.py` after changing the API.

A test checks that the committed document equals what this script produces and that it lists
exactly the routes the app serves.
"""

# ruff: noqa: E501
import json
import sys
from pathlib import Path

import vault_bridge

TARGET = Path(__file__).resolve().parent.parent / "vault_bridge" / "api" / "openapi.json"


def err(desc):
    return {
        "description": desc,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


E = {
    k: err(v)
    for k, v in {
        "400": "Bad input; nothing was changed",
        "401": "No or invalid credentials",
        "403": "Not allowed (scope, role, CSRF, a PAT where a session is needed, or X-OrganizationId of an organization the caller is not a member of)",
        "404": "Not found",
        "409": "Conflict with the current state",
        "503": "Vault unavailable, sealed, not bootstrapped, or revocations cannot be confirmed",
    }.items()
}


def pick(*codes):
    return {c: E[c] for c in codes}


ID_SCHEMA = {"type": "string", "pattern": "^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$"}
P_ORG = {"name": "org", "in": "path", "required": True, "schema": ID_SCHEMA}
P_USER = {"name": "user", "in": "path", "required": True, "schema": ID_SCHEMA}
P_PROVIDER = {
    "name": "provider",
    "in": "path",
    "required": True,
    "schema": ID_SCHEMA,
    "description": "A provider id from GET /api/v1/providers",
}
TOKEN_META = {
    "description": "Metadata of the provider token; secret fields only as a hint of at most their last 4 characters",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ProviderToken"}}},
}
FIELDS_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "The provider's fields by name, as the catalog describes them; unknown or missing fields and pattern mismatches are 400 naming the field",
            }
        }
    },
}
ORG = {
    "description": "The organization and the caller's role",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Org"}}},
}

P_BACKEND = {"name": "backend_id", "in": "path", "required": True, "schema": {"type": "string"}}
P_JOB = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "uuid"},
}
QOK = {
    "description": "As the planqk-quantum SDK expects it",
    "content": {"application/json": {"schema": {"type": "object"}}},
}
QERR = {
    str(code): {
        "description": desc + " (body: {error, error_message, detail, status})",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/QuantumError"}}},
    }
    for code, desc in (
        (401, "Invalid access token"),
        (403, "Not allowed"),
        (404, "Not found"),
        (503, "Vault unavailable"),
    )
}


def sdk_op(
    operation_id: str,
    summary: str,
    parameters: tuple = (),
    ok: dict | None = None,
    body: bool = False,
) -> dict:
    """One /quantum operation: PAT in x-auth-token, SDK-shaped answers and errors."""
    op = {
        "operationId": operation_id,
        "summary": f"planqk-quantum SDK: {summary}",
        "security": [{"xAuthToken": []}],
    }
    if parameters:
        op["parameters"] = list(parameters)
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    op["responses"] = {**(ok or {"200": QOK}), **QERR}
    return op


any_auth = [{"bearerAuth": []}, {"xAuthToken": []}, {"session": [], "csrfHeader": []}]
session_only = [{"session": [], "csrfHeader": []}]
doc = {
    "openapi": "3.0.3",
    "info": {
        "title": "vault-bridge",
        "version": vault_bridge.__version__,
        "description": 'Personal access tokens (PATs) and provider access tokens kept in HashiCorp Vault or OpenBao. Errors are always `{"error": {"code", "message"}}`. PATs are sent as `Authorization: Bearer <PAT>` or `X-Auth-Token: <PAT>`; every PAT call needs the `api` scope. Session-authenticated state-changing requests send the CSRF token from `POST /api/v1/session` in `X-CSRF-Token`.',
    },
    "servers": [{"url": "http://127.0.0.1:8080"}],
    "paths": {
        "/api/v1/runtime/grants": {
            "post": {
                "operationId": "issueGrant",
                "summary": "A run-time grant for one job: resolves the credential (personal context: the user's; organization context from X-OrganizationId: the organization's; else a platform default) and binds it to (job, user, context, provider, expiry). Needs the api and quantum_tokens scopes.",
                "security": any_auth,
                "parameters": [{"$ref": "#/components/parameters/OrganizationId"}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/GrantRequest"}
                        }
                    },
                },
                "responses": {
                    "201": {
                        "description": "The grant (hand it to the job runner)",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Grant"}}
                        },
                    },
                    **pick("400", "401", "403", "404", "503"),
                },
            }
        },
        "/api/v1/runtime/grants/redeem": {
            "post": {
                "operationId": "redeemGrant",
                "summary": "A job runner redeems a grant, once, for a Vault response-wrapping token (TTL at most 60 s) that it unwraps at Vault itself; the credential is never in this response",
                "security": [{"runnerVaultToken": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["grant"],
                                "properties": {"grant": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "Wrapping token",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Redeemed"}
                            }
                        },
                    },
                    "410": err(
                        "The grant was redeemed already (grant_redeemed) or has expired (grant_expired)"
                    ),
                    **pick("400", "401", "403", "409", "503"),
                },
            }
        },
        "/qc-catalog/authorize": {
            "post": {
                "operationId": "planqkAuthorize",
                "summary": "PLANQK CLI login: who the PAT in X-Auth-Token belongs to. Errors also carry errorMessage.",
                "security": [{"xAuthToken": []}],
                "responses": {
                    "200": {
                        "description": "The user",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/PlanqkAuthorize"}
                            }
                        },
                    },
                    **pick("401", "403", "503"),
                },
            }
        },
        "/qc-catalog/my/accounts": {
            "get": {
                "operationId": "planqkAccounts",
                "summary": "PLANQK CLI contexts: the personal account first, then each organization",
                "security": [{"xAuthToken": []}],
                "responses": {
                    "200": {
                        "description": "Accounts",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/PlanqkAccount"},
                                }
                            }
                        },
                    },
                    **pick("401", "403", "503"),
                },
            }
        },
        "/quantum/backends": {
            "get": sdk_op(
                "quantumBackends",
                "backends (snake_case BackendDto)",
                (
                    {
                        "name": "onlyPlanqkSdk",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                    },
                ),
            )
        },
        "/quantum/backends/{backend_id}": {
            "get": sdk_op("quantumBackend", "one backend", (P_BACKEND,))
        },
        "/quantum/backends/{backend_id}/status": {
            "get": sdk_op(
                "quantumBackendStatus",
                "backend status; provider_token_valid tells whether the caller's context has a credential for the backend's provider",
                (P_BACKEND,),
            )
        },
        "/quantum/jobs": {
            "get": sdk_op(
                "quantumJobs",
                "the caller's jobs in the current context, as a page {content, last, ...}",
            ),
            "post": sdk_op(
                "quantumSubmit",
                "submit a job (needs api and quantum_tokens); takes a run-time grant, the bundled runner executes it",
                body=True,
            ),
        },
        "/quantum/jobs/{job_id}": {
            "get": sdk_op("quantumJob", "one job (JobDto)", (P_JOB,)),
            "delete": sdk_op(
                "quantumCancel", "cancel a job", (P_JOB,), ok={"204": {"description": "Cancelled"}}
            ),
        },
        "/quantum/jobs/{job_id}/status": {
            "get": sdk_op(
                "quantumJobStatus",
                "{status}: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED",
                (P_JOB,),
            )
        },
        "/quantum/jobs/{job_id}/result": {
            "get": sdk_op(
                "quantumJobResult",
                "the result ({histogram} for IonQ backends), or the error of a failed job",
                (P_JOB,),
            )
        },
        "/api/v1/providers": {
            "get": {
                "operationId": "listProviders",
                "summary": "The provider catalog: every provider and the fields of its credential",
                "security": any_auth,
                "responses": {
                    "200": {
                        "description": "Providers",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Provider"},
                                }
                            }
                        },
                    },
                    **pick("401", "403", "503"),
                },
            }
        },
        "/api/v1/user/provider-access-tokens": {
            "get": {
                "operationId": "listUserProviderTokens",
                "summary": "Metadata of the caller's provider tokens (never a secret value)",
                "security": any_auth,
                "responses": {
                    "200": {
                        "description": "Configured providers",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/ProviderToken"},
                                }
                            }
                        },
                    },
                    **pick("401", "403", "503"),
                },
            }
        },
        "/api/v1/user/provider-access-tokens/{provider}": {
            "get": {
                "operationId": "getUserProviderToken",
                "summary": "Metadata of one of the caller's provider tokens",
                "security": any_auth,
                "parameters": [P_PROVIDER],
                "responses": {"200": TOKEN_META, **pick("400", "401", "403", "404", "503")},
            },
            "put": {
                "operationId": "putUserProviderToken",
                "summary": "Set or replace one of the caller's provider tokens (validated against the catalog); answers metadata only",
                "security": any_auth,
                "parameters": [P_PROVIDER],
                "requestBody": FIELDS_BODY,
                "responses": {
                    "200": TOKEN_META,
                    "201": TOKEN_META,
                    **pick("400", "401", "403", "404", "409", "503"),
                },
            },
            "delete": {
                "operationId": "deleteUserProviderToken",
                "summary": "Delete one of the caller's provider tokens with all its versions",
                "security": any_auth,
                "parameters": [P_PROVIDER],
                "responses": {
                    "204": {"description": "Deleted"},
                    **pick("400", "401", "403", "404", "503"),
                },
            },
        },
        "/api/v1/orgs": {
            "get": {
                "operationId": "listOrgs",
                "summary": "The caller's organizations with their role",
                "security": any_auth,
                "responses": {
                    "200": {
                        "description": "Organizations",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Membership"},
                                }
                            }
                        },
                    },
                    **pick("401", "403", "503"),
                },
            },
            "post": {
                "operationId": "createOrg",
                "summary": "Create an organization; the caller becomes its first owner",
                "security": any_auth,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/OrgCreate"}}
                    },
                },
                "responses": {"201": ORG, **pick("400", "401", "403", "409", "503")},
            },
        },
        "/api/v1/orgs/{org}": {
            "get": {
                "operationId": "getOrg",
                "summary": "One organization (members; others get 404)",
                "security": any_auth,
                "parameters": [P_ORG],
                "responses": {"200": ORG, **pick("400", "401", "403", "404", "503")},
            },
            "delete": {
                "operationId": "deleteOrg",
                "summary": "Delete an organization with its provider tokens, groups and policies (owners)",
                "security": any_auth,
                "parameters": [P_ORG],
                "responses": {
                    "204": {"description": "Deleted"},
                    **pick("400", "401", "403", "404", "409", "503"),
                },
            },
        },
        "/api/v1/orgs/{org}/members": {
            "get": {
                "operationId": "listMembers",
                "summary": "Members and roles (members)",
                "security": any_auth,
                "parameters": [P_ORG],
                "responses": {
                    "200": {
                        "description": "Members, owners first",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Member"},
                                }
                            }
                        },
                    },
                    **pick("400", "401", "403", "404", "503"),
                },
            }
        },
        "/api/v1/orgs/{org}/members/{user}": {
            "put": {
                "operationId": "putMember",
                "summary": "Add a member or change a role (owners); the last owner cannot be demoted",
                "security": any_auth,
                "parameters": [P_ORG, P_USER],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["role"],
                                "properties": {"role": {"$ref": "#/components/schemas/Role"}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "The membership",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Member"}}
                        },
                    },
                    **pick("400", "401", "403", "404", "409", "503"),
                },
            },
            "delete": {
                "operationId": "deleteMember",
                "summary": "Remove a member (owners) or leave (the member); the last owner cannot leave",
                "security": any_auth,
                "parameters": [P_ORG, P_USER],
                "responses": {
                    "204": {"description": "Removed"},
                    **pick("400", "401", "403", "404", "409", "503"),
                },
            },
        },
        "/api/v1/orgs/{org}/provider-access-tokens": {
            "get": {
                "operationId": "listOrgProviderTokens",
                "summary": "Metadata of the organization's provider tokens (members)",
                "security": any_auth,
                "parameters": [P_ORG],
                "responses": {
                    "200": {
                        "description": "Configured providers",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/ProviderToken"},
                                }
                            }
                        },
                    },
                    **pick("400", "401", "403", "404", "503"),
                },
            }
        },
        "/api/v1/orgs/{org}/provider-access-tokens/{provider}": {
            "get": {
                "operationId": "getOrgProviderToken",
                "summary": "Metadata of one of the organization's provider tokens (members)",
                "security": any_auth,
                "parameters": [P_ORG, P_PROVIDER],
                "responses": {"200": TOKEN_META, **pick("400", "401", "403", "404", "503")},
            },
            "put": {
                "operationId": "putOrgProviderToken",
                "summary": "Set or replace an organization provider token (owners, maintainers)",
                "security": any_auth,
                "parameters": [P_ORG, P_PROVIDER],
                "requestBody": FIELDS_BODY,
                "responses": {
                    "200": TOKEN_META,
                    "201": TOKEN_META,
                    **pick("400", "401", "403", "404", "409", "503"),
                },
            },
            "delete": {
                "operationId": "deleteOrgProviderToken",
                "summary": "Delete an organization provider token with all its versions (owners, maintainers)",
                "security": any_auth,
                "parameters": [P_ORG, P_PROVIDER],
                "responses": {
                    "204": {"description": "Deleted"},
                    **pick("400", "401", "403", "404", "503"),
                },
            },
        },
        "/api/v1/session": {
            "post": {
                "operationId": "login",
                "summary": "Sign in with a password (checked by Vault userpass); sets the session cookie",
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/LoginRequest"}
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": "Signed in",
                        "headers": {
                            "Set-Cookie": {
                                "schema": {"type": "string"},
                                "description": "vault_bridge_session (HttpOnly, SameSite=Lax)",
                            }
                        },
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Session"}}
                        },
                    },
                    **pick("400", "401", "503"),
                },
            },
            "delete": {
                "operationId": "logout",
                "summary": "Sign out",
                "security": session_only,
                "responses": {"204": {"description": "Signed out"}, **pick("401", "403", "503")},
            },
        },
        "/api/v1/user": {
            "get": {
                "operationId": "getUser",
                "summary": "The caller's account, organizations, and the PAT used (if any)",
                "security": any_auth,
                "parameters": [{"$ref": "#/components/parameters/OrganizationId"}],
                "responses": {
                    "200": {
                        "description": "The caller",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/CurrentUser"}
                            }
                        },
                    },
                    **pick("401", "403", "503"),
                },
            }
        },
        "/api/v1/user/personal-access-tokens": {
            "get": {
                "operationId": "listPersonalAccessTokens",
                "summary": "The caller's PATs, never their values",
                "security": any_auth,
                "responses": {
                    "200": {
                        "description": "Tokens, newest first",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/PersonalAccessToken"},
                                }
                            }
                        },
                    },
                    **pick("401", "403", "503"),
                },
            },
            "post": {
                "operationId": "createPersonalAccessToken",
                "summary": "Create a PAT; its value is in this response only. Needs a password session: a PAT cannot create PATs.",
                "security": session_only,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/PersonalAccessTokenCreate"}
                        }
                    },
                },
                "responses": {
                    "201": {
                        "description": "Created; the `token` is shown this once",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "$ref": "#/components/schemas/PersonalAccessTokenCreated"
                                }
                            }
                        },
                    },
                    **pick("400", "401", "403", "409", "503"),
                },
            },
        },
        "/api/v1/user/personal-access-tokens/{id}": {
            "delete": {
                "operationId": "revokePersonalAccessToken",
                "summary": "Revoke a PAT (written to Vault before the 204; other replicas within 1 s)",
                "security": any_auth,
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                    }
                ],
                "responses": {
                    "204": {"description": "Revoked"},
                    **pick("400", "401", "403", "404", "503"),
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3 document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/.well-known/jwks.json": {
            "get": {
                "operationId": "jwks",
                "summary": "Public keys of every PAT signing key version still accepted",
                "security": [],
                "responses": {
                    "200": {
                        "description": "JSON Web Key Set",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/JWKS"}}
                        },
                    },
                    **pick("503"),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics of this process: requests by route and status, latency, token verifications by result, denylist size and age, Vault call latency and outcomes",
                "security": [],
                "responses": {
                    "200": {
                        "description": "Text exposition format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Liveness: the process is up",
                "security": [],
                "responses": {
                    "200": {
                        "description": "Up",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"status": {"type": "string", "enum": ["ok"]}},
                                }
                            }
                        },
                    }
                },
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "Readiness: Vault reachable and unsealed, bootstrapped, denylist fresh",
                "security": [],
                "responses": {
                    "200": {
                        "description": "Ready",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Readiness"}
                            }
                        },
                    },
                    "503": {
                        "description": "Not ready; `checks` says why",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Readiness"}
                            }
                        },
                    },
                },
            }
        },
    },
    "components": {
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (typ pat+jwt)"},
            "xAuthToken": {
                "type": "apiKey",
                "in": "header",
                "name": "X-Auth-Token",
                "description": "The header PLANQK clients send",
            },
            "session": {"type": "apiKey", "in": "cookie", "name": "vault_bridge_session"},
            "runnerVaultToken": {
                "type": "apiKey",
                "in": "header",
                "name": "X-Vault-Token",
                "description": "A job runner's own Vault token (AppRole vault-bridge-runner)",
            },
            "csrfHeader": {
                "type": "apiKey",
                "in": "header",
                "name": "X-CSRF-Token",
                "description": "csrf_token from POST /api/v1/session",
            },
        },
        "parameters": {
            "OrganizationId": {
                "name": "X-OrganizationId",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "pattern": "^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$"},
                "description": "Act in this organization (the caller must be a member at request time)",
            }
        },
        "schemas": {
            "GrantRequest": {
                "type": "object",
                "required": ["provider", "job_id"],
                "properties": {
                    "provider": ID_SCHEMA,
                    "job_id": {"type": "string", "minLength": 1, "maxLength": 128},
                },
            },
            "Grant": {
                "type": "object",
                "required": ["grant", "expires_at", "source"],
                "properties": {
                    "grant": {"type": "string"},
                    "expires_at": {"type": "string", "format": "date-time"},
                    "source": {"type": "string", "enum": ["user", "organization", "platform"]},
                    "provider": {"type": "string"},
                    "job_id": {"type": "string"},
                },
            },
            "Redeemed": {
                "type": "object",
                "required": ["wrap_token", "wrap_ttl", "provider", "source"],
                "properties": {
                    "wrap_token": {
                        "type": "string",
                        "description": "Single-use Vault wrapping token; unwrap with POST /v1/sys/wrapping/unwrap at Vault",
                    },
                    "wrap_ttl": {"type": "integer", "maximum": 60},
                    "provider": {"type": "string"},
                    "source": {"type": "string"},
                    "job_id": {"type": "string"},
                },
            },
            "PlanqkAuthorize": {
                "type": "object",
                "required": ["user", "roles"],
                "properties": {
                    "user": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string"},
                            "username": {"type": "string"},
                            "firstName": {"type": "string"},
                            "lastName": {"type": "string"},
                            "email": {"type": "string"},
                        },
                    },
                    "roles": {"type": "array", "items": {"type": "string"}},
                },
            },
            "PlanqkAccount": {
                "type": "object",
                "required": ["id", "displayName", "role", "isOrganization"],
                "properties": {
                    "id": {"type": "string"},
                    "displayName": {"type": "string"},
                    "role": {"type": "string"},
                    "isOrganization": {"type": "boolean"},
                    "accountType": {"type": "string"},
                },
            },
            "QuantumError": {
                "type": "object",
                "properties": {
                    "error": {"type": "string"},
                    "error_message": {"type": "string"},
                    "detail": {"type": "string"},
                    "status": {"type": "integer"},
                },
            },
            "Role": {"type": "string", "enum": ["owner", "maintainer", "viewer"]},
            "Membership": {
                "type": "object",
                "required": ["id", "display_name", "role"],
                "properties": {
                    "id": {"type": "string"},
                    "display_name": {"type": "string"},
                    "role": {"$ref": "#/components/schemas/Role"},
                },
            },
            "Member": {
                "type": "object",
                "required": ["user", "role"],
                "properties": {
                    "user": {"type": "string"},
                    "role": {"$ref": "#/components/schemas/Role"},
                },
            },
            "OrgCreate": {
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": ID_SCHEMA,
                    "display_name": {"type": "string", "maxLength": 100},
                },
            },
            "Org": {
                "type": "object",
                "required": ["id", "display_name", "role"],
                "properties": {
                    "id": {"type": "string"},
                    "display_name": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "created_by": {"type": "string"},
                    "role": {"$ref": "#/components/schemas/Role"},
                },
            },
            "ProviderField": {
                "type": "object",
                "required": ["name", "label", "secret", "required", "pattern"],
                "properties": {
                    "name": {"type": "string"},
                    "label": {"type": "string"},
                    "secret": {"type": "boolean"},
                    "required": {"type": "boolean"},
                    "pattern": {"type": "string", "description": "Full-match regular expression"},
                    "help": {"type": "string"},
                    "env": {
                        "type": "string",
                        "description": "Environment variable the provider's SDK reads at run time",
                    },
                },
            },
            "Provider": {
                "type": "object",
                "required": ["id", "label", "fields"],
                "properties": {
                    "id": {"type": "string"},
                    "label": {"type": "string"},
                    "website": {"type": "string"},
                    "planqk_provider": {"type": "string"},
                    "fields": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/ProviderField"},
                    },
                },
            },
            "ProviderToken": {
                "type": "object",
                "required": ["provider", "configured", "fields", "version"],
                "properties": {
                    "provider": {"type": "string"},
                    "label": {"type": "string"},
                    "configured": {"type": "boolean"},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "properties": {
                                "secret": {"type": "boolean"},
                                "set": {"type": "boolean"},
                                "value": {
                                    "type": "string",
                                    "nullable": True,
                                    "description": "Non-secret fields only",
                                },
                                "hint": {
                                    "type": "string",
                                    "nullable": True,
                                    "description": "Secret fields only: at most the last 4 characters",
                                },
                            },
                        },
                    },
                    "updated_at": {"type": "string", "format": "date-time"},
                    "updated_by": {"type": "string", "nullable": True},
                    "version": {
                        "type": "integer",
                        "description": "KV v2 version; replacing keeps the history in Vault",
                    },
                },
            },
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"type": "string", "example": "token_revoked"},
                            "message": {"type": "string"},
                        },
                    }
                },
            },
            "LoginRequest": {
                "type": "object",
                "required": ["username", "password"],
                "properties": {
                    "username": {"type": "string"},
                    "password": {"type": "string", "format": "password"},
                },
            },
            "User": {
                "type": "object",
                "required": ["id", "display_name", "email"],
                "properties": {
                    "id": {"type": "string"},
                    "display_name": {"type": "string"},
                    "email": {"type": "string"},
                },
            },
            "Session": {
                "type": "object",
                "required": ["user", "csrf_token"],
                "properties": {
                    "user": {"$ref": "#/components/schemas/User"},
                    "csrf_token": {"type": "string"},
                },
            },
            "CurrentUser": {
                "allOf": [
                    {"$ref": "#/components/schemas/User"},
                    {
                        "type": "object",
                        "required": ["organizations", "context", "token"],
                        "properties": {
                            "organizations": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/Membership"},
                            },
                            "context": {
                                "type": "string",
                                "nullable": True,
                                "description": "The organization context of this request (X-OrganizationId), or null",
                            },
                            "token": {
                                "nullable": True,
                                "type": "object",
                                "properties": {
                                    "id": {"type": "string"},
                                    "scopes": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Scope"},
                                    },
                                    "expires_at": {"type": "string", "format": "date-time"},
                                },
                            },
                        },
                    },
                ]
            },
            "Scope": {"type": "string", "enum": ["api", "quantum_tokens"]},
            "PersonalAccessTokenCreate": {
                "type": "object",
                "required": ["name", "scopes"],
                "properties": {
                    "name": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 100,
                        "description": "Unique among the user's active tokens",
                    },
                    "scopes": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"$ref": "#/components/schemas/Scope"},
                        "description": "PLANQK's upper-case API / QUANTUM_TOKENS are accepted too",
                    },
                    "expires_at": {
                        "type": "string",
                        "description": "ISO 8601 date (valid through that day, UTC) or date-time; default 30 days, at most the configured maximum (366 days)",
                        "example": "2026-12-31",
                    },
                },
            },
            "PersonalAccessToken": {
                "type": "object",
                "required": ["id", "name", "scopes", "created_at", "expires_at", "last_used_at"],
                "properties": {
                    "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                    "name": {"type": "string"},
                    "scopes": {"type": "array", "items": {"$ref": "#/components/schemas/Scope"}},
                    "created_at": {"type": "string", "format": "date-time"},
                    "expires_at": {"type": "string", "format": "date-time"},
                    "last_used_at": {"type": "string", "format": "date-time", "nullable": True},
                },
            },
            "PersonalAccessTokenCreated": {
                "type": "object",
                "required": ["id", "name", "scopes", "created_at", "expires_at", "token"],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "scopes": {"type": "array", "items": {"$ref": "#/components/schemas/Scope"}},
                    "created_at": {"type": "string", "format": "date-time"},
                    "expires_at": {"type": "string", "format": "date-time"},
                    "token": {
                        "type": "string",
                        "description": "The PAT (a compact JWS). Shown once; store it now.",
                    },
                },
            },
            "JWKS": {
                "type": "object",
                "required": ["keys"],
                "properties": {
                    "keys": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["kty", "kid", "alg", "use"],
                            "properties": {
                                "kty": {"type": "string", "enum": ["OKP", "EC"]},
                                "crv": {"type": "string", "enum": ["Ed25519", "P-256"]},
                                "kid": {"type": "string"},
                                "alg": {"type": "string", "enum": ["EdDSA", "ES256"]},
                                "use": {"type": "string", "enum": ["sig"]},
                                "x": {"type": "string"},
                                "y": {"type": "string"},
                            },
                        },
                    }
                },
            },
            "Readiness": {
                "type": "object",
                "required": ["status", "checks"],
                "properties": {
                    "status": {"type": "string", "enum": ["ready", "not_ready"]},
                    "checks": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
        },
    },
}


def render() -> str:
    """The document as committed."""
    return json.dumps(doc, indent=2) + "\n"


if __name__ == "__main__":
    if "--check" in sys.argv:
        sys.exit(0 if TARGET.read_text() == render() else 1)
    TARGET.write_text(render())
