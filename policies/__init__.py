"""The Vault policies vault-bridge loads (``*.hcl``) and its per-organization templates."""
