"""Refresh the at-risk snapshots the school analytics page reads (all courses, or one school's)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from eduai.courses.models import Course
from eduai.dashboards.services import risk_snapshots_refresh


class Command(BaseCommand):
    help = "Compute every active course's at-risk count for the school analytics page."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--school", type=int, default=None, help="only this school's courses (id)")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        qs = Course.objects.filter(is_active=True)
        if options["school"] is not None:
            qs = qs.filter(school_id=options["school"])
            if not qs.exists():
                raise CommandError(f"No active course in school {options['school']}.")
        n = risk_snapshots_refresh(course_ids=list(qs.values_list("id", flat=True)), now=timezone.now())
        self.stdout.write(f"refreshed {n} courses")
