"""Protective response headers, on every answer: pages, the JSON API, errors, static files,
/metrics and 404s alike."""

from __future__ import annotations

from flask import Flask, Response, request

# Pages load their script and stylesheet from this origin only; nothing inline, no framing.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Everything else is data, never a document: it may load nothing and be framed by nobody.
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000"
STATIC_ENDPOINTS = frozenset({"static", "web.static"})  # cacheable: no secrets in them


def protect(response: Response) -> Response:
    """Add the headers to one response (a view's own values win, e.g. a public cache)."""
    for name, value in ALWAYS.items():
        response.headers.setdefault(name, value)
    page = response.mimetype == "text/html"
    response.headers.setdefault("Content-Security-Policy", PAGE_POLICY if page else DATA_POLICY)
    if request.endpoint not in STATIC_ENDPOINTS:
        response.headers.setdefault("Cache-Control", "no-store")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def register(app: Flask) -> None:
    """Send the headers with every response of ``app``."""
    app.after_request(protect)
