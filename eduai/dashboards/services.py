"""Writes of the dashboards: at-risk snapshots (see models.py for why they exist)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from .models import CourseRiskSnapshot


def risk_snapshot_save(*, course_id: int, students: int, at_risk: int, threshold: float, at: datetime) -> None:
    """Keep the newest count only; an older computation finishing late does not overwrite it."""
    with transaction.atomic():
        row = CourseRiskSnapshot.objects.select_for_update().filter(course_id=course_id).first()
        if row is None:
            CourseRiskSnapshot.objects.create(
                course_id=course_id, students=students, at_risk=at_risk, threshold=threshold, computed_at=at
            )
        elif row.computed_at <= at:
            row.students, row.at_risk, row.threshold, row.computed_at = students, at_risk, threshold, at
            row.save(update_fields=["students", "at_risk", "threshold", "computed_at"])


def risk_snapshots_refresh(*, course_ids: list[int], now: datetime) -> int:
    """Compute and keep the at-risk count of each course (the periodic task and the command)."""
    from . import sources

    threshold = sources.risk_threshold_pct()
    for course_id in course_ids:
        risk = sources.course_risk(course_id=course_id)
        risk_snapshot_save(
            course_id=course_id,
            students=len(risk),
            at_risk=int((risk["risk_pct"] >= threshold).sum()) if len(risk) else 0,
            threshold=threshold / 100.0,
            at=now,
        )
    return len(course_ids)
