"""The JSON API (``/api/v1``), the JWKS and the health endpoints."""
