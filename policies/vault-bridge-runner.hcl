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
