"""``python manage.py assessment_sweep``: write the evidence lost tasks left behind.

Finds practice answers without evidence, voided events whose evidence is still there and
released grades without evidence (``assessment.sweep``), older than the grace period and within
the look-back, and feeds them through the same services as the tasks. Prints what it re-applied.
Also a periodic task (``assessment.tasks.sweep_unfolded``) for Celery beat; after an outage
longer than the look-back, run it here with ``--hours`` or ``--all``.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

# Past these a date or a query cannot hold the value (timedelta, datetime and SQLite's LIMIT
# overflow); a longer look-back than a century is --all.
MAX_HOURS = 24 * 365 * 100
MAX = {"grace": MAX_HOURS * 3600, "hours": MAX_HOURS, "limit": 10**9}


def _ids(ids: tuple[int, ...], n: int = 20) -> str:
    shown = ", ".join(str(i) for i in ids[:n])
    return shown + (f", ... ({len(ids) - n} more)" if len(ids) > n else "")


class Command(BaseCommand):
    help = "Fold in the practice answers, voids and released grades whose assessment task was lost."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--grace", type=int, help="seconds a row must have waited (default EDUAI_KT_SWEEP_GRACE_SECONDS)"
        )
        parser.add_argument("--hours", type=float, help="look-back in hours (default EDUAI_KT_SWEEP_LOOKBACK_HOURS)")
        parser.add_argument("--all", action="store_true", help="no look-back: the whole history")
        parser.add_argument("--limit", type=int, help="most rows of each kind (default EDUAI_KT_SWEEP_LIMIT)")
        parser.add_argument("--dry-run", action="store_true", help="only say what would be re-applied")

    def handle(self, *args: Any, **opts: Any) -> None:
        from assessment.sweep import sweep_unfolded

        for name in ("grace", "hours", "limit"):
            if opts[name] is not None and opts[name] < 0:
                raise CommandError(f"--{name} must not be negative")
            if opts[name] is not None and not (math.isfinite(opts[name]) and opts[name] <= MAX[name]):
                raise CommandError(f"--{name} must be a number from 0 to {MAX[name]:,}")
        if opts["all"] and opts["hours"] is not None:
            raise CommandError("--all and --hours exclude each other")
        r = sweep_unfolded(
            grace=opts["grace"],
            lookback=opts["hours"],
            full=opts["all"],
            limit=opts["limit"],
            apply=not opts["dry_run"],
        )
        if not r.applied:
            self.stdout.write(
                f"would re-apply {len(r.events)} practice answer(s), remove the evidence of {len(r.voided)} "
                f"voided event(s), apply {len(r.grades)} released grade(s) (dry run)"
            )
        else:
            self.stdout.write(
                f"re-applied {len(r.events)} practice answer(s) ({r.students} student-course state(s)); "
                f"removed the evidence of {len(r.voided)} voided event(s); applied {r.grades_applied} of "
                f"{len(r.grades)} released grade(s)"
            )
        for label, ids in (
            ("answers (event ids)", r.events),
            ("voided (event ids)", r.voided),
            ("grades (submission ids)", r.grades),
        ):
            if ids:
                self.stdout.write(f"  {label}: {_ids(ids)}")
        if r.refused_grades:
            self.stdout.write(f"  refused grades (bad payload, see the log): {_ids(r.refused_grades)}")
        if r.failed_events:
            self.stderr.write(f"  not folded (database error, the next run retries): {_ids(r.failed_events)}")
