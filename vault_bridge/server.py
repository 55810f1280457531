"""``vault-bridge serve``: supervise the embedded OpenBao (when there is no VAULT_ADDR), then
serve HTTP with the built-in threaded server or with gunicorn workers."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any

from vault_bridge import logs, metrics
from vault_bridge.bootstrap import bootstrap
from vault_bridge.config import Settings
from vault_bridge.embedded import EmbeddedOpenBao
from vault_bridge.services import Services
from vault_bridge.vault.names import RECONCILER_ROLE, RUNNER_ROLE, SERVICE_ROLE
from vault_bridge.vault.sys import Sys

ADMIN_USER = "admin"
Say = Callable[[str], Any]
# How gunicorn runs each worker: threads, so that a worker waiting on Vault serves others meanwhile.
GUNICORN_WORKER = {"worker_class": "gthread", "threads": 8, "graceful_timeout": 10}


class ServeError(RuntimeError):
    """The service cannot start."""


def run(settings: Settings) -> None:
    """Serve until interrupted; with the embedded default, start and stop OpenBao around it."""
    say = logs.configure(settings.log_style, settings.access_log_path).info
    workers = settings.serving_workers  # decided once: the embedded run's settings change below
    try:
        with metrics_directory() if workers > 0 else contextlib.nullcontext():
            if settings.embedded:
                serve_embedded(settings, workers, say)
            else:
                serve_http(settings, workers, say)
    finally:
        logs.release_broken_streams()


@contextlib.contextmanager
def metrics_directory() -> Iterator[str]:
    """Where gunicorn workers share their metrics: PROMETHEUS_MULTIPROC_DIR if set (emptied at
    start), else a new folder removed at exit."""
    given = os.environ.get(metrics.MULTIPROC_ENV)
    path = given or tempfile.mkdtemp(prefix="vault-bridge-metrics-")
    os.makedirs(path, exist_ok=True)
    metrics.use_multiprocess_directory(path)
    try:
        yield path
    finally:
        if not given:
            shutil.rmtree(path, ignore_errors=True)


def serve_embedded(settings: Settings, workers: int, say: Say) -> None:
    """Start the embedded OpenBao, serve, stop it."""
    server = EmbeddedOpenBao(
        settings.data_dir,
        settings.embedded_port,
        audit_max_bytes=settings.embedded_audit_max_mb * 2**20,
        audit_keep=settings.embedded_audit_keep,
    )
    found = server.find()
    if found is not None and not found.orphaned:
        raise ServeError(
            f"the embedded OpenBao in {settings.data_dir} is already running (pid {found.pid}, "
            f"started by pid {found.owner}): stop that one first (Ctrl-C where it runs, or "
            "`vault-bridge stop`)"
        )
    if found is not None:
        say(
            f"an embedded OpenBao (pid {found.pid}) was left running by a process that is gone; "
            "stopping it"
        )
        server.stop_found(found)
    say(f"starting the embedded OpenBao on {server.addr} (data in {server.root})")
    server.start()
    try:
        serve_http(prepare_embedded(server, settings, say), workers, say)
    finally:
        server.stop()  # first: saying so may fail (a closed pipe), stopping must not
        say("stopped the embedded OpenBao")


def prepare_embedded(server: EmbeddedOpenBao, settings: Settings, say: Say) -> Settings:
    """Bootstrap the embedded OpenBao, make sure the admin account exists, and return the
    settings the service runs with: its own AppRole, the runner's and the policy reconciler's
    (run in-process here), never the administrator."""
    admin = Services(settings, server.admin_client(timeout=settings.vault_timeout))
    for line in bootstrap(admin.client, settings).changed:
        say(f"bootstrap: {line}")
    ensure_admin_account(admin, settings, say)
    sys_ = Sys(admin.client)
    mount = settings.approle_mount
    return Settings.from_env(
        vault_addr=server.addr,
        audit_log=settings.audit_path,
        reconciler_role_id=sys_.approle_role_id(mount, RECONCILER_ROLE),
        reconciler_secret_id=server.role_secret(RECONCILER_ROLE, admin.client, mount),
        runner_role_id=sys_.approle_role_id(settings.approle_mount, RUNNER_ROLE),
        runner_secret_id=server.role_secret(RUNNER_ROLE, admin.client, settings.approle_mount),
        role_id=sys_.approle_role_id(settings.approle_mount, SERVICE_ROLE),
        secret_id=server.role_secret(SERVICE_ROLE, admin.client, settings.approle_mount),
    )


def ensure_admin_account(admin: Services, settings: Settings, say: Say) -> None:
    """Create the ``admin`` account on the first start; its password is shown once."""
    if admin.directory.userpass.read_user(ADMIN_USER) is not None:
        return
    password = settings.admin_password or secrets.token_urlsafe(18)
    admin.directory.create_user(ADMIN_USER, password, "Administrator")
    if settings.admin_password:
        say(f"created account '{ADMIN_USER}' with the password from VAULT_BRIDGE_ADMIN_PASSWORD")
    else:
        say(f"created account '{ADMIN_USER}'; its password, shown this once: {password}")


def serve_http(settings: Settings, workers: int, say: Say) -> None:
    """Werkzeug's threaded server (no workers) or gunicorn with ``workers`` workers."""
    if workers > 0:
        serve_gunicorn(settings, workers, say)
    else:
        serve_threaded(settings, say)


