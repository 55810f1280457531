"""`make run` as a user meets it: `vault-bridge serve` on the embedded OpenBao, Ctrl-C, restart."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.helpers import CLI, eventually, free_port, free_port_pair
from vault_bridge.embedded import EmbeddedOpenBao, bao_binary

pytestmark = pytest.mark.slow


class Served:
    """A `vault-bridge serve` process and its output."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.handle = open(log, "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [CLI, "serve"], env=env, stdout=self.handle, stderr=subprocess.STDOUT
        )
        self.base = f"http://{env['VAULT_BRIDGE_HOST']}:{env['VAULT_BRIDGE_PORT']}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                if requests.get(f"{self.base}/readyz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or still starting
                pass
            time.sleep(0.1)
        raise AssertionError("serve did not become ready: " + self.output())

    def output(self) -> str:
        if not self.handle.closed:
            self.handle.flush()
        return self.log.read_text()

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.wait()

    def wait(self) -> int:
        code = self.process.wait(timeout=30)
        self.handle.close()
        return code


@pytest.fixture
def serve_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "VAULT_BRIDGE_DATA_DIR": str(tmp_path / "var"),
        "VAULT_BRIDGE_EMBEDDED_PORT": str(free_port_pair()),
        "VAULT_BRIDGE_HOST": "127.0.0.1",
        "VAULT_BRIDGE_PORT": str(free_port()),
    }


