# The vault-bridge service itself (AppRole "vault-bridge").
# It manages records under its KV mount, signs PATs, and maps accounts to identities.
# It can neither rotate nor export the signing key, nor change policies or mounts.

# PAT records, provider tokens, the denylist and its own settings.
path "vault-bridge/data/*" {
  capabilities = ["create", "read", "update", "patch", "delete"]
}
path "vault-bridge/metadata/*" {
  capabilities = ["read", "list", "update", "patch", "delete"]
}

# Sign PATs with the current key; read the public keys for the JWKS.
path "vault-bridge-transit/sign/personal-access-tokens" {
  capabilities = ["update"]
}
path "vault-bridge-transit/keys/personal-access-tokens" {
  capabilities = ["read"]
}

# Accounts: the password is checked by Vault at login; the service creates and deletes accounts.
# It can give an account's Vault token the vault-bridge-user policy and no other.
path "auth/userpass/users" {
  capabilities = ["list"]
}
path "auth/userpass/users/*" {
  capabilities = ["create", "read", "update", "delete"]
  allowed_parameters = {
    "password"       = []
    "token_policies" = ["vault-bridge-user"]
    "token_ttl"      = []
  }
}
path "sys/auth" {
  capabilities = ["read"]
}

# One identity entity per account, holding display name and e-mail.
path "identity/entity/name" {
  capabilities = ["list"]
}
path "identity/entity/name/*" {
  capabilities = ["create", "read", "update", "delete"]
}
path "identity/entity/id/*" {
  capabilities = ["read"]
}
path "identity/entity-alias" {
  capabilities = ["create", "update"]
}

# Organizations: one internal group per organization and role, each carrying one of the
# organization's own policies (vault-bridge-org-<org>-maintain or -view) and nothing else.
path "identity/group/name/vault-bridge-org-*" {
  capabilities = ["create", "read", "update", "delete"]
  allowed_parameters = {
    "policies"          = ["vault-bridge-org-*"]
    "type"              = ["internal"]
    "metadata"          = []
    "member_entity_ids" = []
  }
}
path "identity/group/id/*" {
  capabilities = ["read"]
}
# The organization policies, rendered from policies/templates/org-*.hcl.
path "sys/policies/acl/vault-bridge-org-*" {
  capabilities = ["create", "read", "update", "delete"]
}

# Readiness: is the token still alive.
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
