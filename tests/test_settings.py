"""Settings come from the environment: safe embedded defaults, loud failure for a missing secret.

Each case imports the settings in a fresh interpreter, because settings are read once per
process and this test process already has its own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("eduai", "grading", "assessment", "recommender")
# Variables this process may carry that would change what the child sees.
_CONTROLLED = (
    "SECRET_KEY",
    "DEBUG",
    "EDUAI_ENV",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "ALLOWED_HOSTS",
    "DJANGO_SETTINGS_MODULE",
)

_DUMP = """
import json
import eduai.settings as s
print(json.dumps({
    "debug": s.DEBUG,
    "engine": s.DATABASES["default"]["ENGINE"],
    "db_name": str(s.DATABASES["default"]["NAME"]),
    "eager": s.CELERY_TASK_ALWAYS_EAGER,
    "session_cookie_secure": s.SESSION_COOKIE_SECURE,
    "ssl_redirect": s.SECURE_SSL_REDIRECT,
    "allowed_hosts": s.ALLOWED_HOSTS,
    "secret_is_dev": s.SECRET_KEY == s._DEV_SECRET,
}))
"""


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    child_env = {k: v for k, v in os.environ.items() if k not in _CONTROLLED}
    child_env.update(env)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=120, check=False
    )


def _settings(**env: str) -> dict[str, object]:
    done = _run(["-c", _DUMP], **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_production_without_secret_key_refuses_to_start_with_a_clear_message():
    # Given a production environment (DEBUG=0) with no SECRET_KEY
    # When the project starts (manage.py check loads the settings like any server would)
    done = _run(["manage.py", "check"], DEBUG="0", ALLOWED_HOSTS="example.org")

    # Then it stops, saying which variable is missing and where to read about it
    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr
    assert ".env.example" in done.stderr


def test_eduai_env_production_also_requires_a_secret_key():
    done = _run(["-c", "import eduai.settings"], EDUAI_ENV="production")

    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr


def test_production_with_a_secret_key_starts_with_secure_defaults():
    # Given DEBUG=0 and a secret key
    cfg = _settings(DEBUG="0", SECRET_KEY="x" * 60, ALLOWED_HOSTS="lms.example.org")

    # Then debug is off, the real key is used and cookies/HTTPS are locked down
    assert cfg["debug"] is False
    assert cfg["secret_is_dev"] is False
    assert cfg["session_cookie_secure"] is True
    assert cfg["ssl_redirect"] is True
    assert cfg["allowed_hosts"] == ["lms.example.org"]


def test_nothing_set_gives_the_embedded_setup_sqlite_and_in_process_tasks():
    cfg = _settings()

    assert cfg["debug"] is True
    assert cfg["engine"] == "django.db.backends.sqlite3"
    assert cfg["db_name"].endswith("db.sqlite3")
    assert cfg["eager"] is True
    assert cfg["secret_is_dev"] is True


def test_database_and_broker_urls_switch_to_postgresql_and_a_real_queue():
    cfg = _settings(DATABASE_URL="postgres://u:p@db.example.org:5432/eduai", CELERY_BROKER_URL="redis://r:6379/0")

    assert cfg["engine"] == "django.db.backends.postgresql"
    assert cfg["db_name"] == "eduai"
    assert cfg["eager"] is False


_READ = re.compile(
    r"""(?:os\.environ\.get|os\.environ\.setdefault|os\.getenv|env_bool|env_list|env_int|env_float)\(\s*["']([A-Z][A-Z0-9_]*)["']"""
    r"""|os\.environ\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]"""
    # Apps' own settings helpers (e.g. grading/conf.py's ``_get("EDUAI_...", default)``) read the
    # environment with the name as an argument; their names carry the project's prefixes.
    r"""|\b_?[a-z_]*(?:get|bool|int|float|str|env)[a-z_]*\(\s*["']((?:EDUAI|CELERY)_[A-Z0-9_]+)["']"""
)


def _variables_read_by_code() -> dict[str, str]:
    found: dict[str, str] = {}
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for match in _READ.finditer(path.read_text(encoding="utf-8")):
                name = match.group(1) or match.group(2) or match.group(3)
                found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def _env_example() -> str:
    return (ROOT / ".env.example").read_text(encoding="utf-8")


def test_env_example_lists_every_variable_the_code_reads():
    # Given the variables read anywhere in the apps
    read = _variables_read_by_code()
    assert "SECRET_KEY" in read and "DATABASE_URL" in read, "the scan itself is broken"

    # Then .env.example documents each of them (set, or shown commented out with its default)
    listed = set(re.findall(r"^(?:#\s*)?([A-Z][A-Z0-9_]*)=", _env_example(), re.M))
    missing = {name: where for name, where in read.items() if name not in listed}
    assert not missing, f"add these to .env.example with a one-line explanation: {missing}"


def test_env_example_used_unchanged_gives_the_embedded_setup():
    # Given .env.example copied to .env and exported as it is
    assigned = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", _env_example(), re.M))
    assert {"SECRET_KEY", "DEBUG", "DATABASE_URL", "CELERY_BROKER_URL"} <= set(assigned)

    # Then the settings are exactly those of an empty environment: SQLite, in-process tasks
    assert _settings(**assigned) == _settings()
