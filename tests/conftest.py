"""Fixtures: one real OpenBao per test process (the embedded module itself), apps built on it.

Nothing here mocks hvac or Vault: every test talks to the server started below. Under
pytest-xdist (``make test``) each worker is its own process with its own OpenBao, so workers share
nothing but the machine.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask

from tests.container_server import server_under_test
from tests.helpers import Account, Api, free_port_pair, unique_id
from vault_bridge.app import create_app
from vault_bridge.bootstrap import RECONCILER_ROLE, RUNNER_ROLE, SERVICE_ROLE, bootstrap
from vault_bridge.config import Settings
from vault_bridge.directory.users import Directory
from vault_bridge.embedded import EmbeddedOpenBao, bao_binary
from vault_bridge.services import Services
from vault_bridge.tokens.compaction import CompactionPolicy, Compactor
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.revocations import RevocationStore
from vault_bridge.vault.sys import Sys
from vault_bridge.vault.userpass import Userpass

ISSUER = "https://vault-bridge.test"
_early_bao: list[Future[EmbeddedOpenBao]] = []


# Every OpenBao the suite starts (its own, and those `vault-bridge serve` starts in tests) inherits
# these: one Go scheduler thread and a garbage collection at 4x the live heap instead of 2x. A
# test server handles a request at a time per client; with the defaults, idle scheduler threads
# spinning for work and frequent collections cost it about a quarter of its CPU.
OPENBAO_ENV = {"GOMAXPROCS": "1", "GOGC": "400"}
# The suite's temporary folders (each OpenBao's raft storage and audit log among them) go to
# memory where it has room: raft syncs every write to disk, which here only makes tests wait.
MEMORY_TEMP_ROOT = "/dev/shm"
MEMORY_TEMP_MIN_FREE = 4 * 2**30


def pytest_configure(config: pytest.Config) -> None:
    """Hypothesis without its per-example deadline (a loaded machine is slow, not wrong); the
    OpenBao environment and the temporary folders above, unless the caller chose otherwise."""
    from hypothesis import settings

    settings.register_profile("vault-bridge", deadline=None)
    settings.load_profile("vault-bridge")
    for name, value in OPENBAO_ENV.items():
        os.environ.setdefault(name, value)
    if not config.option.basetemp and "PYTEST_DEBUG_TEMPROOT" not in os.environ:
        with contextlib.suppress(OSError):
            stat = os.statvfs(MEMORY_TEMP_ROOT)
            if stat.f_bavail * stat.f_frsize >= MEMORY_TEMP_MIN_FREE:
                os.environ["PYTEST_DEBUG_TEMPROOT"] = MEMORY_TEMP_ROOT


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start this process's OpenBao at once: its start is mostly waiting, which overlaps collection.

    Not in an xdist controller (it runs no tests) nor when only collecting; the ``bao`` fixture
    takes the server over, or starts one itself when none was started here.
    """
    config = session.config
    factory = getattr(config, "_tmp_path_factory", None)  # what tmp_path_factory returns
    runs_tests = hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", 0)
    if factory is None or not runs_tests or config.option.collectonly:
        return
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="openbao-start")
    _early_bao.append(executor.submit(start_openbao, factory, "openbao"))
    executor.shutdown(wait=False)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Leave what collection imported (pytest, hypothesis, pydantic, Flask, the project: about
    150,000 objects that live as long as the process) out of the garbage collector's full
    passes, which otherwise walk all of it every time: about 1 s of CPU per worker."""
    gc.freeze()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop an OpenBao started early that no test used."""
    for future in _early_bao:
        with contextlib.suppress(Exception):
            future.result().stop()


# Tests that share something costly per process run on one worker: the SDK tests import the
# planqk SDK and qiskit (about 3.5 s of CPU in every worker that runs one of them); the browser
# tests share one Chromium and Playwright driver (spread over four workers, starting four of
# them cost about 16 s more CPU than the 40 s the whole browser suite takes in one).
GROUPS = {"tests/e2e/": "planqk-sdk", "tests/browser/": "browser"}
# Groups long enough to start first, like the slow tests (see pytest_collection_modifyitems).
LONG_GROUPS = {"browser"}


