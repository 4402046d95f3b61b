"""Objects the permission matrix (tests/test_permission_matrix.py) needs for the review rows."""

from __future__ import annotations

from typing import Any

from django.db.models import Max

from eduai.courses.models import Submission, SubmissionStatus
from grading.models import GradingModel, Prediction
from tests import factories as f


def review_objects(world: Any, assignment: Any) -> dict[str, int]:
    """A submission of ``world.student`` with a waiting proposal: {review_submission, proposal}."""
    model = GradingModel.objects.create(assignment=assignment, version=1, method="fast", status="ready",
                                        is_active=True, val_qwk=0.8)  # fmt: skip
    taken = Submission.objects.filter(assignment=assignment, author=world.student).aggregate(m=Max("attempt"))["m"]
    sub = f.SubmissionFactory(
        assignment=assignment, author=world.student, attempt=(taken or 0) + 1, status=SubmissionStatus.SCORED
    )
    p = Prediction.objects.create(submission=sub, model=model, score=3, raw_score=3.0, interval_low=2.0,
                                  interval_high=4.0, interval_coverage=0.9)  # fmt: skip
    return {"review_submission": sub.pk, "proposal": p.pk}
