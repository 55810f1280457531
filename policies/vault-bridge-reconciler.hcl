# The organization policy reconciler (AppRole "vault-bridge-reconciler"): a process of its own
# that answers no requests. It writes the policies vault-bridge-org-<org>-maintain and -view,
# rendered only from policies/templates with organization ids that pass the id rule, puts them on
# the organization's existing role groups, and deletes the policies of deleted organizations.
# It reads no secret, cannot change who is in a group, and cannot touch any other policy.

path "sys/policies/acl" {
  capabilities = ["list"]
}
path "sys/policies/acl/vault-bridge-org-*" {
  capabilities = ["create", "read", "update", "delete"]
}
path "identity/group/name/vault-bridge-org-*" {
  capabilities = ["read", "update"]
  allowed_parameters = {
    "type"     = ["internal"]
    "policies" = ["vault-bridge-org-*"]
  }
}

# Which organizations exist (their profiles), and which asked to be looked at.
path "vault-bridge/metadata/orgs" {
  capabilities = ["list"]
}
path "vault-bridge/data/orgs/+/profile" {
  capabilities = ["read"]
}
path "vault-bridge/metadata/reconcile/orgs" {
  capabilities = ["list"]
}
path "vault-bridge/metadata/reconcile/orgs/*" {
  capabilities = ["delete"]
}

# The record of the last completed look at every organization, shared by every replica so that
# one look per VAULT_BRIDGE_RECONCILE_FULL_INTERVAL serves them all.
path "vault-bridge/data/reconcile/state" {
  capabilities = ["create", "read", "update"]
}

# Its own token: renewed before it runs out, revoked when the process stops (the AppRole gives
# no "default" policy, which would grant these among much else).
path "auth/token/renew-self" {
  capabilities = ["update"]
}
path "auth/token/revoke-self" {
  capabilities = ["update"]
}
