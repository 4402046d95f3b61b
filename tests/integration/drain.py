"""Wait for the integration run's Celery worker to finish what a test enqueued.

A test outside ``tests/integration`` that commits through the services (``transaction=True``)
under the integration run sends its on-commit tasks through the real broker, and the real worker
runs them against the same test database. If the test ends while such a task is still running,
pytest-django's flush (``TRUNCATE``) can deadlock with the task's reads (seen in CI: the
review race test's releases enqueue assessment work). Such tests wait for the worker here, at
teardown, before the flush (the ``worker_drained`` fixture of tests/conftest.py).
"""

from __future__ import annotations

import time

# How long a test's leftover tasks may take (a few small folds here; scoring is stubbed).
IDLE_TIMEOUT_S = 60.0
# The worker runs a solo pool, which does not answer control messages while a task runs, so
# "idle" is two answers in a row, half a second apart, with nothing active or reserved.
_QUIET_CHECKS = 2
_INTERVAL_S = 0.5

# Set by the session fixture ``worker`` (tests/integration/conftest.py) while its worker runs.
# Before it starts, tasks a test enqueues wait in the broker and the fixture purges them, so
# there is nothing to wait for (and no worker would answer: each wait would run to its timeout).
worker_running = False


def wait_for_idle_worker(timeout: float = IDLE_TIMEOUT_S) -> bool:
    """True once the worker has nothing active or reserved, twice in a row (at once when no
    worker of this run is up, or tasks run eagerly); False when it stayed busy or silent until
    ``timeout``."""
    from eduai.celery import app

    if app.conf.task_always_eager or not worker_running:
        return True
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        inspect = app.control.inspect(timeout=1.0, limit=1)  # one worker in the run: no 1 s wait
        active, reserved = inspect.active(), inspect.reserved()
        if active is not None and reserved is not None and not any(active.values()) and not any(reserved.values()):
            quiet += 1
            if quiet >= _QUIET_CHECKS:
                return True
        else:
            quiet = 0
        time.sleep(_INTERVAL_S)
    return False
