"""``manage.py load_demo [--reset] [--port N]``: build the demo school (see eduai.demo.builder).

Idempotent: a second run finds everything in place and creates nothing. ``--reset`` deletes the
demo school and the demo users first, then builds afresh. ``--port`` only changes the URL the
command prints (``make demo PORT=8001`` serves there).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eduai.demo import content
from eduai.demo.builder import DemoError, build_demo, reset_demo

# One INFO line per in-process task (hundreds in a demo build) would bury the logins at the end.
_CHATTY_LOGGERS = ("celery.app.trace", "celery.worker.strategy")


@contextmanager
def _quiet(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    # Read by huggingface_hub/transformers when they are first imported (progress bars on stderr).
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    loggers = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


class Command(BaseCommand):
    help = "Load the EduAI demo school (idempotent); --reset rebuilds it from scratch."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="Delete the demo school and users, then rebuild.")
        parser.add_argument("--port", type=int, default=8000, help="Port shown in the printed URL (default 8000).")

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"]
        if not isinstance(port, int) or not 1 <= port <= 65535:
            raise CommandError(f"--port must be between 1 and 65535, not {port}.")
        start = time.perf_counter()
        if options["reset"]:
            try:
                deleted = reset_demo()
            except DemoError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Removed the old demo ({sum(deleted.values())} rows).")
        self.stdout.write("Building the EduAI demo school ...")
        with _quiet(options.get("verbosity", 1) < 2):  # -v 2 shows every task
            summary = build_demo(log=self.stdout.write)
        elapsed = time.perf_counter() - start

        if summary.created_anything:
            made = ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in summary.created.items() if n)
            self.stdout.write(self.style.SUCCESS(f"Demo ready in {elapsed:.0f} s: created {made}."))
        else:
            self.stdout.write(self.style.SUCCESS("The demo was already loaded; nothing new was created."))

        self.stdout.write("")
        self.stdout.write(f"Open http://127.0.0.1:{port}/ and sign in with one of these accounts.")
        self.stdout.write(f"Password for every demo account: {content.DEMO_PASSWORD}")
        width = max(len(username) for _, username, _ in summary.logins)
        for role, username, note in summary.logins:
            self.stdout.write(f"  {role:<13} {username:<{width}}  {note}")
