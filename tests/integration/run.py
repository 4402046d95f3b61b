"""Run the integration suite in its own pytest process, against real services.

    python tests/integration/run.py [extra pytest arguments]       (make test-integration)

The suite is every test marked ``integration``: tests/integration/ (whose fixtures add a real
Celery worker) and any other test that needs PostgreSQL's behaviour (row locks, say) and marks
itself so; ``make test-unit`` deselects them all. It needs PostgreSQL and Redis. This script
checks both, then starts pytest with
``DATABASE_URL`` pointing at a fresh database name on that PostgreSQL (pytest-django creates
``test_<name>`` and drops it at the end) and ``CELERY_BROKER_URL`` at a Redis database number
that nobody else is using, so two runs on one machine do not steal each other's tasks. The
tests' fixtures (conftest.py) start the real Celery worker on the same database and broker.

When a service cannot be had, it says so loudly and still runs pytest, whose tests then skip
with the reason. The exit code is pytest's.

Where the services are: ``EDUAI_IT_DATABASE_URL`` (default postgres://postgres@127.0.0.1:5432/eduai_it)
and ``EDUAI_IT_REDIS_URL`` (default redis://127.0.0.1:6379).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/eduai_it"
DEFAULT_REDIS = "redis://127.0.0.1:6379"
CLAIM_KEY = "eduai-it:claimed-by"
# Redis has 16 databases by default; 0 is left to whatever else uses this Redis.
REDIS_DBS = range(1, 16)


def banner(*lines: str) -> None:
    bar = "!" * 78
    print(f"\n{bar}", *(f"!!  {line}" for line in lines), f"{bar}\n", sep="\n", flush=True)


def with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def postgres_problem(url: str) -> str | None:
    """None when we can connect to the server's maintenance database (to create ours)."""
    import psycopg

    parts = urlsplit(url)
    try:
        with psycopg.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or None,
            dbname="postgres",
            connect_timeout=3,
        ) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any failure means: no usable PostgreSQL
        where = f"{parts.hostname}:{parts.port or 5432}"
        return f"PostgreSQL at {where} is not reachable ({type(exc).__name__}: {_one_line(exc)})"
    return None


def claim_redis_db(url: str):
    """Return (number, client) of an empty Redis database we now own, or (None, problem)."""
    import redis

    try:
        redis.Redis.from_url(with_path(url, "/0"), socket_timeout=3).ping()
    except Exception as exc:
        return None, f"Redis at {url} is not reachable ({type(exc).__name__}: {_one_line(exc)})"
    me = f"pid {os.getpid()} on {os.uname().nodename}"
    for number in REDIS_DBS:
        client = redis.Redis.from_url(with_path(url, f"/{number}"), socket_timeout=3)
        # Empty first, then an atomic claim: two runs racing for one number cannot both win.
        if client.dbsize() == 0 and client.set(CLAIM_KEY, me, nx=True, ex=3 * 3600):
            return number, client
    return None, f"Redis at {url} has no empty database among {REDIS_DBS.start}-{REDIS_DBS.stop - 1}"


def main(argv: list[str]) -> int:
    db_url = os.environ.get("EDUAI_IT_DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("EDUAI_IT_REDIS_URL", DEFAULT_REDIS)
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"}
    }
    # Every test marked `integration`, wherever it lives (testpaths), runs here and only here.
    cmd = [sys.executable, "-m", "pytest", "-m", "integration", *argv]

    problems = [p for p in [postgres_problem(db_url)] if p]
    number, client = (None, None)
    if not problems:
        number, client = claim_redis_db(redis_url)
        if number is None:
            problems.append(str(client))
            client = None
    if problems:
        banner(
            "INTEGRATION SUITE NOT RUN AGAINST REAL SERVICES: its tests will be SKIPPED.",
            *problems,
            "It needs PostgreSQL and Redis (see README 'Tests'); set EDUAI_IT_DATABASE_URL /",
            "EDUAI_IT_REDIS_URL if they live elsewhere.",
        )
        env["EDUAI_INTEGRATION_UNAVAILABLE"] = "; ".join(problems)
        return subprocess.call(cmd, cwd=ROOT, env=env)

    name = f"eduai_it_{uuid.uuid4().hex[:8]}"
    env["DATABASE_URL"] = with_path(db_url, f"/{name}")
    env["CELERY_BROKER_URL"] = with_path(redis_url, f"/{number}")
    env["EDUAI_INTEGRATION"] = "1"
    print(
        f"Integration suite: PostgreSQL database test_{name}, broker {env['CELERY_BROKER_URL']}, real Celery worker.",
        flush=True,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="eduai-it-models-") as models:
            # The web process and the worker must see the same trained-model folder.
            env["EDUAI_MODEL_ROOT"] = models
            return subprocess.call(cmd, cwd=ROOT, env=env)
    finally:
        client.flushdb()


def exit_code(rc: int) -> int:
    if rc == 5:  # pytest: no test collected. A broken suite, never a pass.
        banner("The integration suite collected NO tests: failing the run.")
    return rc


if __name__ == "__main__":
    sys.exit(exit_code(main(sys.argv[1:])))
