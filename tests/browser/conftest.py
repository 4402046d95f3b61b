"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

- Chromium is ``/usr/bin/chromium`` (``EDUAI_CHROMIUM`` overrides). Without it every browser
  test is SKIPPED, and the run says so loudly in the header, in each skip reason and at the
  end (install: ``apt-get install -y chromium``).
- One Chromium per test run of this package; each test gets a fresh context (cookies,
  storage) and a page whose ``base_url`` is the live server.
- ``demo_site`` loads a small demo school (same builder as ``manage.py load_demo``: activity,
  essays, grades) into the live server's database; ``demo_people`` only its people and courses
  (much cheaper). The live server needs a transactional database, which pytest-django flushes
  after each test.
- Playwright's sync API keeps an asyncio loop running in the test thread, which makes Django
  refuse ORM calls there (SynchronousOnlyOperation). Nothing in the test thread is actually
  asynchronous, so ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set while the browser runs, and restored
  when this package's tests are done.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.servers.basehttp import WSGIServer
from django.test.testcases import LiveServerThread

CHROMIUM = os.environ.get("EDUAI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).resolve().parent
MISSING = (
    f"!! Chromium NOT FOUND at {CHROMIUM}: browser tests SKIPPED. "
    "Install it with `apt-get install -y chromium` (or set EDUAI_CHROMIUM)."
)


# The live server shares the test database's in-memory SQLite connection with every request
# thread; pages that fetch several panels at once then deadlock inside SQLite (seen: a
# dashboard's deferred panels hung the run). One request at a time is what SQLite can serve.
class _SingleThreadWSGIServer(WSGIServer):
    # LiveServerThread.run() already installs the shared connections in its own thread, which
    # is where a non-threaded server handles every request.
    def __init__(self, *args, connections_override=None, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)


LiveServerThread.server_class = _SingleThreadWSGIServer


def chromium_available() -> bool:
    return (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) or shutil.which(CHROMIUM) is not None


def pytest_report_header(config: pytest.Config) -> str:
    if not chromium_available():
        return MISSING
    try:
        version = subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        version = "version unknown"
    return f"browser tests: {CHROMIUM} ({version or 'version unknown'})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if not chromium_available():
                item.add_marker(pytest.mark.skip(reason=MISSING))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "Chromium NOT FOUND" in str(r.longrepr)]
    if skipped:
        terminalreporter.write_sep("!", f"{len(skipped)} browser tests were SKIPPED: {MISSING}", red=True, bold=True)


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh browser context (no cookies) on the live server, English unless a test switches."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(15_000)  # ms: the live server shares 2 slow cores with the test
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def demo_site(live_server, settings, tmp_path):  # type: ignore[no-untyped-def]
    """A small demo school in the live server's database; returns the builder's summary."""
    from eduai.demo.builder import DemoConfig, build_demo

    # Grading embeds every essay on arrival; 64 tokens keep that cheap (as grading's own tests do).
    settings.EDUAI_EMBED_MAX_TOKENS = 64
    settings.EDUAI_MODEL_ROOT = tmp_path / "models"
    return build_demo(config=DemoConfig.small())


@pytest.fixture
def demo_people(live_server):  # type: ignore[no-untyped-def]
    """The demo school's people and courses only (no activity, no essays): a second, not ten."""
    from eduai.demo.builder import DemoConfig, build_demo

    return build_demo(config=DemoConfig.people_only())
