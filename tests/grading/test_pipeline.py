"""End to end: teacher grades -> fast model -> a new submission is scored with an interval."""

from __future__ import annotations

import pytest

from eduai.courses import api as courses
from eduai.courses.models import SubmissionStatus
from grading import api as grading
from grading.models import GradingModel, ModelStatus, Prediction
from tests import factories as f


@pytest.mark.django_db
def test_fast_model_scores_new_essays_in_order_of_quality(
    world, make_graded, fresh_essay, django_capture_on_commit_callbacks
):
    # given an assignment with 40 teacher-graded essays and a fast model trained on them
    assignment = f.AssignmentFactory(course=world.course, min_score=0, max_score=6)
    make_graded(assignment, 40, grader=world.teacher)
    result = grading.model_train(assignment_id=assignment.pk, method="fast", schedule_scoring=False)
    model = GradingModel.objects.get(pk=result.model_id)
    assert model.status == ModelStatus.READY and model.is_active and result.activated
    assert model.n_train == 40 and model.n_val == 10 and model.val_qwk is not None
    # when a weak and a strong essay arrive
    with django_capture_on_commit_callbacks(execute=True):
        weak = courses.submission_create(assignment_id=assignment.pk, author_id=world.student.pk, text=fresh_essay(0))
    with django_capture_on_commit_callbacks(execute=True):
        strong = courses.submission_create(assignment_id=assignment.pk, author_id=world.student.pk, text=fresh_essay(6))
    # then both are scored by the serving model, the strong one clearly higher, with intervals
    pw = Prediction.objects.get(submission=weak)
    ps = Prediction.objects.get(submission=strong)
    assert ps.raw_score - pw.raw_score > 2.0
    for p in (pw, ps):
        assert p.model_id == model.pk and 0 <= p.score <= 6
        assert p.interval_low <= p.score <= p.interval_high
        assert p.interval_coverage == pytest.approx(0.9)
    weak.refresh_from_db()
    assert weak.status == SubmissionStatus.SCORED
