# Organization <org>, attached to its owner and maintainer groups: set, replace and delete the
# organization's provider tokens, read their metadata; never read a token value back.
path "vault-bridge/data/orgs/<org>/provider-access-tokens/*" {
  capabilities = ["create", "update", "delete"]
}
path "vault-bridge/metadata/orgs/<org>/provider-access-tokens" {
  capabilities = ["list"]
}
path "vault-bridge/metadata/orgs/<org>/provider-access-tokens/*" {
  capabilities = ["read", "list", "delete"]
}
