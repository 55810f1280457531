"""The two comparison servers of bench_http.py, under vault-bridge's own gunicorn settings.

  bare          a Flask app answering GET /healthz with {"status": "ok"}, nothing else
  vault-token   a Flask app answering GET /api/v1/user for a caller who sends a Vault token
                (X-Vault-Token), checked at Vault with lookup-self on every request: what
                "personal access tokens as Vault tokens" would cost

Run: .venv/bin/python benchmarks/http_apps.py {bare|vault-token} --port N [--vault-addr URL]
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hvac
import requests
from flask import Flask, Response, jsonify, request
from gunicorn.app.base import BaseApplication

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vault_bridge.server import GUNICORN_WORKER

WORKERS = 2


def bare_app() -> Flask:
    """Flask and nothing else."""
    app = Flask("bare")

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})

    return app


def vault_token_app(vault_addr: str) -> Flask:
    """Each request's Vault token looked up at Vault (one client, kept-alive, per thread)."""
    app = Flask("vault_token")
    local = threading.local()

    def client() -> hvac.Client:
        if not hasattr(local, "client"):
            session = requests.Session()
            session.trust_env = False
            local.client = hvac.Client(url=vault_addr, session=session)
        return local.client

    @app.get("/api/v1/user")
    def user() -> tuple[Response, int]:
        vault = client()
        vault.token = request.headers.get("X-Vault-Token", "")
        try:
            data = vault.auth.token.lookup_self()["data"]
        except hvac.exceptions.VaultError:
            return jsonify({"error": {"code": "invalid_token", "message": "bad token"}}), 401
        user = (data.get("meta") or {}).get("user")
        answer = {"id": user, "policies": data["policies"], "expires_at": data["expire_time"]}
        return jsonify(answer), 200

    return app


class Standalone(BaseApplication):  # type: ignore[misc]  # gunicorn ships no types
    """Gunicorn with vault-bridge's worker settings around ``factory``'s app."""

    def __init__(self, factory: Callable[[], Flask], port: int) -> None:
        self.factory = factory
        self.port = port
        super().__init__()

    def load_config(self) -> None:
        self.cfg.set("bind", f"127.0.0.1:{self.port}")
        self.cfg.set("workers", WORKERS)
        for name, value in GUNICORN_WORKER.items():
            self.cfg.set(name, value)
        self.cfg.set("accesslog", None)

    def load(self) -> Any:
        return self.factory()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("app", choices=("bare", "vault-token"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--vault-addr", default="")
    args = parser.parse_args()
    factory = bare_app if args.app == "bare" else (lambda: vault_token_app(args.vault_addr))
    sys.argv = sys.argv[:1]  # gunicorn reads its own options from the command line
    Standalone(factory, args.port).run()


if __name__ == "__main__":
    main()
