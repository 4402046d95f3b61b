"""Demo state of the review loop: teachers have worked through part of their queue.

``demo_review_state(course_ids=...)`` takes each course's waiting proposals (least confident
first, as a teacher would meet them), has the course's teacher accept about a third and override
about a fifth (by one point, sometimes two, the larger misses marked "model mistake"), and leaves
the rest waiting, so the queue, the agreement figures and the students' released grades all show
the loop. Deterministic for a seed; a course where a teacher already decided something is left
alone, so rerunning the demo builder changes nothing.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from eduai.courses.models import Enrollment, Role

from .models import ReviewDecision
from .selectors import STATUS_WAITING, _queue_queryset
from .services import review_accept, review_override

ACCEPT_SHARE = 0.35
OVERRIDE_SHARE = 0.2


def demo_review_state(*, course_ids: Iterable[int], seed: int = 7) -> dict[str, int]:
    """Decide part of each course's waiting proposals; returns how many were accepted/overridden."""
    rng = random.Random(seed)
    counts = {"review_accepted": 0, "review_overridden": 0}
    for course_id in sorted(course_ids):
        if ReviewDecision.objects.filter(course_id=course_id).exists():
            continue
        teacher_id = (
            Enrollment.objects.filter(course_id=course_id, role=Role.TEACHER, is_active=True)
            .order_by("id")
            .values_list("user_id", flat=True)
            .first()
        )
        if teacher_id is None:
            continue
        rows = list(
            _queue_queryset(course_id=course_id, assignment_id=None, status=STATUS_WAITING).values_list(
                "id", "pred_id", "assignment__min_score", "assignment__max_score"
            )
        )
        n_accept = round(len(rows) * ACCEPT_SHARE)
        n_override = round(len(rows) * OVERRIDE_SHARE)
        for k, (sid, pid, lo, hi) in enumerate(rows):
            if k < n_accept:
                review_accept(submission_id=sid, user_id=teacher_id, prediction_id=pid, expected_revision=0)
                counts["review_accepted"] += 1
            elif k < n_accept + n_override:
                from grading.models import Prediction

                proposed = Prediction.objects.values_list("score", flat=True).get(pk=pid)
                step = rng.choice([-1, 1]) * (2 if rng.random() < 0.25 else 1)
                score = min(hi, max(lo, proposed + step))
                if score == proposed:
                    score = min(hi, max(lo, proposed - step))
                review_override(
                    submission_id=sid, user_id=teacher_id, score=score, prediction_id=pid, expected_revision=0,
                    model_mistake=abs(score - proposed) >= 2,
                )  # fmt: skip
                counts["review_overridden"] += 1
    return counts
