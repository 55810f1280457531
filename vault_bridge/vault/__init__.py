"""Thin adapters over the Vault HTTP API: the only modules that import hvac or know Vault paths."""