def group_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its group, else the test alone."""
    return next((group for folder, group in GROUPS.items() if nodeid.startswith(folder)), nodeid)


@pytest.hookimpl(optionalhook=True)  # xdist's hook: unknown under ``-p no:xdist``
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` with the groups above.

    xdist's own loadgroup reads ``xdist_group`` marks by rewriting node ids, which pytest 9.2's
    structured node ids silently ignore: every test went to any worker. This scheduler asks
    ``group_of`` instead (each group is a scope of xdist's load-scope scheduling, every other
    test a scope of its own), in the order of ``pytest_collection_modifyitems``.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return GroupScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the slow tests and long groups first, then the unit tests, then the integration
    tests, and those that fill the denylist last.

    Slow tests and long groups are long single units of work: started first, they overlap with
    the many short tests on the other workers instead of trailing at the end. So do the unit
    tests, a few of which run for seconds (a million revoked ids, child pytest runs): last, they
    left one worker busy for 20 s after the others had finished. A test that fills the denylist
    makes every later app start on its worker read all of it.
    """

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("slow") or group_of(item.nodeid) in LONG_GROUPS:
            return 0
        if item.get_closest_marker("fills_denylist"):
            return 3
        return 1 if item.nodeid.startswith("tests/unit/") else 2

    items.sort(key=rank)  # stable: collection order within a rank


@pytest.fixture(scope="session")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedOpenBao]:
    """A real OpenBao (raft, static seal, self-init, audit log) on free loopback ports."""
    try:
        bao_binary()
    except FileNotFoundError as exc:  # pragma: no cover - the dev extra installs it
        pytest.fail(str(exc))
    server = _early_bao.pop().result() if _early_bao else start_openbao(tmp_path_factory, "openbao")
    yield server
    server.stop()


def start_openbao(tmp_path_factory: pytest.TempPathFactory, name: str) -> EmbeddedOpenBao:
    """Start the server under test in a new temporary folder, on another port pair if one is taken.

    A free port pair can be taken by another process (another worker, another suite) between the
    check and OpenBao's bind; the server then exits at once and a second pair is tried.
    """
    attempts = 3
    while True:
        attempts -= 1
        server = server_under_test(tmp_path_factory.mktemp(name), free_port_pair())
        try:
            server.start()
            return server
        except RuntimeError:
            log = server.server_log
            if not attempts or not log.exists() or "address already in use" not in log.read_text():
                raise


@pytest.fixture(scope="session")
def base_settings(bao: EmbeddedOpenBao) -> Settings:
    """Settings pointing at the test server, with short intervals so tests run fast."""
    return Settings.from_env(
        env={},
        vault_addr=bao.addr,
        audit_log=str(bao.root.parent / "vault-bridge-audit.jsonl"),
        issuer=ISSUER,
        denylist_poll_interval=0.25,
        denylist_max_staleness=2.0,
        directory_cache_ttl=0.5,
        # uses are written when a test flushes them or at the replica's own pace; the tests of
        # the background writer set a short interval themselves
        last_used_interval=60.0,
    )


@pytest.fixture(scope="session")
def admin_client(bao: EmbeddedOpenBao, base_settings: Settings) -> VaultClient:
    """The embedded administrator, after bootstrap."""
    client = bao.admin_client()
    bootstrap(client, base_settings)
    return client


@pytest.fixture(scope="session")
def admin(admin_client: VaultClient, base_settings: Settings) -> Iterator[Services]:
    """Operator-level services (what the CLI uses)."""
    services = Services(base_settings, admin_client, reconciler_vault=admin_client)
    yield services
    services.close()


