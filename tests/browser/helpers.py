"""Reusable steps for browser tests (review queue, dashboards, ...): sign in, switch language, screenshot.

Pages are opened relative to the live server: the ``page`` fixture's context has ``base_url``
set, so ``page.goto("/login/")`` works.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from playwright.sync_api import Page, expect

from eduai.demo.content import DEMO_PASSWORD

SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"


def login_as(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the login form and wait for the home page."""
    page.goto("/login/")
    page.get_by_label(re.compile("Username|用户名")).fill(username)
    page.get_by_label(re.compile("Password|密码")).fill(password)
    page.locator("form button[type=submit].primary").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("header .who")).to_be_visible()


def switch_language(page: Page, code: str) -> None:
    """Pick a language in the header switcher (it submits on change) and wait for the reload."""
    with page.expect_navigation():
        page.locator("header select[name=language]").select_option(code)
    expect(page.locator("html")).to_have_attribute("lang", code)


def save_screenshot(page: Page, name: str) -> Path:
    """Full-page PNG under test-artifacts/screenshots/ (gitignored), for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
