"""Harness of the integration suite: real PostgreSQL, real Redis, a real Celery worker.

Run it with ``make test-integration`` (part of ``make test``), i.e. ``tests/integration/run.py``:
that script points ``DATABASE_URL`` at PostgreSQL and ``CELERY_BROKER_URL`` at a Redis database
it claimed, and sets ``EDUAI_INTEGRATION=1``. In that process:

- pytest-django creates a fresh ``test_...`` database on PostgreSQL and migrates it;
- the session fixture ``worker`` starts ``celery -A eduai worker -Q default,inference --pool solo``
  in a subprocess whose ``DATABASE_URL`` names that same test database, waits until it answers
  a ping, and stops it (warm shutdown) before the database is dropped;
- tasks are sent through the broker (``CELERY_TASK_ALWAYS_EAGER`` is off because a broker URL
  is set), exactly as in production.

Tests must use ``@pytest.mark.django_db(transaction=True)``: the worker is another process and
only sees committed rows. ``wait_until`` polls (bounded) and, on timeout, fails with the tail of
the worker's log so the cause is visible.

Anywhere else (a plain ``pytest`` run, SQLite, no broker) every test here is skipped with a
loud reason, and a banner repeats it at the end of the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.integration import drain

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# Seconds for the worker to import Django and the apps and answer a ping (measured: ~5 s here,
# on a 2-core machine shared with other jobs; the margin absorbs a loaded machine).
WORKER_START_TIMEOUT_S = 120
# Seconds a warm shutdown may take (it finishes the task in hand first) before SIGKILL.
WORKER_STOP_TIMEOUT_S = 60

_skipped: list[str] = []


def unavailable_reason() -> str | None:
    """Why this process cannot run the suite, or None when it can."""
    if os.environ.get("EDUAI_INTEGRATION") != "1":
        why = os.environ.get("EDUAI_INTEGRATION_UNAVAILABLE") or (
            "this pytest process was not started by tests/integration/run.py "
            "(use `make test` or `make test-integration`)"
        )
        return f"INTEGRATION SUITE SKIPPED: {why}"
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "INTEGRATION SUITE SKIPPED: DATABASE_URL is not a PostgreSQL URL"
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.CELERY_BROKER_URL.startswith("redis"):
        return "INTEGRATION SUITE SKIPPED: CELERY_BROKER_URL is not a Redis URL"
    return None


@pytest.hookimpl(tryfirst=True)  # before `-m` deselection, so the added marker counts there
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if HERE in Path(str(item.path)).resolve().parents]
    for item in ours:
        # Everything here needs the services, even a test someone forgot to mark.
        item.add_marker(pytest.mark.integration)
    # The harness's own checks first: when they fail, the feature tests' failures are noise.
    items.sort(key=lambda item: item in ours and Path(str(item.path)).name != "test_harness.py")
    reason = unavailable_reason() if ours else None
    if reason:
        _skipped.append(reason)
        for item in ours:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    skipped_here = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if str(getattr(report, "nodeid", "")).startswith("tests/integration/")
    ]
    if _skipped and skipped_here:
        bar = "!" * 78
        terminalreporter.write_line(bar, red=True, bold=True)
        terminalreporter.write_line(f"!!  {_skipped[0]}", red=True, bold=True)
        terminalreporter.write_line(
            f"!!  {len(skipped_here)} integration tests did not run against PostgreSQL, Redis and a worker.", red=True
        )
        terminalreporter.write_line(bar, red=True, bold=True)


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no worker log)"
        return "\n".join(text.splitlines()[-lines:])


def _database_url(settings_dict: dict) -> str:
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def _ping(app, name: str) -> bool:
    replies = app.control.ping(timeout=1.0) or []
    return any(name in reply for reply in replies)


@pytest.fixture(scope="session")
def worker(django_db_setup, tmp_path_factory) -> Iterator[Worker]:
    """A real Celery worker on both queues, sharing the test database and the broker."""
    from django.db import connection

    from eduai.celery import app

    assert not app.conf.task_always_eager, "integration tests must go through the broker"
    # After django_db_setup the connection's NAME is the test database pytest-django created.
    env = dict(
        os.environ,
        DATABASE_URL=_database_url(connection.settings_dict),
        # No idle connection left behind between tasks: the test's flush and the final
        # DROP DATABASE must not wait for the worker.
        DATABASE_CONN_MAX_AGE="0",
        PYTHONUNBUFFERED="1",
    )
    name = f"eduai-it-{os.getpid()}@{os.uname().nodename}"
    log_path = tmp_path_factory.mktemp("worker") / "celery-worker.log"
    # Leftovers of an earlier crashed run on this broker database would run against our data.
    app.control.purge()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "eduai", "worker",
                "-Q", "default,inference", "--pool", "solo", "-c", "1", "-n", name,
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "-I", "tests.integration.probe_tasks", "-l", "INFO",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    handle = Worker(name=name, process=process, log_path=log_path)
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT_S
        while not _ping(app, name):
            if process.poll() is not None:
                pytest.fail(f"Celery worker exited with {process.returncode} at start:\n{handle.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"Celery worker did not answer a ping in {WORKER_START_TIMEOUT_S} s:\n{handle.log_tail()}")
            time.sleep(0.5)
        drain.worker_running = True
        yield handle
    finally:
        drain.worker_running = False
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # warm shutdown: finish the task in hand
            try:
                process.wait(WORKER_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        connection.close()


@pytest.fixture
def wait_until(worker: Worker) -> Callable[..., object]:
    """``wait_until(check, timeout=..., what=...)``: poll ``check()`` until it returns truthy.

    Returns that value. On timeout fails with what was awaited, the last value seen and the
    worker's log, and also fails at once if the worker died.
    """

    def wait(check: Callable[[], object], *, timeout: float, what: str, interval: float = 0.5) -> object:
        deadline = time.monotonic() + timeout
        last: object = None
        while True:
            last = check()
            if last:
                return last
            if worker.process.poll() is not None:
                pytest.fail(f"worker died (exit {worker.process.returncode}) waiting for {what}:\n{worker.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"timed out after {timeout:.0f} s waiting for {what}; last seen {last!r}\n{worker.log_tail()}"
                )
            time.sleep(interval)

    return wait
