# Attached to every account's own Vault token (userpass login). Templated: a user reaches only the
# paths named after their own identity entity, and even there provider token values are write-only.

path "vault-bridge/data/users/{{identity.entity.name}}/provider-access-tokens/*" {
  capabilities = ["create", "update", "delete"]
}
path "vault-bridge/metadata/users/{{identity.entity.name}}/provider-access-tokens" {
  capabilities = ["list"]
}
path "vault-bridge/metadata/users/{{identity.entity.name}}/provider-access-tokens/*" {
  capabilities = ["read", "list", "delete"]
}
path "vault-bridge/metadata/users/{{identity.entity.name}}/personal-access-tokens" {
  capabilities = ["list"]
}
path "vault-bridge/data/users/{{identity.entity.name}}/personal-access-tokens/*" {
  capabilities = ["read"]
}
path "vault-bridge/data/users/{{identity.entity.name}}/pat-index" {
  capabilities = ["read"]
}
