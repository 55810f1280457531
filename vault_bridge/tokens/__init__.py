"""Personal access tokens: issue through Vault transit, verify locally, revoke through a denylist."""
