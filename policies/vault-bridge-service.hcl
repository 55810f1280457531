# The vault-bridge service itself (AppRole "vault-bridge"): the process that answers HTTP requests.
# It manages records under its KV mount, signs PATs, and maps accounts to identities.
# It can neither rotate nor export the signing key, nor write any policy, nor put a policy on an
# account, an entity or a group: the organizations' policies come from the reconciler
# (vault-bridge-reconciler.hcl), rendered only from policies/templates.

# PAT records, provider tokens, the denylist, organization profiles and its own settings.
path "vault-bridge/data/*" {
  capabilities = ["create", "read", "update", "patch", "delete"]
}
path "vault-bridge/metadata/*" {
  capabilities = ["read", "list", "update", "patch", "delete"]
}
# ... but not the reconciler's record of its last full look: a service that could write it could
# put off the repair of hand-made changes to organization policies.
path "vault-bridge/data/reconcile/state" {
  capabilities = ["deny"]
}
path "vault-bridge/metadata/reconcile/state" {
  capabilities = ["deny"]
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

# One identity entity per account, holding display name and e-mail: metadata only, never
# policies, never disabled or enabled by the service.
path "identity/entity/name" {
  capabilities = ["list"]
}
path "identity/entity/name/*" {
  capabilities = ["create", "read", "update", "delete"]
  allowed_parameters = {
    "metadata" = []
  }
}
path "identity/entity/id/*" {
  capabilities = ["read"]
}
# An account's login is tied to its entity by an alias on the userpass mount only (bootstrap
# writes that mount's accessor here).
path "identity/entity-alias" {
  capabilities = ["create", "update"]
  allowed_parameters = {
    "name"           = []
    "canonical_id"   = []
    "mount_accessor" = ["<userpass-accessor>"]
  }
}

# Organizations: one internal group per organization and role. The service creates them and
# manages their members; it cannot set their policies (the reconciler does) nor nest groups.
path "identity/group/name/vault-bridge-org-*" {
  capabilities = ["create", "read", "update", "delete"]
  allowed_parameters = {
    "type"              = ["internal"]
    "metadata"          = []
    "member_entity_ids" = []
  }
}
path "identity/group/id/*" {
  capabilities = ["read"]
}

# Readiness: is the token still alive.
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

# Its own token: renewed before it runs out, revoked when the process stops (the AppRole gives
# no "default" policy, which would grant these among much else).
path "auth/token/renew-self" {
  capabilities = ["update"]
}
path "auth/token/revoke-self" {
  capabilities = ["update"]
}
