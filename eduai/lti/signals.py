"""Receivers that turn grading's decisions into AGS score posts (connected in ``apps.ready``).

grading sends ``proposal_ready`` and ``grade_released`` after its transaction commits; here we
only check a cheap condition (is the course linked to an LMS at all?) and write outbox rows,
whose sending is enqueued after our own commit. A failure here is logged, never raised into
grading's release (the grade is already stored; an admin can re-queue from the admin).
"""

from __future__ import annotations

import logging

from .models import GradingProgress, LtiContext

logger = logging.getLogger(__name__)


def _released_comment(submission_id: int) -> str:
    """The comment released with the grade, from grading's public API when it offers one."""
    try:
        from grading.review import api as review_api
    except ImportError:
        return ""
    getter = getattr(review_api, "released_comment", None)
    if getter is None:
        return ""
    try:
        return str(getter(submission_id=submission_id) or "")
    except Exception:
        logger.exception("could not read the released comment of submission %s", submission_id)
        return ""


def on_proposal_ready(sender, submission_id, course_id, **kwargs) -> None:
    if not LtiContext.objects.filter(course_id=course_id).exists():
        return
    from .services import outbox_enqueue

    try:
        outbox_enqueue(submission_id=submission_id, grading_progress=GradingProgress.PENDING_MANUAL)
    except Exception:
        logger.exception("could not queue the PendingManual post of submission %s", submission_id)


def on_grade_released(sender, submission_id, course_id, score, **kwargs) -> None:
    if score is None or not LtiContext.objects.filter(course_id=course_id).exists():
        return
    from .services import outbox_enqueue

    comment = kwargs.get("comment")
    if comment is None:
        comment = _released_comment(submission_id)
    try:
        outbox_enqueue(
            submission_id=submission_id,
            grading_progress=GradingProgress.FULLY_GRADED,
            score=float(score),
            comment=str(comment or ""),
        )
    except Exception:
        logger.exception("could not queue the FullyGraded post of submission %s", submission_id)
