"""Decisions, releases and the release policy, as a teacher and a student would notice them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from eduai.courses.models import ReleasePolicy, SubmissionStatus
from grading.models import GraderSettings, TeacherGrade
from grading.review import api as review
from grading.review.models import EventKind, GradeRelease, ReleaseKind, ReviewDecision, ReviewEvent
from grading.signals import grade_released

from .conftest import GradingModelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def released_signals():
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    grade_released.connect(receiver, dispatch_uid="test-review-released")
    yield seen
    grade_released.disconnect(dispatch_uid="test-review-released")


def test_accept_makes_the_proposal_the_released_grade_of_record(rw, make_sub, propose, released_signals,
                                                                django_capture_on_commit_callbacks):  # fmt: skip
    # given a proposal of 4 waiting under "review all"
    sub = make_sub()
    p = propose(sub, 4, traits={"Ideas": 3, "Conventions": 2})
    assert sub.status == SubmissionStatus.SCORED and sub.final_score is None
    # when the teacher accepts it
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = review.review_accept(submission_id=sub.pk, user_id=rw.world.teacher.pk, prediction_id=p.pk,
                                      expected_revision=0)  # fmt: skip
    # then the grade of record is the teacher's acceptance, released, and said so after commit
    sub.refresh_from_db()
    grade = TeacherGrade.objects.get(submission=sub)
    assert (result.kind, result.score, result.revision, result.released) == ("accepted", 4, 1, True)
    assert (sub.status, sub.final_score) == (SubmissionStatus.RELEASED, 4)
    assert (grade.score, grade.source, grade.grader_id, grade.prediction_id) == (
        4,
        "accepted",
        rw.world.teacher.pk,
        p.pk,
    )
    assert grade.trait_scores == {"Ideas": 3, "Conventions": 2}
    release = GradeRelease.objects.get(submission=sub)
    assert (release.kind, release.released_by_id, release.score) == (ReleaseKind.TEACHER, rw.world.teacher.pk, 4)
    kinds = list(ReviewEvent.objects.filter(submission=sub).values_list("kind", flat=True))
    assert kinds == [EventKind.PROPOSED, EventKind.ACCEPTED, EventKind.RELEASED]
    assert len(callbacks) >= 1
    assert [
        (s["submission_id"], s["assignment_id"], s["course_id"], s["score"], s["released_by"]) for s in released_signals
    ] == [(sub.pk, rw.assignment.pk, rw.world.course.pk, 4, rw.world.teacher.pk)]


def test_override_stores_the_teachers_score_and_weights_a_model_mistake(rw, make_sub, propose, settings):
    settings.EDUAI_REVIEW_MISTAKE_WEIGHT = "3.0"
    sub = make_sub()
    p = propose(sub, 5)
    result = review.review_override(
        submission_id=sub.pk,
        user_id=rw.world.teacher.pk,
        score="2",
        trait_scores={"Ideas": 1, "Conventions": ""},
        comment="Off topic after the first paragraph.",
        model_mistake=True,
        prediction_id=p.pk,
        expected_revision=0,
    )
    sub.refresh_from_db()
    grade = TeacherGrade.objects.get(submission=sub)
    assert (result.kind, result.score) == ("overridden", 2)
    assert (sub.final_score, grade.score, grade.source) == (2, 2, "overridden")
    assert grade.trait_scores == {"Ideas": 1}  # a blank trait is "not graded", not zero
    decision = ReviewDecision.objects.get(submission=sub)
    assert (decision.proposed_score, decision.score, decision.model_mistake, decision.weight) == (5, 2, True, 3.0)
    assert review.training_weights(assignment_id=rw.assignment.pk) == {sub.pk: 3.0}
    event = ReviewEvent.objects.get(submission=sub, kind=EventKind.OVERRIDDEN)
    assert (event.score, event.actor_id, event.model_mistake, event.comment) == (
        2, rw.world.teacher.pk, True, "Off topic after the first paragraph.",
    )  # fmt: skip


def test_an_override_that_repeats_the_proposal_counts_as_agreement(rw, make_sub, propose):
    sub = make_sub()
    p = propose(sub, 3, traits={"Ideas": 2, "Conventions": 3})
    result = review.review_override(submission_id=sub.pk, user_id=rw.world.teacher.pk, score=3,
                                    trait_scores={"Ideas": 2}, model_mistake=True, prediction_id=p.pk)  # fmt: skip
    decision = ReviewDecision.objects.get(submission=sub)
    assert (result.kind, decision.model_mistake, decision.weight) == ("accepted", False, 1.0)
    assert review.training_weights(assignment_id=rw.assignment.pk) == {}


def test_a_stale_form_cannot_overwrite_a_newer_decision(rw, make_sub, propose):
    sub = make_sub()
    p = propose(sub, 4)
    review.review_override(submission_id=sub.pk, user_id=rw.world.teacher.pk, score=1, prediction_id=p.pk,
                           expected_revision=0)  # fmt: skip
    # a TA who opened the page before the teacher decided presses "accept"
    with pytest.raises(review.ReviewConflict):
        review.review_accept(submission_id=sub.pk, user_id=rw.world.ta.pk, prediction_id=p.pk, expected_revision=0)
    sub.refresh_from_db()
    assert sub.final_score == 1 and TeacherGrade.objects.get(submission=sub).grader_id == rw.world.teacher.pk


@pytest.mark.parametrize(
    ("score", "traits", "message"),
    [(9, None, "outside the rubric range"), ("four", None, "whole number"), (3, {"Voice": 2}, "Unknown trait"),
     (3, {"Ideas": 7}, "outside its range")],
)  # fmt: skip
def test_an_invalid_override_is_refused_and_nothing_is_stored(rw, make_sub, propose, score, traits, message):
    sub = make_sub()
    p = propose(sub, 4)
    with pytest.raises(ValidationError, match=message):
        review.review_override(submission_id=sub.pk, user_id=rw.world.teacher.pk, score=score, trait_scores=traits,
                               prediction_id=p.pk)  # fmt: skip
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.SCORED and sub.final_score is None
    assert not TeacherGrade.objects.filter(submission=sub).exists()
    assert not ReviewDecision.objects.filter(submission=sub).exists()


def test_accepting_another_submissions_proposal_is_refused(rw, make_sub, propose):
    a, b = make_sub(), make_sub()
    propose(a, 4)
    pb = propose(b, 2)
    with pytest.raises(ValidationError, match="not a proposal for this submission"):
        review.review_accept(submission_id=a.pk, user_id=rw.world.teacher.pk, prediction_id=pb.pk)


def _auto(assignment, max_interval=1.0, min_qwk=0.7):
    assignment.release_policy = ReleasePolicy.AUTO_RELEASE_CONFIDENT
    assignment.auto_release_max_interval = max_interval
    assignment.auto_release_min_qwk = min_qwk
    assignment.save()


def test_auto_release_releases_only_confident_proposals_of_validated_models(
    rw, make_sub, propose, released_signals, django_capture_on_commit_callbacks
):
    _auto(rw.assignment, max_interval=1.0, min_qwk=0.7)
    narrow, wide = make_sub(), make_sub()
    with django_capture_on_commit_callbacks(execute=True):
        propose(narrow, 4, 3.6, 4.4)  # width 0.8 <= 1.0, model QWK 0.8 >= 0.7
        propose(wide, 4, 2.5, 5.5)  # width 3.0
    assert (narrow.status, narrow.final_score) == (SubmissionStatus.RELEASED, 4)
    assert (wide.status, wide.final_score) == (SubmissionStatus.SCORED, None)
    release = GradeRelease.objects.get(submission=narrow)
    assert release.kind == ReleaseKind.POLICY and release.released_by is None
    assert "0.80 <= 1.00" in release.reason and "QWK 0.80 >= 0.70" in release.reason
    assert [s["submission_id"] for s in released_signals] == [narrow.pk]
    assert released_signals[0]["released_by"] is None and released_signals[0]["release_kind"] == "policy"
    proposed = ReviewEvent.objects.get(submission=wide, kind=EventKind.PROPOSED)
    assert proposed.detail["auto_release"] == "interval 3.00 > 1.00"
    # auto-released grades are the model's own: not training data
    assert not TeacherGrade.objects.filter(submission=narrow).exists()


def test_auto_release_needs_a_model_validated_above_the_floor(rw, make_sub, propose):
    _auto(rw.assignment, max_interval=2.0, min_qwk=0.85)  # the model's QWK is 0.8
    sub = make_sub()
    propose(sub, 4, 3.6, 4.4)
    assert sub.status == SubmissionStatus.SCORED
    assert ReviewEvent.objects.get(submission=sub, kind=EventKind.PROPOSED).detail["auto_release"] == (
        "model QWK 0.80 < 0.85"
    )


def test_review_all_never_releases_a_proposal(rw, make_sub, propose):
    sub = make_sub()
    propose(sub, 6, 5.9, 6.0)
    assert sub.status == SubmissionStatus.SCORED and sub.final_score is None
    assert not GradeRelease.objects.filter(submission=sub).exists()


def test_the_policy_never_releases_over_a_teacher_decision(rw, make_sub, propose):
    _auto(rw.assignment)
    sub = make_sub()
    p = propose(sub, 4, 0, 6)  # too wide: waits
    review.review_override(submission_id=sub.pk, user_id=rw.world.teacher.pk, score=2, prediction_id=p.pk,
                           choice=review.ReleaseChoice(release=False))  # fmt: skip
    # a second proposal arrives for the same submission (a stale task, a retrained model)
    propose(sub, 5, 4.8, 5.2, model=GradingModelFactory(assignment=rw.assignment, version=2, is_active=False))
    sub.refresh_from_db()
    assert (sub.status, sub.final_score) == (SubmissionStatus.REVIEWED, 2)
    assert not GradeRelease.objects.filter(submission=sub).exists()


def test_a_teacher_override_replaces_an_auto_released_grade_and_is_released_again(
    rw, make_sub, propose, released_signals, django_capture_on_commit_callbacks
):
    _auto(rw.assignment)
    sub = make_sub()
    with django_capture_on_commit_callbacks(execute=True):
        p = propose(sub, 4, 3.8, 4.2)
    assert sub.status == SubmissionStatus.RELEASED
    with django_capture_on_commit_callbacks(execute=True):
        review.review_override(submission_id=sub.pk, user_id=rw.world.teacher.pk, score=3, prediction_id=p.pk,
                               choice=review.ReleaseChoice(release=False))  # fmt: skip
    sub.refresh_from_db()
    release = GradeRelease.objects.get(submission=sub)
    assert (sub.status, sub.final_score, release.score, release.kind) == (SubmissionStatus.RELEASED, 3, 3, "teacher")
    assert [s["score"] for s in released_signals] == [4, 3]


def test_decide_now_release_later(rw, make_sub, propose):
    sub = make_sub()
    p = propose(sub, 4)
    review.review_accept(submission_id=sub.pk, user_id=rw.world.teacher.pk, prediction_id=p.pk,
                         choice=review.ReleaseChoice(release=False))  # fmt: skip
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.REVIEWED
    assert review.released_grade(user=rw.world.student, submission_id=sub.pk).released is False
    review.grade_release(submission_id=sub.pk, user_id=rw.world.teacher.pk,
                         choice=review.ReleaseChoice(feedback_keys=frozenset({"overall"})))  # fmt: skip
    seen = review.released_grade(user=rw.world.student, submission_id=sub.pk)
    assert (seen.released, seen.score) == (True, 4)
    assert [i.key for i in seen.feedback] == ["overall"]


def test_release_without_a_teacher_grade_is_refused(rw, make_sub, propose):
    sub = make_sub()
    propose(sub, 4)
    with pytest.raises(ValidationError, match="no teacher grade"):
        review.grade_release(submission_id=sub.pk, user_id=rw.world.teacher.pk)


def test_accepted_and_overridden_grades_count_towards_training(rw, make_sub, propose, settings, monkeypatch,
                                                               django_capture_on_commit_callbacks):  # fmt: skip
    # given automatic training on, and a recorder instead of a real training run
    settings.EDUAI_GRADER_AUTO_TRAIN = "1"
    enqueued = []
    monkeypatch.setattr("grading.services.training_enqueue", lambda **kw: enqueued.append(kw))
    subs = [make_sub() for _ in range(10)]
    preds = [propose(s, 3) for s in subs]
    # when teachers accept five and override five
    for k, (s, p) in enumerate(zip(subs, preds, strict=True)):
        with django_capture_on_commit_callbacks(execute=True):
            if k % 2:
                review.review_accept(submission_id=s.pk, user_id=rw.world.teacher.pk, prediction_id=p.pk)
            else:
                review.review_override(submission_id=s.pk, user_id=rw.world.teacher.pk, score=1, prediction_id=p.pk)
    # then the tenth grade crossed grading's first threshold and training was asked for, once
    assert [e["trigger"] for e in enqueued] == ["threshold:10"]
    assert GraderSettings.objects.get(assignment=rw.assignment).last_threshold == 10


def test_the_audit_trail_lists_every_step_in_order(rw, make_sub, propose):
    sub = make_sub()
    p = propose(sub, 4)
    review.review_accept(submission_id=sub.pk, user_id=rw.world.teacher.pk, prediction_id=p.pk, expected_revision=0)
    review.review_override(submission_id=sub.pk, user_id=rw.world.admin.pk, score=5, prediction_id=p.pk,
                           expected_revision=1, comment="Re-read: stronger than I thought.")  # fmt: skip
    events = review.events_for(submission_id=sub.pk)
    assert [(e.kind, e.score, e.previous_score) for e in events] == [
        ("proposed", 4, None),
        ("accepted", 4, None),
        ("released", 4, None),
        ("overridden", 5, 4),
        ("released", 5, None),
    ]
    assert events[3].actor == rw.world.admin.label


def test_model_mistakes_reach_the_training_set_as_sample_weights(rw, make_sub, propose, settings):
    from grading.training import training_set

    settings.EDUAI_REVIEW_MISTAKE_WEIGHT = "4"
    marked, plain = make_sub(), make_sub()
    pm, pp = propose(marked, 5), propose(plain, 3)
    review.review_override(submission_id=marked.pk, user_id=rw.world.teacher.pk, score=1, prediction_id=pm.pk,
                           model_mistake=True)  # fmt: skip
    review.review_accept(submission_id=plain.pk, user_id=rw.world.teacher.pk, prediction_id=pp.pk)
    data = training_set(rw.assignment.pk)
    weights = dict(zip(data.ids, data.weights.tolist(), strict=True))
    assert weights == {marked.pk: 4.0, plain.pk: 1.0}


def test_sample_weights_pull_the_fast_scorer_towards_the_weighted_essays(tmp_path):
    """Contract with grading's fast scorer: ``TrainingSet.weights`` must change what it learns.

    The same texts twice with opposite labels: only the weights can decide between them, so a
    scorer that ignores them lands in the middle whatever the weights say.
    """
    import numpy as np

    from grading.scoring.base import Rubric, TrainingSet
    from grading.scoring.fast import FastScorer

    texts = [f"essay number {i} about the river and the town" for i in range(12)]
    texts = texts + texts
    targets = np.array([[1.0]] * 12 + [[5.0]] * 12)
    rubric = Rubric(min_score=0, max_score=6)

    def fit(weights, name):
        data = TrainingSet(ids=tuple(range(24)), texts=tuple(texts), targets=targets, rubric=rubric, weights=weights)
        FastScorer.fit(data, tmp_path / name)
        return float(FastScorer.load(tmp_path / name).predict(texts[:3])[:, 0].mean())

    unweighted = fit(None, "plain")
    weighted = fit(np.array([1.0] * 12 + [4.0] * 12), "weighted")
    # weighted mean of the labels: (12 * 1 + 12 * 4 * 5) / (12 + 48) = 4.2
    assert weighted == pytest.approx(4.2, abs=0.5), (unweighted, weighted)
    assert weighted > unweighted + 0.8
