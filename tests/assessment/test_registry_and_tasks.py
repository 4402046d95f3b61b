"""Training, the versioned registry, and the hook points (signals -> tasks -> services)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from assessment import services
from assessment.models import Evidence, KTModelVersion, Mastery, StudentKTState
from eduai.courses import api as courses
from grading.signals import grade_released
from tests import factories as f

from .conftest import BASE, at

pytestmark = pytest.mark.django_db


def school_history(world, maths, n_students=24, length=30, seed=0):
    """Students who mostly know Fractions already and learn Decimals fast: far from BKT's defaults."""
    rng = np.random.default_rng(seed)
    events = []
    for i in range(n_students):
        student = f.UserFactory(username=f"hist{i}")
        f.EnrollmentFactory(course=maths.course, user=student)
        knows = {"f": rng.random() < 0.9, "d": False}
        for t in range(length):
            skill, item = ("f", maths.item_f) if t % 2 else ("d", maths.item_d)
            right = rng.random() < (0.95 if knows[skill] else 0.1)
            if not knows["d"] and skill == "d" and rng.random() < 0.3:
                knows["d"] = True
            events.append(
                courses.EventInput(
                    course_id=maths.course.pk,
                    actor_id=student.pk,
                    verb="answered",
                    timestamp=BASE + timedelta(minutes=t),
                    object_type="practice_item",
                    practice_item_id=item.pk,
                    result_success=bool(right),
                )
            )
    ids = courses.activity_events_record(events=events).created_ids
    services.evidence_from_events(event_ids=ids)


def test_bkt_training_registers_and_activates_only_if_better(world, maths, django_capture_on_commit_callbacks):
    school_history(world, maths)
    with django_capture_on_commit_callbacks(execute=True):
        v1 = services.kt_model_train(school_id=world.school.pk, method="bkt")
    assert (v1.version, v1.method, v1.status) == (1, "bkt", "active")
    assert v1.valid_auc > v1.baseline_auc  # the defaults fit this school badly
    assert v1.n_train_students + v1.n_valid_students == 24 and v1.n_train_responses > 0
    assert (Path(settings.EDUAI_MODEL_ROOT) / v1.artefact_path / "bkt.json").is_file()
    assert v1.hyperparameters["max_iter"] == 100 and v1.train_seconds >= 0
    # every student's state was rebuilt with the new model after activation
    assert set(StudentKTState.objects.values_list("model_version", flat=True)) == {v1.pk}
    # the same training again is no better: registered, rejected, v1 still serves
    with django_capture_on_commit_callbacks(execute=True):
        v2 = services.kt_model_train(school_id=world.school.pk, method="bkt")
    assert (v2.version, v2.status) == (2, "rejected")
    assert KTModelVersion.objects.get(status="active") == v1


def test_deep_training_is_registered_with_its_validation(world, maths, django_capture_on_commit_callbacks):
    school_history(world, maths)
    tiny = {"d_model": 16, "n_heads": 2, "d_ff": 32, "d_out": 16, "max_epochs": 2, "threads": 1}
    with django_capture_on_commit_callbacks(execute=True):
        v = services.kt_model_train(school_id=world.school.pk, method="deep", hyperparameters=tiny)
    assert v.method == "deep" and v.status in {"active", "rejected"}
    assert v.valid_auc is not None and v.hyperparameters["d_model"] == 16
    assert (Path(settings.EDUAI_MODEL_ROOT) / v.artefact_path / "weights.npz").is_file()
    if v.status == "active":
        # mastery now comes from the deep model, and updates keep working online
        m = Mastery.objects.filter(student__username="hist0").first()
        assert m is not None and m.method == "deep"


def test_training_with_too_little_history_is_refused(world, maths):
    school_history(world, maths, n_students=3, length=5)
    with pytest.raises(ValueError, match="training needs at least"):
        services.kt_model_train(school_id=world.school.pk, method="bkt")
    with pytest.raises(ValueError, match="unknown method"):
        services.kt_model_train(school_id=world.school.pk, method="dkt")
    assert not KTModelVersion.objects.exists()


def test_a_missing_artefact_falls_back_to_cold_start(world, maths):
    KTModelVersion.objects.create(
        school=world.school, method="deep", version=1, status="active", artefact_path="assessment/gone"
    )
    model, version = services.serving_model(course_id=maths.course.pk)
    assert model.method == "bkt" and version is None


def test_activity_signal_enqueues_after_commit_and_updates_mastery(world, maths, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        courses.activity_events_record(
            events=[
                courses.EventInput(
                    course_id=maths.course.pk,
                    actor_id=world.student.pk,
                    verb="answered",
                    timestamp=at(0),
                    object_type="practice_item",
                    practice_item_id=maths.item_f.pk,
                    result_success=True,
                )
            ]
        )
    assert len(callbacks) >= 2  # the core's signal, then our task enqueue
    assert Mastery.objects.get(student=world.student, skill=maths.fractions).n_evidence == 1


def test_grade_released_signal_becomes_evidence(world, maths, django_capture_on_commit_callbacks):
    assignment = f.AssignmentFactory(course=maths.course, min_score=0, max_score=4)
    assignment.skills.add(maths.decimals)
    sub = f.SubmissionFactory(assignment=assignment, author=world.student, attempt=1)
    with django_capture_on_commit_callbacks(execute=True):
        grade_released.send(
            sender=None,
            submission_id=sub.pk,
            assignment_id=assignment.pk,
            course_id=maths.course.pk,
            score=3,
            released_by=world.teacher.pk,
        )
    assert Evidence.objects.get(submission=sub).credit == pytest.approx(0.75)
    # a malformed release is dropped without an exception escaping and without evidence
    with django_capture_on_commit_callbacks(execute=True):
        grade_released.send(
            sender=None, submission_id=sub.pk, assignment_id=assignment.pk, course_id=maths.course.pk, score=99
        )
        grade_released.send(sender=None, submission_id=None, assignment_id=None, course_id=None, score=None)
    assert Evidence.objects.get(submission=sub).credit == pytest.approx(0.75)
