"""Playwright on Debian's Chromium, on a phone-sized screen."""
import os
import shutil

import pytest
from playwright.sync_api import sync_playwright  # noqa: F401  (pytest-playwright needs it)

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]


def pytest_collection_modifyitems(config, items):
    if not os.path.exists(CHROMIUM):
        skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}: apt-get install chromium")
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": FLAGS,
            "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, playwright):
    # A 360-px-wide Android phone, the common small screen WeChat runs on.
    phone = {k: v for k, v in playwright.devices["Galaxy S8"].items()
             if k != "default_browser_type"}
    return {**browser_context_args, **phone, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
