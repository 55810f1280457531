"""Provider access tokens ("bring your own token"): a catalog and a write-only store in Vault KV."""
