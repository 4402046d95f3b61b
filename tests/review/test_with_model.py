"""The loop with a real model: train, score new essays, explain, find neighbours, auto-release.

One trained fast scorer (20 synthetic essays, 64-token embeddings) serves the whole test, so it
costs about half a minute on 2 cores: marked slow (CI still runs it).
"""

from __future__ import annotations

import random

import pytest

from eduai.courses import api as courses
from eduai.courses.models import ReleasePolicy, SubmissionStatus
from grading import api as grading
from grading.models import Prediction
from grading.review import api as review
from grading.review.models import EventKind, ReviewEvent
from tests import factories as f
from tests.grading.essays import essay, graded_essays

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _cheap_encoder(settings):
    settings.EDUAI_EMBED_MAX_TOKENS = 64
    settings.EDUAI_TRAIN_EAGER_IN_THREAD = False
    settings.EDUAI_GRADER_AUTO_FINETUNE = "0"


def test_scored_essays_reach_the_queue_with_evidence_and_neighbours(world, django_capture_on_commit_callbacks):
    # given an assignment with 20 teacher-graded essays and a fast model trained on them
    a = f.AssignmentFactory(course=world.course, min_score=0, max_score=6)
    grades = []
    for k, (text, q) in enumerate(graded_essays(20, seed=1)):
        sub = f.SubmissionFactory(assignment=a, text=text, attempt=k + 1, author=world.other_student)
        grades.append(grading.GradeInput(submission_id=sub.pk, score=q))
    grading.teacher_grades_import(grades=grades, grader_id=world.teacher.pk, trigger_training=False)
    trained = grading.model_train(assignment_id=a.pk, method="fast", schedule_scoring=False)
    assert trained.activated
    # when a new essay arrives (through the core service, as in production)
    rng = random.Random(5)
    text = essay(6, rng) + " i dont no why. it was fun and stuf."
    with django_capture_on_commit_callbacks(execute=True):
        sub = courses.submission_create(assignment_id=a.pk, author_id=world.student.pk, text=text)
    # then it was scored, recorded as a proposal, and waits in the queue (review all)
    sub.refresh_from_db()
    p = Prediction.objects.get(submission=sub)
    assert sub.status == SubmissionStatus.SCORED
    assert ReviewEvent.objects.filter(submission=sub, kind=EventKind.PROPOSED, prediction=p).exists()
    queue = review.review_queue(user=world.teacher, course_id=world.course.pk)
    assert [i.submission_id for i in queue.items] == [sub.pk]
    # and its review page explains the score with the serving model and finds graded neighbours
    item = review.review_item(user=world.teacher, submission_id=sub.pk)
    expl = item.explanation
    assert expl.status == "ready" and len(expl.sentences) >= 4
    assert expl.base_raw == pytest.approx(p.raw_score, abs=1e-6)
    deltas = {s.text: s.delta for s in expl.sentences}
    assert deltas["i dont no why."] < max(deltas.values())  # the misspelt sentence is not the best one
    assert len(item.neighbours) == 3 and all(0 <= n.score <= 6 for n in item.neighbours)
    # the explanation is cached: a second view does not call the model again
    assert review.explanation_compute(prediction_id=p.pk).sentences == expl.sentences


def test_auto_release_on_the_real_pipeline(world, django_capture_on_commit_callbacks):
    a = f.AssignmentFactory(course=world.course, min_score=0, max_score=6,
                            release_policy=ReleasePolicy.AUTO_RELEASE_CONFIDENT, auto_release_max_interval=6.0,
                            auto_release_min_qwk=-1.0)  # fmt: skip
    grades = []
    for k, (text, q) in enumerate(graded_essays(20, seed=2)):
        sub = f.SubmissionFactory(assignment=a, text=text, attempt=k + 1, author=world.other_student)
        grades.append(grading.GradeInput(submission_id=sub.pk, score=q))
    grading.teacher_grades_import(grades=grades, grader_id=world.teacher.pk, trigger_training=False)
    assert grading.model_train(assignment_id=a.pk, method="fast", schedule_scoring=False).activated
    with django_capture_on_commit_callbacks(execute=True):
        sub = courses.submission_create(assignment_id=a.pk, author_id=world.student.pk, text=essay(4, random.Random(1)))
    sub.refresh_from_db()
    seen = review.released_grade(user=world.student, submission_id=sub.pk)
    assert sub.status == SubmissionStatus.RELEASED and seen.released and seen.released_by == "policy"
    assert seen.score == Prediction.objects.get(submission=sub).score
