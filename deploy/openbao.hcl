# OpenBao for docker-compose.yml: one raft node, auto-unsealed with a static key that the "init"
# service generates once into the openbao-secrets volume, file audit device on, and a declarative
# self-initialization that creates the administrator AppRole used by "bootstrap" (its role_id and
# secret_id are files that "init" also writes into the admin-credential volume, for bootstrap).
# Production: use a KMS/HSM seal instead of a static key, TLS on the listener, and 3 or 5 nodes.
ui            = false
disable_mlock = true
api_addr      = "http://openbao:8200"
cluster_addr  = "http://openbao:8201"

storage "raft" {
  path    = "/openbao/data"
  node_id = "openbao-1"
}

listener "tcp" {
  address         = "0.0.0.0:8200"
  cluster_address = "0.0.0.0:8201"
  tls_disable     = true
}

seal "static" {
  current_key_id = "compose-1"
  current_key    = "file:///openbao/secrets/seal.key"
}

audit "file" "main" {
  options {
    file_path = "/openbao/logs/audit.log"
  }
}

initialize "vault-bridge-admin" {
  request "admin-policy" {
    operation = "update"
    path      = "sys/policies/acl/vault-bridge-admin"
    data = {
      policy = "path \"*\" { capabilities = [\"create\", \"read\", \"update\", \"patch\", \"delete\", \"list\", \"sudo\"] }"
    }
  }
  request "enable-approle" {
    operation = "update"
    path      = "sys/auth/approle"
    data = { type = "approle" }
  }
  request "admin-role" {
    operation = "update"
    path      = "auth/approle/role/vault-bridge-admin"
    data = { token_policies = ["vault-bridge-admin"], token_ttl = "1h", token_max_ttl = "24h" }
  }
  request "admin-role-id" {
    operation = "update"
    path      = "auth/approle/role/vault-bridge-admin/role-id"
    data = { role_id = { eval_type = "string", eval_source = "file", path = "/openbao/secrets/admin-role-id" } }
  }
  request "admin-secret-id" {
    operation = "update"
    path      = "auth/approle/role/vault-bridge-admin/custom-secret-id"
    data = { secret_id = { eval_type = "string", eval_source = "file", path = "/openbao/secrets/admin-secret-id" } }
  }
}
