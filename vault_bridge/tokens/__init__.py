"""Personal access tokens: signed by Vault transit, verified locally, revoked via a denylist."""
