# Job runners (AppRole "vault-bridge-runner"): they unwrap the single-use wrapping tokens that
# vault-bridge hands out for one job, and can read nothing else. In particular no path under the
# vault-bridge KV mount is granted: a runner never reads provider tokens directly.
path "sys/wrapping/unwrap" {
  capabilities = ["update"]
}
path "sys/wrapping/lookup" {
  capabilities = ["update"]
}
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