def test_serve_bootstraps_creates_admin_stops_cleanly_and_keeps_data(serve_env, tmp_path) -> None:
    first = Served(serve_env, tmp_path / "first.log")
    match = re.search(r"its password, shown this once: (\S+)", first.output())
    assert match, first.output()
    password = match.group(1)
    http = requests.Session()
    login = http.post(
        f"{first.base}/api/v1/session", json={"username": "admin", "password": password}
    )
    assert login.status_code == 200
    created = http.post(
        f"{first.base}/api/v1/user/personal-access-tokens",
        json={"name": "kept", "scopes": ["api"]},
        headers={"X-CSRF-Token": login.json()["csrf_token"]},
    )
    assert created.status_code == 201
    token = created.json()["token"]
    assert (
        requests.get(f"{first.base}/api/v1/user", headers={"X-Auth-Token": token}).status_code
        == 200
    )

    # the CLI talks to the running server (same data dir)
    listed = subprocess.run(
        [CLI, "pats", "list", "admin"], env=serve_env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0 and "kept" in listed.stdout

    server = EmbeddedOpenBao(
        serve_env["VAULT_BRIDGE_DATA_DIR"], int(serve_env["VAULT_BRIDGE_EMBEDDED_PORT"])
    )
    bao_pid = int((server.root / "bao.pid").read_text())
    assert first.interrupt() == 0
    assert "vault-bridge stopped" in first.output()
    assert "serving on" in first.output() and "gunicorn" not in first.output()  # Werkzeug
    # the terminal stays readable: requests go to the access log, one JSON object per line
    assert "/readyz" not in first.output() and "/api/v1/user" not in first.output()
    access = [json.loads(x) for x in (server.root.parent / "access.jsonl").read_text().splitlines()]
    assert {"/readyz", "/api/v1/user"} <= {entry["route"] for entry in access}
    with pytest.raises(ProcessLookupError):  # stopped and reaped before serve exited
        os.kill(bao_pid, 0)
    assert password not in (server.root / "audit.log").read_text()
    assert token not in (server.root / "audit.log").read_text()

    # the CLI also works while nothing runs: it starts the embedded server for the command
    listed = subprocess.run(
        [CLI, "pats", "list", "admin"], env=serve_env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0 and "kept" in listed.stdout
    assert not server.is_running()

    started = time.monotonic()
    second = Served(serve_env, tmp_path / "second.log")
    assert time.monotonic() - started < 15
    try:
        assert "password" not in second.output()
        assert "bootstrap:" not in second.output()  # nothing left to set up
        me = requests.get(
            f"{second.base}/api/v1/user", headers={"Authorization": f"Bearer {token}"}
        )
        assert me.status_code == 200 and me.json()["id"] == "admin"
    finally:
        assert second.interrupt() == 0


def test_admin_password_from_the_environment(serve_env, tmp_path) -> None:
    env = {**serve_env, "VAULT_BRIDGE_ADMIN_PASSWORD": "from-the-environment"}
    served = Served(env, tmp_path / "serve.log")
    try:
        assert "from-the-environment" not in served.output()
        login = requests.post(
            f"{served.base}/api/v1/session",
            json={"username": "admin", "password": "from-the-environment"},
        )
        assert login.status_code == 200
    finally:
        served.interrupt()


def test_files_are_private_and_audit_log_is_on(bao) -> None:
    for name in ("seal.key", "admin-role-id", "admin-secret-id"):
        assert (bao.root / name).stat().st_mode & 0o077 == 0
    assert bao.root.stat().st_mode & 0o077 == 0
    assert bao.audit_log.exists() and bao.audit_log.stat().st_size > 0
    assert 'type = "file"' not in bao.audit_log.read_text()[:10]


def test_a_second_serve_on_the_same_data_is_refused(serve_env, tmp_path) -> None:
    served = Served(serve_env, tmp_path / "one.log")
    try:
        other = subprocess.run(
            [CLI, "serve"],
            env={**serve_env, "VAULT_BRIDGE_PORT": str(free_port())},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert other.returncode == 1
        assert "already running" in other.stderr
    finally:
        served.interrupt()


def gone(pid: int) -> bool:
    """True when no process (not even a zombie) has this pid."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def test_ctrl_c_after_the_pipe_reader_is_gone_still_stops_openbao(serve_env, tmp_path) -> None:
    """`make run 2>&1 | tee run.log`, then Ctrl-C: tee dies first, serve must still stop bao."""
    read, write = os.pipe()
    with open(tmp_path / "tee.log", "wb") as seen:
        reader = subprocess.Popen(  # tee
            [sys.executable, "-c", "import os\nwhile data := os.read(0, 65536): os.write(1, data)"],
            stdin=read,
            stdout=seen,
        )
    serve = subprocess.Popen([CLI, "serve"], env=serve_env, stdout=write, stderr=write)
    os.close(read)
    os.close(write)
    base = f"http://{serve_env['VAULT_BRIDGE_HOST']}:{serve_env['VAULT_BRIDGE_PORT']}"

    def ready() -> bool:
        assert serve.poll() is None, (tmp_path / "tee.log").read_text()
        try:
            return requests.get(f"{base}/readyz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    eventually(ready, timeout=60, interval=0.1)
    server = EmbeddedOpenBao(
        serve_env["VAULT_BRIDGE_DATA_DIR"], int(serve_env["VAULT_BRIDGE_EMBEDDED_PORT"])
    )
    bao_pid = int((server.root / "bao.pid").read_text())
    reader.kill()
    reader.wait()
    serve.send_signal(signal.SIGINT)
    assert serve.wait(timeout=30) == 0
    assert gone(bao_pid)
    assert not (server.root / "bao.pid").exists()
    assert "serving on" in (tmp_path / "tee.log").read_text()


def test_kill_9_of_serve_takes_openbao_along_and_a_restart_just_works(serve_env, tmp_path) -> None:
    first = Served(serve_env, tmp_path / "first.log")
    server = EmbeddedOpenBao(
        serve_env["VAULT_BRIDGE_DATA_DIR"], int(serve_env["VAULT_BRIDGE_EMBEDDED_PORT"])
    )
    bao_pid = int((server.root / "bao.pid").read_text())
    first.process.kill()
    first.wait()
    eventually(lambda: gone(bao_pid), timeout=15)  # its owner died: it was told to stop

    second = Served(serve_env, tmp_path / "second.log")  # not "already running"
    stop = subprocess.run([CLI, "stop"], env=serve_env, capture_output=True, text=True, timeout=60)
    assert stop.returncode == 0 and "stopped" in stop.stdout, stop.stderr
    assert second.wait() == 0  # stopped in order, by its owner
    assert "stopped the embedded OpenBao" in second.output()
    assert server.find() is None
    again = subprocess.run([CLI, "stop"], env=serve_env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "not running" in again.stdout


def is_bao(pid: int) -> bool:
    """Whether the process runs the bao binary itself (not a shell about to become it)."""
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0] == bao_binary().encode()


def start_orphan(serve_env: dict[str, str]) -> tuple[EmbeddedOpenBao, int]:
    """Start an OpenBao on the data folder that nothing ties to (another platform, an older
    version): started in the background by a shell that then exits. Another port pair is tried
    when the first was taken meanwhile (by another process of a busy machine)."""
    for attempt in range(3):
        server = EmbeddedOpenBao(
            serve_env["VAULT_BRIDGE_DATA_DIR"], int(serve_env["VAULT_BRIDGE_EMBEDDED_PORT"])
        )
        server.prepare()
        starter = subprocess.run(
            [
                "/bin/sh",
                "-c",
                f'"{bao_binary()}" server -config="{server.config}" >"{server.server_log}" 2>&1 &'
                f' echo $! > "{server.root}/bao.pid"; echo $$ > "{server.root}/owner.pid"',
            ],
            check=True,
            timeout=30,
        )
        assert starter.returncode == 0
        orphan = int((server.root / "bao.pid").read_text())
        # the shell's child may not have become bao yet: until it has, its command line is the
        # shell's (which names the configuration too, quoted), and a look would drop the pid files
        eventually(lambda pid=orphan: gone(pid) or is_bao(pid), timeout=10)
        eventually(
            lambda pid=orphan, new=server: gone(pid) or new.is_running(), timeout=30, interval=0.1
        )
        if not gone(orphan):
            return server, orphan
        log = server.server_log.read_text()
        if "address already in use" not in log or attempt == 2:
            raise AssertionError(f"the OpenBao to orphan did not start:\n{log}")
        serve_env["VAULT_BRIDGE_EMBEDDED_PORT"] = str(free_port_pair())
    raise AssertionError("unreachable")


def test_an_orphaned_openbao_is_stopped_by_the_next_serve(serve_env, tmp_path) -> None:
    server, orphan = start_orphan(serve_env)
    try:
        found = server.find()
        assert found is not None and found.pid == orphan and found.orphaned

        served = Served(serve_env, tmp_path / "serve.log")
        try:
            assert f"(pid {orphan}) was left running by a process that is gone" in served.output()
            assert gone(orphan)
            assert int((server.root / "bao.pid").read_text()) != orphan
        finally:
            assert served.interrupt() == 0
    finally:
        if not gone(orphan):
            os.kill(orphan, signal.SIGKILL)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 48 MB filesystem (tmpfs) that a test may fill; needs root (CAP_SYS_ADMIN)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mount = shutil.which("mount")
    if mount is None or os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root and mount(8)")
    done = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run([str(shutil.which("umount")), "-l", str(folder)], check=False)


def fill(folder: Path, leave: int) -> None:
    """Fill the filesystem of ``folder`` until ``leave`` bytes are free."""
    stat = os.statvfs(folder)
    with open(folder / "filler", "wb", buffering=0) as filler:
        filler.write(b"\0" * (stat.f_bavail * stat.f_frsize - leave))


def test_a_restart_on_a_full_disk_says_so_at_once(small_disk, serve_env) -> None:
    env = {**serve_env, "VAULT_BRIDGE_DATA_DIR": str(small_disk / "var")}
    port = int(env["VAULT_BRIDGE_EMBEDDED_PORT"])
    server = EmbeddedOpenBao(small_disk / "var", port)
    server.start()  # the first start: its data fits
    server.stop()
    fill(small_disk, leave=300 * 1024)  # room for a line or two, not for raft's log

    started = time.monotonic()
    serve = subprocess.run([CLI, "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert serve.returncode == 1
    assert "no space left on device" in serve.stderr and "Traceback" not in serve.stderr
    assert time.monotonic() - started < 10

    # past the check of free space, OpenBao's own failure to write is noticed as quickly
    eager = EmbeddedOpenBao(small_disk / "var", port, min_free_bytes=0)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="no space left on device"):
        eager.start()
    assert time.monotonic() - started < 10
    assert eager.find() is None  # and it is not left running
