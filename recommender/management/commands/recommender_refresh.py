"""Index courses' resources and refresh every student's recommendations (all courses or some).

manage.py recommender_refresh                 # every active course
manage.py recommender_refresh --course 3 --course 7
manage.py recommender_refresh --index-only --force-index   # re-embed after changing the encoder
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from eduai.converters import MAX_ID
from eduai.courses.models import Course
from recommender import services


class Command(BaseCommand):
    help = "Index course resources for 'ask the course' and refresh students' recommendations."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--course", type=int, action="append", help="course id (repeatable); default: all active")
        parser.add_argument("--index-only", action="store_true", help="only (re)index resources")
        parser.add_argument("--force-index", action="store_true", help="re-embed even unchanged resources")

    def handle(self, *args: Any, **opts: Any) -> None:
        ids = opts["course"] or list(Course.objects.filter(is_active=True).values_list("id", flat=True))
        possible = [i for i in ids if 1 <= i <= MAX_ID]  # a larger id overflows the driver in id__in
        missing = set(ids) - set(Course.objects.filter(id__in=possible).values_list("id", flat=True))
        if missing:
            raise CommandError(f"No course with id {', '.join(map(str, sorted(missing)))}.")
        for course_id in ids:
            t0 = time.perf_counter()
            indexed = services.course_index(course_id=course_id, force=opts["force_index"])
            line = f"course {course_id}: {indexed} resources indexed"
            if not opts["index_only"]:
                refreshed, _again = services.recommendations_refresh(course_id=course_id, rebuild_profile=True)
                line += f", {refreshed} students refreshed"
            self.stdout.write(f"{line} ({time.perf_counter() - t0:.1f}s)")
