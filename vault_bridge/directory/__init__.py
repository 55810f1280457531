"""User accounts (and later organizations) mapped to Vault userpass and identity entities."""
