"""Run-time delivery: grants bound to one job, redeemed once by a job runner through Vault
response wrapping; and the runner's client."""