def serve_threaded(settings: Settings, say: Say) -> None:
    """Werkzeug's threaded server; SIGINT and SIGTERM stop it in order."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    from vault_bridge.app import create_app
    from vault_bridge.services import EXTENSION

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            """The app writes its own access log, without query strings."""

    app = create_app(settings)
    services: Services = app.extensions[EXTENSION]
    http = make_server(
        settings.host, settings.port, app, threaded=True, request_handler=QuietHandler
    )
    stop = threading.Event()

    def shutdown(signum: int, frame: object) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=http.shutdown, daemon=True).start()

    previous = {sig: signal.signal(sig, shutdown) for sig in (signal.SIGINT, signal.SIGTERM)}
    say(f"vault-bridge serving on http://{settings.host}:{settings.port} (Ctrl-C stops)")
    try:
        http.serve_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        services.close()
        say("vault-bridge stopped")


def serve_gunicorn(settings: Settings, workers: int, say: Say) -> None:
    """Gunicorn with gthread workers that share nothing but Vault, each with its own app."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.glogging import Logger

    from vault_bridge.app import create_app

    def worker_exited(arbiter: Any, worker: Any) -> None:
        """A dead worker's gauges leave the group's numbers; its counts stay in the totals."""
        metrics.mark_process_dead(worker.pid)

    class ServeLogger(Logger):  # type: ignore[misc]  # gunicorn ships no types
        def setup(self, cfg: Any) -> None:
            """Gunicorn's own messages go through serve's handlers (JSON or text), not its own."""
            super().setup(cfg)
            self.error_log.handlers = []
            self.error_log.propagate = True

    class Server(BaseApplication):  # type: ignore[misc]  # gunicorn ships no types
        def load_config(self) -> None:
            """Bind, workers and threads from the settings."""
            self.cfg.set("bind", f"{settings.host}:{settings.port}")
            self.cfg.set("workers", workers)
            for name, value in GUNICORN_WORKER.items():
                self.cfg.set(name, value)
            self.cfg.set("accesslog", None)  # the app writes its own, without query strings
            self.cfg.set("logger_class", ServeLogger)
            self.cfg.set("child_exit", worker_exited)

        def load(self) -> Any:
            """An app per worker, built after the fork."""
            return create_app(settings)

    say(
        f"vault-bridge serving on http://{settings.host}:{settings.port} "
        f"with {workers} gunicorn workers (Ctrl-C stops)"
    )
    Server().run()
    say("vault-bridge stopped")
