"""Which Chromium the browser tests drive, and getting one where it is missing.

The tests drive Debian's Chromium (``/usr/bin/chromium``, or the binary named by
``VAULT_BRIDGE_CHROMIUM``); where that is missing, Playwright's own download of Chromium. ``make
test`` runs ``python -m tests.browser.chromium`` first: on Debian or Ubuntu as root it installs the
``chromium`` package, elsewhere it tries ``playwright install chromium``. Where neither works it
says so in one line and the browser tests fail with that line (never a skip).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any

DEBIAN_CHROMIUM = "/usr/bin/chromium"
APT_STEPS = (
    ("apt-get", "update", "-qq"),
    ("apt-get", "install", "-y", "-qq", "chromium"),
)
PLAYWRIGHT_STEP = (sys.executable, "-m", "playwright", "install", "chromium")
ASK_PLAYWRIGHT = """
from playwright.sync_api import sync_playwright
with sync_playwright() as playwright:
    print(playwright.chromium.executable_path)
"""


def configured() -> str:
    """The Chromium binary asked for: ``VAULT_BRIDGE_CHROMIUM``, else Debian's."""
    return os.environ.get("VAULT_BRIDGE_CHROMIUM") or DEBIAN_CHROMIUM


def missing_message(path: str) -> str:
    """The one line that says what to install."""
    return (
        f"no Chromium for the browser tests: {path} is missing and Playwright has no browser of "
        "its own; install Debian's `chromium` package (as root: apt-get install chromium), or run "
        "`.venv/bin/playwright install chromium`, or set VAULT_BRIDGE_CHROMIUM to a Chromium binary"
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
    """The binary to launch: the configured one, else Playwright's own; None when neither."""
    return _configured_if_runnable() or playwright_chromium(playwright)


def _configured_if_runnable() -> str | None:
    path = configured()
    return path if _runnable(path) else None


def install_steps(*, is_root: bool, has_apt: bool) -> list[tuple[str, ...]]:
    """What to try, in order, to get a Chromium (each step is one command)."""
    steps: list[tuple[str, ...]] = list(APT_STEPS) if is_root and has_apt else []
    return [*steps, PLAYWRIGHT_STEP]


def ensure(run: Any = subprocess.run, steps: list[tuple[str, ...]] | None = None) -> str | None:
    """Install a Chromium where one is missing; the binary to use, or None (after saying why)."""
    found = executable()
    if found:
        return found
    if steps is None:
        steps = install_steps(
            is_root=os.geteuid() == 0, has_apt=shutil.which("apt-get") is not None
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"{configured()} is missing: getting a Chromium for the browser tests", flush=True)
    for step in steps:  # a step that fails leaves the next one to try
        print("+ " + " ".join(step), flush=True)
        try:
            run(list(step), env=env, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"  {exc}", flush=True)
        # only Playwright's own step can bring Playwright's browser (asking costs a driver start)
        found = executable() if step == PLAYWRIGHT_STEP else _configured_if_runnable()
        if found:
            print(f"using {found}", flush=True)
            return found
    print(missing_message(configured()), file=sys.stderr, flush=True)
    return None


def main() -> int:
    """Make sure the browser tests have a Chromium; never fail the run (the tests say it)."""
    ensure()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
