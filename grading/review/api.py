"""Public face of the review loop (teacher review of auto-graded work).

Writes: ``review_accept``, ``review_override`` (the teacher's decision, final), ``grade_release``
(release a decided grade), ``proposal_process`` (audit + release policy for a new proposal),
``explanation_compute`` (occlusion evidence, cached).
Reads: ``review_queue``, ``queue_neighbours``, ``review_item``, ``events_for``,
``agreement_for_course``, ``agreement_for_assignment``, ``released_grade``,
``my_released_grades``, ``training_weights`` (sample weights for grading's training),
``released_comment`` (for the LTI pass-back).
Demo: ``demo_review_state`` (teachers have worked through part of their queue).
"""

from .data import AgreementReport, DecisionResult, QueuePage, ReleasedGrade, ReviewItem
from .demo import demo_review_state
from .selectors import (
    STATUSES,
    agreement_for_assignment,
    agreement_for_course,
    events_for,
    my_released_grades,
    queue_neighbours,
    released_grade,
    review_item,
    review_queue,
    training_weights,
)
from .services import (
    ReleaseChoice,
    ReviewConflict,
    explanation_compute,
    grade_release,
    proposal_process,
    review_accept,
    review_override,
)


def released_comment(*, submission_id: int) -> str:
    """The comment released to the student with the grade ("" when none)."""
    from .models import GradeRelease

    return GradeRelease.objects.filter(submission_id=submission_id).values_list("comment", flat=True).first() or ""


__all__ = [
    "STATUSES",
    "AgreementReport",
    "DecisionResult",
    "QueuePage",
    "ReleaseChoice",
    "ReleasedGrade",
    "ReviewConflict",
    "ReviewItem",
    "agreement_for_assignment",
    "agreement_for_course",
    "demo_review_state",
    "events_for",
    "explanation_compute",
    "grade_release",
    "my_released_grades",
    "proposal_process",
    "queue_neighbours",
    "released_comment",
    "released_grade",
    "review_accept",
    "review_item",
    "review_override",
    "review_queue",
    "training_weights",
]
