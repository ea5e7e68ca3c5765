"""A real Chromium for the console's tests: Playwright's own where it is installed, else the
system's. Never a silent skip: without a browser the tests fail saying how to get one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
NO_BROWSER = (
    "no Chromium for the console's browser tests: run `python3 dev.py test` as root (it installs "
    "Debian's chromium), install a Chromium yourself, or set CHROMIUM_PATH to one"
)
# As root Chromium refuses to start without --no-sandbox; the rest keep a closed network quiet.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    """The browser to drive, or fail the test with the one line that says how to get one."""
    given = os.environ.get("CHROMIUM_PATH")
    if given:
        if not Path(given).is_file():
            pytest.fail(f"CHROMIUM_PATH={given} is not a file", pytrace=False)
        return given
    own = _playwright_chromium()
    if own is not None:
        return own
    for name in SYSTEM_BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(NO_BROWSER, pytrace=False)


def _playwright_chromium() -> str | None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        path = p.chromium.executable_path
    return path if Path(path).is_file() else None
