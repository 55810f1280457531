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
path "auth/userpass/users" {
  capabilities = ["list"]
}
path "auth/userpass/users/*" {
  capabilities = ["create", "read", "update", "delete"]
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

# Readiness: is the token still alive.
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
