"""vault-bridge: personal and provider access tokens kept in HashiCorp Vault or OpenBao."""

__version__ = "0.1.0"
