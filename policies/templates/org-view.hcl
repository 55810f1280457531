# Organization <org>, attached to its viewer group: the metadata of the organization's provider
# tokens (configured or not, hints, who changed them when), nothing else.
path "vault-bridge/metadata/orgs/<org>/provider-access-tokens" {
  capabilities = ["list"]
}
path "vault-bridge/metadata/orgs/<org>/provider-access-tokens/*" {
  capabilities = ["read", "list"]
}
