"""Headless Chromium from Debian, driven by Playwright (no browser download).

`page(width, height)` opens a page of that viewport size. Tests using it are marked
`browser`; without /usr/bin/chromium they are skipped with the reason, unless CI is
set (CI installs it, so a missing browser there is a failure). Screenshots go to
`RINGBACK_SCREENSHOTS` when set (to read them), else to the test's tmp_path.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")


def screenshot_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("RINGBACK_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def browser() -> Iterator[object]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chrome = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chrome
        finally:
            chrome.close()