class RevocationFolder:
    """Folds the test server's revocation log into checkpoint chunks once it grows a few slots.

    Every app start reads the log slots past the checkpoint, one Vault read each, and the
    service folds only after hundreds of slots: without this, each revocation a test leaves in
    its worker's OpenBao is read again by every later app start on that worker. Folding between
    tests uses the service's own compaction (any replica may compact), so every later start
    reads the same revocations from chunks and a short log, as replicas of a long-running
    deployment do; nothing folds while a test runs.
    """

    FOLD_AFTER = 8  # slots past the checkpoint

    def __init__(self, store: RevocationStore, retain: float) -> None:
        self.store = store
        self.compactor = Compactor(store, CompactionPolicy(fold_after=self.FOLD_AFTER), retain)
        self.head = 0  # the highest log slot known to exist
        self.through = 0  # the checkpoint's ``through`` after the last fold

    def fold_if_long(self) -> None:
        """Find the log's head (usually one read of the next slot); fold when it is long."""
        while self.store.read_slot(self.head + 1) is not None:
            self.head += 1
        if self.head - self.through >= self.FOLD_AFTER:
            # every entry counts as live: a fold here never rewrites chunks to drop garbage
            self.through = self.compactor.run(self.head, live=sys.maxsize).through


@pytest.fixture(scope="session")
def revocation_folder(admin: Services) -> RevocationFolder:
    """The folder of the service's revocation log on this worker's OpenBao."""
    denylist = admin.tokens.denylist
    return RevocationFolder(denylist.store, denylist.compactor.retain)


@pytest.fixture(autouse=True)
def _fold_revocations(request: pytest.FixtureRequest) -> None:
    """Before each test that uses the bootstrapped server, fold the log if it has grown."""
    if "admin_client" in request.fixturenames:
        request.getfixturevalue("revocation_folder").fold_if_long()


@pytest.fixture(scope="session")
def service_settings(admin_client: VaultClient, base_settings: Settings) -> Settings:
    """Settings with the service's own AppRole credentials (its policy, not the admin's), and
    the runner's and the reconciler's, as `make run` gives them."""
    sys_ = Sys(admin_client)
    mount = base_settings.approle_mount
    return Settings.from_env(
        env={},
        **{
            **_fields(base_settings),
            "role_id": sys_.approle_role_id(base_settings.approle_mount, SERVICE_ROLE),
            "secret_id": sys_.approle_secret_id(base_settings.approle_mount, SERVICE_ROLE),
            "runner_role_id": sys_.approle_role_id(base_settings.approle_mount, RUNNER_ROLE),
            "runner_secret_id": sys_.approle_secret_id(base_settings.approle_mount, RUNNER_ROLE),
            "reconciler_role_id": sys_.approle_role_id(mount, RECONCILER_ROLE),
            "reconciler_secret_id": sys_.approle_secret_id(mount, RECONCILER_ROLE),
        },
    )


def _fields(settings: Settings) -> dict[str, Any]:
    return settings.model_dump()


@pytest.fixture
def make_app(service_settings: Settings) -> Iterator[Callable[..., Flask]]:
    """Build app instances (replicas) sharing the test Vault; closed after the test."""
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        settings = Settings.from_env(env={}, **{**_fields(service_settings), **overrides})
        app = create_app(settings)
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["vault_bridge"].close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """One app instance."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> Any:
    """A test client of that instance."""
    return app.test_client()


@pytest.fixture
def api(client: Any) -> Api:
    """The API driver for that client."""
    return Api(client)


PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def password_hash() -> str:
    """The accounts' password as bcrypt at cost 5, the least OpenBao's userpass accepts."""
    import bcrypt

    return bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(5)).decode()


class _PrehashedUserpass(Userpass):
    """The service's userpass writes, with the test password sent as its bcrypt hash at cost 5."""

    def __init__(self, userpass: Userpass, password_hash: str) -> None:
        super().__init__(userpass.client, userpass.mount)
        self._hash = password_hash

    def write_user(
        self, name: str, *, password: str | None, policy: str, password_hash: str | None = None
    ) -> None:
        """Write the account with the precomputed hash of ``PASSWORD`` in place of the password."""
        assert password == PASSWORD and password_hash is None
        super().write_user(name, password=None, policy=policy, password_hash=self._hash)


