"""Receivers: the LMS core's ``activity_recorded`` and grading's ``grade_released``.

Both signals are sent after commit; the receivers check cheap conditions and only enqueue a
task (``delay_on_commit``: immediately when no transaction is open, else after it commits).
Nothing here imports grading's models: the grade arrives through the signal payload.
"""

from __future__ import annotations

from typing import Any


def on_activity_recorded(sender: object, *, event_ids: list[int] | None = None, **kwargs: Any) -> None:
    if not event_ids:
        return
    from .tasks import apply_activity

    apply_activity.delay_on_commit([int(i) for i in event_ids])


def on_grade_released(
    sender: object,
    *,
    submission_id: int | None = None,
    assignment_id: int | None = None,
    course_id: int | None = None,
    score: Any = None,
    trait_scores: dict[Any, Any] | None = None,
    **kwargs: Any,
) -> None:
    if submission_id is None or assignment_id is None or course_id is None or score is None:
        return
    from .tasks import apply_grade

    traits = {str(k): v for k, v in trait_scores.items()} if isinstance(trait_scores, dict) else None
    apply_grade.delay_on_commit(int(submission_id), int(assignment_id), int(course_id), score, traits)
