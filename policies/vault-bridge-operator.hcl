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
path "auth/userpass/users/*" {
  capabilities = ["create", "read", "update", "delete"]
}
path "identity/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
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