@contextlib.contextmanager
def accounts(admin: Services, password_hash: str) -> Iterator[Callable[..., Account]]:
    """Create accounts; gone again on leaving.

    Each account is created by the service's own directory code (checks, entity, alias,
    metadata, login policy and TTL), except that the password reaches OpenBao as a bcrypt hash
    at cost 5 instead of being hashed there at cost 10: every sign-in is still checked by
    OpenBao's userpass, and creating or signing in costs a few milliseconds of its CPU instead
    of about 80.

    On leaving, the organizations an account owns are deleted by the service (every replica's
    policy reconciler looks at each organization when it starts), then its login and entity
    (two requests): the account can no longer sign in, verify a PAT, be listed or be found. What
    it left in its own KV folder (records, sessions) stays in this worker's OpenBao, which is
    discarded after the run; ids are unique, so no later test meets it. The service's own
    account deletion (about 20 requests) is tested where it is the subject.
    """
    created: list[str] = []
    directory = Directory(admin.client, admin.settings)
    directory.userpass = _PrehashedUserpass(directory.userpass, password_hash)

    def build(prefix: str = "u", **profile: str) -> Account:
        account = Account(unique_id(prefix), PASSWORD)
        directory.create_user(account.id, account.password, **profile)
        created.append(account.id)
        return account

    yield build
    for user_id in created:
        user = directory.get_user(user_id)
        for org, role in user.memberships.items() if user else ():
            if role == "owner" and admin.orgs.profile(org) is not None:
                admin.orgs.delete(org, actor="test-cleanup")
        directory.userpass.delete_user(user_id)
        directory.identity.delete_entity(user_id)


@pytest.fixture
def make_user(admin: Services, password_hash: str) -> Iterator[Callable[..., Account]]:
    """Create accounts; gone again after the test (see ``accounts``)."""
    with accounts(admin, password_hash) as build:
        yield build


@pytest.fixture(scope="module")
def module_user(admin: Services, password_hash: str) -> Iterator[Account]:
    """One account for the tests of a module that only send what is refused or only read.

    Sharing it is safe only where no test changes the account or the service's state (a test
    whose request was wrongly accepted fails on its own assertion either way); a module says
    which of its tests use it and why.
    """
    with accounts(admin, password_hash) as build:
        yield build()


@pytest.fixture(scope="module")
def module_app(service_settings: Settings) -> Iterator[Flask]:
    """One app instance for the tests of a module that change nothing in it (see module_user)."""
    app = create_app(Settings.from_env(env={}, **_fields(service_settings)))
    app.config["TESTING"] = True
    yield app
    app.extensions["vault_bridge"].close()


@pytest.fixture
def user(make_user: Callable[..., Account]) -> Account:
    """One account."""
    return make_user()


@pytest.fixture(scope="session")
def bao_cli(bao: EmbeddedOpenBao) -> Callable[..., Any]:
    """Run the real bao CLI against the test server with a given token."""
    import subprocess

    def run(*args: str, token: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/bin:/bin", "BAO_ADDR": bao.addr, "BAO_TOKEN": token, "HOME": "/tmp"}
        return subprocess.run(
            [bao_binary(), *args], env=env, capture_output=True, text=True, check=check, timeout=30
        )

    assert shutil.which("true")
    return run


@pytest.fixture
def live(make_app) -> Iterator[Callable[..., Any]]:
    """Serve app instances over real HTTP; stopped after the test."""
    from tests.helpers import LiveServer

    servers: list[LiveServer] = []

    def serve(app: Flask | None = None, **overrides: Any) -> LiveServer:
        server = LiveServer(app or make_app(**overrides))
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def runner_vault(bao: EmbeddedOpenBao, admin_client: VaultClient) -> VaultClient:
    """A Vault client logged in as a job runner (AppRole vault-bridge-runner)."""
    from vault_bridge.bootstrap import RUNNER_ROLE

    sys_ = Sys(admin_client)
    return VaultClient(
        bao.addr,
        role_id=sys_.approle_role_id("approle", RUNNER_ROLE),
        secret_id=sys_.approle_secret_id("approle", RUNNER_ROLE),
    )
