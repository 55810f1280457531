"""Which Chromium the browser tests drive, and getting one where it is missing.

The tests drive Debian's Chromium: its headless shell (``chromium-headless-shell``, the same
Blink and V8 built without the desktop browser around them) where it is installed, else the full
browser (``/usr/bin/chromium``); the binary named by ``VAULT_BRIDGE_CHROMIUM`` instead of either;
where none is there, Playwright's own download of Chromium. The headless shell renders the same
pages for about a third of the CPU: the full browser in headless mode still runs its desktop
window code and a WebUI renderer for every browser context.

``make test`` runs ``python -m tests.browser.chromium`` first: on Debian or Ubuntu as root it
installs the ``chromium-headless-shell`` package (else ``chromium``), elsewhere it tries
``playwright install chromium``. Where neither works it says so in one line and the browser tests
fail with that line (never a skip).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any

DEBIAN_HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"
DEBIAN_CHROMIUM = "/usr/bin/chromium"
APT_UPDATE = ("apt-get", "update", "-qq")
APT_SHELL = ("apt-get", "install", "-y", "-qq", "chromium-headless-shell")
APT_BROWSER = ("apt-get", "install", "-y", "-qq", "chromium")  # older releases have no shell
APT_STEPS = (APT_UPDATE, APT_SHELL, APT_BROWSER)
PLAYWRIGHT_STEP = (sys.executable, "-m", "playwright", "install", "chromium")
ASK_PLAYWRIGHT = """
from playwright.sync_api import sync_playwright
with sync_playwright() as playwright:
    print(playwright.chromium.executable_path)
"""


def configured() -> str:
    """The Chromium binary asked for: ``VAULT_BRIDGE_CHROMIUM``, else Debian's."""
    return os.environ.get("VAULT_BRIDGE_CHROMIUM") or DEBIAN_CHROMIUM


def candidates() -> list[str]:
    """The binaries to try, best first: the one named, else Debian's headless shell and browser."""
    named = os.environ.get("VAULT_BRIDGE_CHROMIUM")
    return [named] if named else [DEBIAN_HEADLESS_SHELL, DEBIAN_CHROMIUM]


def is_headless_shell(path: str) -> bool:
    """Whether ``path`` is a headless shell (headless by build: no ``--headless=new`` for it)."""
    return os.path.basename(path).startswith("chromium-headless-shell") or (
        os.path.basename(path) == "headless_shell"
    )


def missing_message(path: str) -> str:
    """The one line that says what to install."""
    return (
        f"no Chromium for the browser tests: {path} is missing and Playwright has no browser of "
        "its own; install Debian's `chromium-headless-shell` or `chromium` package (as root: "
        "apt-get install chromium-headless-shell), or run `.venv/bin/playwright install "
        "chromium`, or set VAULT_BRIDGE_CHROMIUM to a Chromium binary"
    )


def _runnable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def playwright_chromium(playwright: Any | None = None) -> str | None:
    """Playwright's own Chromium, when it has been downloaded (``playwright install``).

    Without a running ``playwright``, asks a child process: Playwright's sync API cannot start
    twice in one process (the browser tests may hold it already).
    """
    if playwright is not None:
        path = str(playwright.chromium.executable_path)
    else:
        path = subprocess.run(
            [sys.executable, "-c", ASK_PLAYWRIGHT], capture_output=True, text=True, timeout=120
        ).stdout.strip()
    return path if path and _runnable(path) else None


def executable(playwright: Any | None = None) -> str | None:
    """The binary to launch: the best one present, else Playwright's own; None when none is."""
    return _installed() or playwright_chromium(playwright)


def _installed() -> str | None:
    return next((path for path in candidates() if _runnable(path)), None)


def install_steps(*, is_root: bool, has_apt: bool) -> list[tuple[str, ...]]:
    """What to try, in order, to get a Chromium (each step is one command)."""
    steps: list[tuple[str, ...]] = list(APT_STEPS) if is_root and has_apt else []
    return [*steps, PLAYWRIGHT_STEP]


def _best_installed() -> str | None:
    """The first candidate, when it is present: nothing better is left to install."""
    first = candidates()[0]
    return first if _runnable(first) else None


def ensure(run: Any = subprocess.run, steps: list[tuple[str, ...]] | None = None) -> str | None:
    """Install a Chromium where one is missing; the binary to use, or None (after saying why).

    Where only the full browser is there, the headless shell is installed next to it when apt
    can (as root); otherwise the full browser is used as it is, with no download.
    """
    found = _best_installed()
    if found:
        return found
    if steps is None:
        steps = install_steps(
            is_root=os.geteuid() == 0, has_apt=shutil.which("apt-get") is not None
        )
    present = _installed()
    if present:  # only the lighter binary is missing: its package where apt can, no download
        steps = [step for step in steps if step in (APT_UPDATE, APT_SHELL)]
        if not steps:
            return present
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"{candidates()[0]} is missing: getting a Chromium for the browser tests", flush=True)
    for step in steps:  # a step that fails leaves the next one to try
        print("+ " + " ".join(step), flush=True)
        try:
            run(list(step), env=env, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"  {exc}", flush=True)
        if step == APT_UPDATE:
            continue
        # only Playwright's own step can bring Playwright's browser (asking costs a driver start)
        found = executable() if step == PLAYWRIGHT_STEP else _installed()
        if found:
            print(f"using {found}", flush=True)
            return found
    if present:
        print(f"using {present}", flush=True)
        return present
    print(missing_message(configured()), file=sys.stderr, flush=True)
    return None


def main() -> int:
    """Make sure the browser tests have a Chromium; never fail the run (the tests say it)."""
    ensure()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
