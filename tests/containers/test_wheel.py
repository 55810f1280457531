"""The wheel installs anywhere: a clean virtualenv, an empty folder, `vault-bridge serve`."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import requests

import vault_bridge
from tests.containers.conftest import ROOT, RemoteUser, run, wait_ready, with_pat
from tests.helpers import free_port, free_port_pair

# image builds, `docker compose up` and pip installs take longer than unit tests
pytestmark = pytest.mark.timeout(600)

WARNING = re.compile(r"\b\w*Warning\b")  # setuptools' and pip's warnings are *Warning classes


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """vault-bridge's wheel, built from the checkout like a release (build isolation)."""
    out = tmp_path_factory.mktemp("dist")
    built = run(
        sys.executable, "-m", "pip", "wheel", "--verbose", "--no-deps", "--wheel-dir", str(out),
        str(ROOT),
    )  # fmt: skip
    assert WARNING.findall(built.stdout + built.stderr) == []
    (wheel,) = out.glob("vault_bridge-*.whl")
    return wheel


def test_the_wheel_holds_one_package_its_data_and_the_licence(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    version = vault_bridge.__version__
    assert wheel.name == f"vault_bridge-{version}-py3-none-any.whl"
    assert {name.split("/")[0] for name in names} == {
        "vault_bridge",
        f"vault_bridge-{version}.dist-info",
    }
    for data in (
        "vault_bridge/policies/vault-bridge-service.hcl",
        "vault_bridge/policies/templates/org-maintain.hcl",
        "vault_bridge/web/templates/login.html",
        "vault_bridge/web/static/app.css",
        "vault_bridge/api/spec.py",
        "vault_bridge/providers/catalog.toml",
        f"vault_bridge-{version}.dist-info/licenses/LICENSE",
    ):
        assert data in names
    meta = Parser().parsestr(
        zipfile.ZipFile(wheel).read(f"vault_bridge-{version}.dist-info/METADATA").decode()
    )
    assert meta["Version"] == version
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]


def test_make_run_installs_the_checkout_without_a_warning(tmp_path: Path) -> None:
    # what `make run` does on a fresh clone: an editable install, quiet; nothing may be printed
    # (setuptools once printed its licence deprecation block here, three times)
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", str(venv))
    installed = run(
        str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
        "--no-deps", "-e", str(ROOT), timeout=600,
    )  # fmt: skip
    shown = installed.stdout + installed.stderr
    assert WARNING.findall(shown) == [] and "deprecat" not in shown.lower(), shown


def test_installed_from_the_wheel_it_serves_from_an_empty_folder(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", str(venv))
    installed = run(
        str(venv / "bin" / "pip"), "install", "--disable-pip-version-check", f"{wheel}[embedded]",
        timeout=600,
    )  # fmt: skip
    assert WARNING.findall(installed.stdout + installed.stderr) == []
    folder = tmp_path / "empty"
    folder.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "VAULT_BRIDGE_PORT": str(free_port()),
        "VAULT_BRIDGE_EMBEDDED_PORT": str(free_port_pair()),
        "VAULT_BRIDGE_ADMIN_PASSWORD": secrets.token_urlsafe(18),
    }
    probe = (
        "import importlib.util as u, vault_bridge; print(vault_bridge.__file__, u.find_spec('web'))"
    )
    where = run(str(venv / "bin" / "python"), "-c", probe, env=env, cwd=folder)
    assert where.stdout.startswith(str(venv)) and where.stdout.split()[1] == "None"

    log = tmp_path / "serve.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [str(venv / "bin" / "vault-bridge"), "serve"],
            cwd=folder,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    bao_pid = None
    try:
        url = f"http://127.0.0.1:{env['VAULT_BRIDGE_PORT']}"
        wait_ready(url, timeout=90)
        bao_pid = int((folder / "var" / "openbao" / "bao.pid").read_text())
        _use_it_like_a_user(url, env["VAULT_BRIDGE_ADMIN_PASSWORD"])
        server.send_signal(signal.SIGINT)  # what Ctrl-C does
        assert server.wait(timeout=30) == 0, log.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        if bao_pid is not None and _alive(bao_pid):
            os.kill(bao_pid, signal.SIGKILL)
            pytest.fail(f"the embedded OpenBao (pid {bao_pid}) outlived vault-bridge serve")
    output = log.read_text()
    assert "stopped the embedded OpenBao" in output and "vault-bridge stopped" in output
    assert [pid for pid in _processes_under(tmp_path)] == []


def _use_it_like_a_user(url: str, password: str) -> None:
    http = requests.Session()
    http.trust_env = False
    login = http.get(f"{url}/login", timeout=10)
    assert login.status_code == 200 and "<form" in login.text
    stylesheet = re.search(r'<link[^>]+href="([^"]+\.css[^"]*)"', login.text)
    assert stylesheet, login.text[:500]
    css = http.get(requests.compat.urljoin(url + "/", stylesheet.group(1)), timeout=10)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert css.content == (ROOT / "web" / "static" / "app.css").read_bytes()

    admin = RemoteUser(url, "admin", password)
    pat = admin.new_pat(["api"])["token"]
    me = with_pat("GET", f"{url}/api/v1/user", pat)
    assert me.status_code == 200 and me.json()["id"] == "admin"
    org = f"wheel-{secrets.token_hex(4)}"
    created = with_pat("POST", f"{url}/api/v1/orgs", pat, json={"id": org, "display_name": "W"})
    assert created.status_code == 201, created.text
    listed = with_pat("GET", f"{url}/api/v1/orgs", pat).json()
    assert any(entry["id"] == org and entry["role"] == "owner" for entry in listed), listed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _processes_under(folder: Path) -> list[int]:
    """Processes whose executable or command line lies under ``folder``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(folder) in command:
            found.append(int(entry.name))
    return found
