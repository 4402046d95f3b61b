"""Registry, training triggers and teacher grades: versions, promotion, rollback, thresholds."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from eduai.courses.models import SubmissionStatus
from grading import api as grading
from grading import conf, services
from grading.models import GraderSettings, GradingModel, ModelStatus, TeacherGrade
from grading.scoring.fast import FastScorer
from tests import factories as f


@pytest.fixture
def trained(world, make_graded, grading_settings):
    """An assignment with 30 graded essays and one serving fast model (v1)."""
    assignment = f.AssignmentFactory(course=world.course, min_score=0, max_score=6)
    make_graded(assignment, 30, grader=world.teacher)
    first = grading.model_train(assignment_id=assignment.pk, method="fast", schedule_scoring=False)
    return assignment, first


@pytest.mark.django_db
def test_first_model_serves_and_records_its_registry_entry(trained, settings):
    _assignment, first = trained
    record = GradingModel.objects.get(pk=first.model_id)
    assert record.version == 1 and record.is_active and record.status == ModelStatus.READY
    assert record.method == "fast" and record.base_model.startswith("all-MiniLM-L6-v2@")
    # validated on 10 held-out essays, then refitted on all 30 for serving
    assert record.n_train == 30 and record.n_val == 10 and record.hyperparameters["refit_on_validation"]
    assert record.val_qwk is not None and record.interval_coverage == pytest.approx(0.9)
    assert record.hyperparameters["rubric"]["max_score"] == 6 and record.train_seconds > 0
    assert (Path(settings.EDUAI_MODEL_ROOT) / record.artefact / "fast.pkl").is_file()
    assert "first model" in record.decision


@pytest.mark.django_db
def test_a_new_model_serves_only_if_it_beats_the_serving_one(trained, monkeypatch):
    assignment, first = trained
    # when a second model is trained on the same data (identical predictions: not better)
    second = grading.model_train(assignment_id=assignment.pk, method="fast", schedule_scoring=False)
    # then it is registered as v2 but v1 keeps serving, and the record says why
    assert second.version == 2 and not second.activated
    v2 = GradingModel.objects.get(pk=second.model_id)
    assert not v2.is_active and "not serving" in v2.decision
    assert GradingModel.objects.get(pk=first.model_id).is_active


@pytest.mark.django_db
def test_admin_rolls_back_and_only_one_model_serves(trained):
    assignment, first = trained
    second = grading.model_train(assignment_id=assignment.pk, method="fast", schedule_scoring=False)
    grading.model_activate(model_id=second.model_id, check_expected=False, by_user_id=None)
    assert GradingModel.objects.get(is_active=True, assignment=assignment).pk == second.model_id
    # roll back
    grading.model_activate(model_id=first.model_id, check_expected=False)
    assert list(
        GradingModel.objects.filter(assignment=assignment, is_active=True).values_list("version", flat=True)
    ) == [1]
    # the database itself refuses two serving models
    with pytest.raises(IntegrityError), transaction.atomic():
        GradingModel.objects.filter(pk=second.model_id).update(is_active=True)


@pytest.mark.django_db
def test_serving_knob_keeps_other_methods_from_serving(trained):
    assignment, _first = trained
    services.grader_settings_set(assignment_id=assignment.pk, serving="finetune")
    second = grading.model_train(assignment_id=assignment.pk, method="fast", schedule_scoring=False)
    assert not second.activated and "serving setting is 'finetune'" in second.decision


@pytest.mark.django_db
def test_failed_or_interrupted_training_leaves_no_artefact_and_a_failed_record(trained, monkeypatch, settings):
    assignment, _ = trained

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(FastScorer, "fit", classmethod(lambda cls, *a, **k: boom()))
    with pytest.raises(KeyboardInterrupt):
        grading.model_train(assignment_id=assignment.pk, method="fast", schedule_scoring=False)
    record = GradingModel.objects.get(assignment=assignment, version=2)
    assert record.status == ModelStatus.FAILED and record.failure_reason == "interrupted" and not record.is_active
    root = Path(settings.EDUAI_MODEL_ROOT)
    assert not list((root / ".tmp").iterdir())
    assert not (root / f"assignment-{assignment.pk}" / "v0002-fast").exists()


@pytest.mark.django_db
def test_training_refuses_too_few_grades_and_unknown_methods(world):
    assignment = f.AssignmentFactory(course=world.course)
    with pytest.raises(ValidationError, match="at least"):
        grading.model_train(assignment_id=assignment.pk, method="fast")
    with pytest.raises(ValidationError, match="Unknown method"):
        grading.model_train(assignment_id=assignment.pk, method="magic")


def test_thresholds_are_10_30_60_120_250_then_every_250():
    got = {n: conf.threshold_for(n) for n in (0, 9, 10, 29, 30, 59, 60, 119, 120, 249, 250, 499, 500, 760)}
    assert got == {
        0: 0,
        9: 0,
        10: 10,
        29: 10,
        30: 30,
        59: 30,
        60: 60,
        119: 60,
        120: 120,
        249: 120,
        250: 250,
        499: 250,
        500: 500,
        760: 750,
    }


@pytest.mark.django_db
def test_crossing_a_threshold_enqueues_training_once(
    world, make_graded, monkeypatch, django_capture_on_commit_callbacks
):
    enqueued = []
    monkeypatch.setattr(services, "training_enqueue", lambda **kw: enqueued.append(kw))
    assignment = f.AssignmentFactory(course=world.course, min_score=0, max_score=6)
    subs = make_graded(assignment, 9)
    assert services.training_thresholds_check(assignment_id=assignment.pk) == []
    extra = f.SubmissionFactory(assignment=assignment, author=subs[0].author, attempt=100)
    with django_capture_on_commit_callbacks(execute=True):
        grading.teacher_grade_set(submission_id=extra.pk, score=3, grader_id=world.teacher.pk)
    assert [e["trigger"] for e in enqueued] == ["threshold:10"] and enqueued[0]["method"] == "fast"
    # a re-grade or a repeated check does not enqueue again
    with django_capture_on_commit_callbacks(execute=True):
        grading.teacher_grade_set(submission_id=extra.pk, score=4, grader_id=world.teacher.pk)
    assert services.training_thresholds_check(assignment_id=assignment.pk) == []
    assert len(enqueued) == 1 and GraderSettings.objects.get(assignment=assignment).last_threshold == 10


@pytest.mark.django_db
def test_teacher_grade_is_validated_against_the_rubric(world):
    assignment = f.AssignmentFactory(course=world.course, min_score=1, max_score=5)
    f.RubricTraitFactory(assignment=assignment, name="style", min_score=0, max_score=3)
    sub = f.SubmissionFactory(assignment=assignment, author=world.student)
    for score, traits, message in [
        (6, None, "outside the rubric range"),
        ("abc", None, "whole number"),
        (True, None, "whole number"),
        (3, {"voice": 1}, "Unknown trait"),
        (3, {"style": 4}, "outside its range"),
        (3, ["style"], "Expected an object"),
    ]:
        with pytest.raises(ValidationError, match=message):
            grading.teacher_grade_set(
                submission_id=sub.pk, score=score, trait_scores=traits, grader_id=world.teacher.pk
            )
    grade = grading.teacher_grade_set(submission_id=sub.pk, score="4", trait_scores={"style": 2}, grader_id=world.ta.pk)
    sub.refresh_from_db()
    assert (grade.score, grade.trait_scores, grade.grader_id) == (4, {"style": 2}, world.ta.pk)
    assert sub.final_score == 4 and sub.status == SubmissionStatus.REVIEWED
    # a re-grade replaces the grade of record (one per submission)
    grading.teacher_grade_set(submission_id=sub.pk, score=5, grader_id=world.teacher.pk)
    assert TeacherGrade.objects.filter(submission=sub).count() == 1
    assert TeacherGrade.objects.get(submission=sub).score == 5
