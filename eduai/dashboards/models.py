"""What the dashboards keep: the latest at-risk count of each course.

Assessment scores a course's risk one course at a time (about 1 s for 100-500 students on
PostgreSQL, bench/dashboards.py), so a school page over 50 courses cannot ask live. Each time a
course's risk is computed (its dashboard, or the periodic task) the count is kept here and the
school page reads these rows, saying how old each one is.
"""

from __future__ import annotations

from django.db import models

from eduai.courses.models import Course


class CourseRiskSnapshot(models.Model):
    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="+")
    computed_at = models.DateTimeField()
    students = models.PositiveIntegerField()
    at_risk = models.PositiveIntegerField()
    # Probability (0-1) at or above which a student counted as at risk.
    threshold = models.FloatField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(at_risk__lte=models.F("students")), name="risk_snapshot_counts"),
        ]

    def __str__(self) -> str:
        return f"{self.at_risk}/{self.students} at risk in course {self.course_id} at {self.computed_at:%Y-%m-%d %H:%M}"
