"""Setup for the journeys in a real browser: Debian's Chromium driven by Playwright. Under CI a missing browser
fails every journey (a suite that is green with no browser test proves nothing); elsewhere they skip, saying why."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test's thread; the ORM calls these tests make there are plain
# synchronous ones, so Django's async-safety guard is told so.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _chromium_path() -> tuple[str | None, str]:
    """(the browser to drive or None, where it was looked for). CHROMIUM names it; else it is found on PATH."""
    named = os.environ.get("CHROMIUM")
    if named:
        return shutil.which(named), f"CHROMIUM={named} is not an executable file"
    return (shutil.which("chromium") or shutil.which("chromium-browser"),
            "neither chromium nor chromium-browser is on PATH")


@pytest.fixture(scope="session")
def chromium() -> str:
    path, looked = _chromium_path()
    if path is None:
        why = f"no Chromium to drive: {looked} (apt-get install chromium, which .ci/run does, or set CHROMIUM)"
        if IN_CI:
            pytest.fail(f"CI=true, so the browser journeys must run, and cannot: {why}", pytrace=False)
        pytest.skip(why)
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, chromium):
    return {**browser_type_launch_args, "executable_path": chromium,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync"]}


@pytest.fixture(autouse=True)
def _storefront(settings):
    """The shop as a shopper meets it (DEBUG off), without the rate limits a quick journey would trip."""
    settings.RATE_LIMITS = {}
    settings.DEBUG = False


DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def screenshot_dir(kind: str) -> Path:
    """Where a walk's screenshots go for a reviewer to look at: SCREENSHOT_DIR/<kind>, else a directory in the
    system's temp directory."""
    where = Path(os.environ.get("SCREENSHOT_DIR") or Path(tempfile.gettempdir()) / "store-screenshots") / kind
    where.mkdir(parents=True, exist_ok=True)
    return where
