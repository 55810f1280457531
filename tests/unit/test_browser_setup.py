"""`make test` gets a Chromium where it can, and the browser tests fail plainly where it cannot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def nothing_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configured Chromium path that does not exist, and no browser of Playwright's own."""
    missing = tmp_path / "bin" / "chromium"
    monkeypatch.setenv("VAULT_BRIDGE_CHROMIUM", str(missing))
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "playwright"))
    return missing


def test_debian_as_root_installs_the_package_before_trying_playwright() -> None:
    steps = chromium.install_steps(is_root=True, has_apt=True)
    assert steps == [
        ("apt-get", "update", "-qq"),
        ("apt-get", "install", "-y", "-qq", "chromium-headless-shell"),
        ("apt-get", "install", "-y", "-qq", "chromium"),
        (sys.executable, "-m", "playwright", "install", "chromium"),
    ]


@pytest.mark.parametrize(("is_root", "has_apt"), [(False, True), (True, False), (False, False)])
def test_elsewhere_playwright_installs_its_own(is_root: bool, has_apt: bool) -> None:
    assert chromium.install_steps(is_root=is_root, has_apt=has_apt) == [
        (sys.executable, "-m", "playwright", "install", "chromium")
    ]


def test_a_present_binary_installs_nothing(tmp_path: Path, monkeypatch) -> None:
    present = tmp_path / "chromium"
    present.write_text("#!/bin/sh\n")
    present.chmod(0o755)
    monkeypatch.setenv("VAULT_BRIDGE_CHROMIUM", str(present))
    ran: list[list[str]] = []
    assert chromium.ensure(run=lambda step, **_: ran.append(step)) == str(present)
    assert ran == []


def test_stops_at_the_first_step_that_provides_the_binary(nothing_installed: Path) -> None:
    ran: list[list[str]] = []

    def run(step: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        ran.append(step)
        if step[:2] == ["apt-get", "install"]:  # the package puts the binary in place
            nothing_installed.parent.mkdir(parents=True)
            nothing_installed.write_text("#!/bin/sh\n")
            nothing_installed.chmod(0o755)
        return subprocess.CompletedProcess(step, 0)

    steps = chromium.install_steps(is_root=True, has_apt=True)
    found = chromium.ensure(run=run, steps=steps)
    assert found == str(nothing_installed)
    assert ran == [list(step) for step in steps[:2]]  # Playwright's download never started


def test_says_in_one_line_what_to_install_when_nothing_works(nothing_installed: Path, capsys):
    ran: list[list[str]] = []

    def run(step: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        ran.append(step)
        if step[0] == "apt-get":
            raise FileNotFoundError(step[0])  # no apt here
        return subprocess.CompletedProcess(step, 1)  # the download failed

    steps = chromium.install_steps(is_root=True, has_apt=True)
    assert chromium.ensure(run=run, steps=steps) is None
    assert len(ran) == 4
    errors = capsys.readouterr().err.splitlines()
    assert errors == [chromium.missing_message(str(nothing_installed))]
    assert "apt-get install chromium" in errors[0] and "playwright install chromium" in errors[0]


def child_pytest_env() -> dict[str, str]:
    """This environment without the options given to the outer run (``PYTEST_ADDOPTS``): the
    child pytest's output is read line by line, whatever the outer run was asked to print."""
    return {name: value for name, value in os.environ.items() if name != "PYTEST_ADDOPTS"}


def test_browser_tests_fail_with_that_line_not_skip(nothing_installed: Path) -> None:
    test = "tests/browser/test_ui.py::test_csrf_and_sign_out"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "0", test],
        cwd=ROOT,
        env=child_pytest_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout
    assert chromium.missing_message(str(nothing_installed)) in result.stdout.splitlines()
    assert "1 error" in result.stdout and "skipped" not in result.stdout


def _binary(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def debian(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Debian's two binaries at paths of their own (neither present yet), none named."""
    shell, browser = tmp_path / "chromium-headless-shell", tmp_path / "chromium"
    monkeypatch.delenv("VAULT_BRIDGE_CHROMIUM", raising=False)
    monkeypatch.setattr(chromium, "DEBIAN_HEADLESS_SHELL", str(shell))
    monkeypatch.setattr(chromium, "DEBIAN_CHROMIUM", str(browser))
    return shell, browser


def test_the_headless_shell_is_driven_where_both_are_installed(debian) -> None:
    shell, browser = debian
    _binary(browser)
    assert chromium.executable() == str(browser)
    _binary(shell)
    assert chromium.executable() == str(shell)
    assert chromium.is_headless_shell(str(shell)) and not chromium.is_headless_shell(str(browser))


@pytest.mark.parametrize("package_exists", [True, False], ids=["installed", "no-package"])
def test_with_only_the_full_browser_apt_adds_the_shell_and_nothing_is_downloaded(
    debian, package_exists: bool
) -> None:
    """The shell's package where apt has it; the full browser as it is where apt fails."""
    shell, browser = debian
    _binary(browser)
    ran: list[list[str]] = []

    def run(step: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        ran.append(step)
        if step == list(chromium.APT_SHELL) and package_exists:
            _binary(shell)
        return subprocess.CompletedProcess(step, 0 if package_exists else 100)

    steps = chromium.install_steps(is_root=True, has_apt=True)
    assert chromium.ensure(run=run, steps=steps) == str(shell if package_exists else browser)
    assert ran == [list(chromium.APT_UPDATE), list(chromium.APT_SHELL)]


def test_with_only_the_full_browser_and_no_apt_it_is_used_as_it_is(debian) -> None:
    _, browser = debian
    _binary(browser)
    ran: list[list[str]] = []
    steps = chromium.install_steps(is_root=False, has_apt=True)
    assert chromium.ensure(run=lambda step, **_: ran.append(step), steps=steps) == str(browser)
    assert ran == []  # no Playwright download where a Chromium is there


def test_the_browser_tests_load_without_xdist() -> None:
    """The browser suite is timed in one process with xdist left out (``-p no:xdist``): the
    suite's xdist scheduler hook must not make pytest refuse to start."""
    plugins = ("-p", "no:xdist", "-p", "no:cacheprovider")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *plugins, "--collect-only", "-q", "tests/browser"],
        cwd=ROOT,
        env=child_pytest_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tests/browser/test_ui.py::test_csrf_and_sign_out" in result.stdout.splitlines()
