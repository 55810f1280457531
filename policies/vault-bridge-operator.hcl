# Human operators working with the bao/vault CLI: inspect and manage, never read secret data.
# Provider token values (vault-bridge/data/users/*/provider-access-tokens/*, .../orgs/...) are not
# readable; their metadata is, and so are PAT records, which never contain a token.

path "vault-bridge/metadata/*" {
  capabilities = ["read", "list", "delete"]
}
path "vault-bridge/data/users/+/personal-access-tokens/*" {
  capabilities = ["read", "delete"]
}
path "vault-bridge/data/users/+/pat-index" {
  capabilities = ["read"]
}
path "vault-bridge/data/pat-owners/*" {
  capabilities = ["read"]
}
path "vault-bridge/data/pat-blocks/*" {
  capabilities = ["read"]
}
path "vault-bridge/data/orgs/+/pat-usage" {
  capabilities = ["read"]
}
path "vault-bridge/data/denylist/*" {
  capabilities = ["read", "create", "update", "patch"]
}

path "vault-bridge-transit/keys/personal-access-tokens" {
  capabilities = ["read"]
}
path "vault-bridge-transit/keys/personal-access-tokens/rotate" {
  capabilities = ["update"]
}

path "auth/userpass/users" {
  capabilities = ["list"]
}
# Accounts: passwords (vault-bridge users set-password ends the sessions too), never a policy
# other than vault-bridge-user on an account's token.
path "auth/userpass/users/*" {
  capabilities = ["create", "read", "update", "delete"]
  allowed_parameters = {
    "password"       = []
    "token_policies" = ["vault-bridge-user"]
    "token_ttl"      = []
  }
}
# Identities: members, disabling, metadata; never policies on an entity or group (organization
# policies are the reconciler's).
path "identity/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
  denied_parameters = {
    "policies" = []
  }
}
path "sys/policies/acl" {
  capabilities = ["list"]
}
path "sys/policies/acl/*" {
  capabilities = ["read"]
}
path "sys/mounts" {
  capabilities = ["read"]
}
path "sys/auth" {
  capabilities = ["read"]
}
