"""Periodic work of the dashboards: refresh every active course's at-risk snapshot."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task(name="eduai.dashboards.tasks.refresh_risk_snapshots")
def refresh_risk_snapshots() -> int:
    from eduai.courses.models import Course

    from .services import risk_snapshots_refresh

    ids = list(Course.objects.filter(is_active=True).values_list("id", flat=True))
    return risk_snapshots_refresh(course_ids=ids, now=timezone.now())
