"""Headless Chromium (Debian's package, else Playwright's own) driven by Playwright."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1200, "height": 900}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        executable = chromium.executable(playwright)
        if executable is None:
            pytest.fail(chromium.missing_message(chromium.configured()), pytrace=False)
        # the full browser needs the new headless mode; a headless shell is headless by build
        mode = [] if chromium.is_headless_shell(executable) else ["--headless=new"]
        browser = playwright.chromium.launch(
            executable_path=executable, args=[*mode, *FLAGS], headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Open a page in a browser context of its own per call (``options`` for the context); every
    context is closed after the test, whatever happened."""
    contexts: list[Any] = []

    def open_page(**options: Any) -> Any:
        context = browser.new_context(**{"viewport": VIEWPORT, **options})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)  # generous: a loaded machine renders slowly
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A page of its own browser context, allowed to use the clipboard."""
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    return page


@pytest.fixture
def shot() -> Any:
    """Save a full-page screenshot under test-artifacts/ (ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page: Any, name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    return take
