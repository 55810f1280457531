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
    headers = response.headers
    # one pass over the names the response has (Headers.setdefault searches the list, and
    # raises and catches an exception, once per missing name: most of this hook's cost)
    present = {name.lower() for name in headers.keys()}  # noqa: SIM118  # Headers is a list
    wanted = list(ALWAYS.items())
    page = response.mimetype == "text/html"
    wanted.append(("Content-Security-Policy", PAGE_POLICY if page else DATA_POLICY))
    if request.endpoint not in STATIC_ENDPOINTS:
        wanted.append(("Cache-Control", "no-store"))
    if request.is_secure:
        wanted.append(("Strict-Transport-Security", HSTS))
    headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
    return response


def register(app: Flask) -> None:
    """Send the headers with every response of ``app``."""
    app.after_request(protect)
