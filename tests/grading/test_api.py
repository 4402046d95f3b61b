"""REST API of grading: who sees predictions and models, who trains and grades."""

from __future__ import annotations

import pytest

from eduai.courses.models import SubmissionStatus
from grading.models import GradingModel, ModelStatus, Prediction, TeacherGrade
from tests import factories as f

BASE = "/api/v1/grading"


@pytest.fixture
def scored(world, make_graded):
    """A submission by ``world.student`` with a stored prediction, and a second model version."""
    assignment = f.AssignmentFactory(course=world.course, min_score=0, max_score=6)
    make_graded(assignment, 6, author=world.other_student)
    v1 = GradingModel.objects.create(
        assignment=assignment,
        version=1,
        method="fast",
        status=ModelStatus.READY,
        is_active=True,
        artefact="x",
        val_qwk=0.7,
    )
    v2 = GradingModel.objects.create(
        assignment=assignment, version=2, method="fast", status=ModelStatus.READY, artefact="y", val_qwk=0.6
    )
    sub = f.SubmissionFactory(assignment=assignment, author=world.student, status=SubmissionStatus.SCORED, attempt=77)
    p = Prediction.objects.create(
        submission=sub, model=v1, score=4, raw_score=4.2, interval_low=3.1, interval_high=5.3, interval_coverage=0.9
    )
    return assignment, sub, p, v1, v2


@pytest.mark.django_db
def test_staff_see_predictions_students_only_once_released(world, api_as, scored):
    _assignment, sub, p, *_ = scored
    for user in (world.teacher, world.ta, world.admin):
        body = api_as(user).get(f"{BASE}/predictions/", {"submission": sub.pk}).json()
        assert [r["id"] for r in body["results"]] == [p.pk] and body["results"][0]["model_version"] == 1
    assert api_as(world.student).get(f"{BASE}/predictions/").json()["results"] == []
    assert api_as(world.student).get(f"{BASE}/predictions/{p.pk}/").status_code == 404
    for outsider in (world.other_teacher, world.other_admin, world.other_student):
        assert api_as(outsider).get(f"{BASE}/predictions/{p.pk}/").status_code == 404
    sub.status = SubmissionStatus.RELEASED
    sub.save(update_fields=["status"])
    assert api_as(world.student).get(f"{BASE}/predictions/{p.pk}/").json()["score"] == 4
    assert api_as(None).get(f"{BASE}/predictions/").status_code == 401
    assert api_as(world.teacher).get(f"{BASE}/predictions/", {"assignment": "x"}).status_code == 400


@pytest.mark.django_db
def test_model_registry_is_for_the_course_staff_only(world, api_as, scored):
    assignment, *_ = scored
    url = f"{BASE}/assignments/{assignment.pk}/models/"
    body = api_as(world.ta).get(url).json()
    assert [m["version"] for m in body] == [2, 1] and body[1]["is_active"]
    assert api_as(world.student).get(url).status_code == 403
    assert api_as(world.other_admin).get(url).status_code == 404


@pytest.mark.django_db
def test_train_now_is_for_teachers_and_admins_and_queues_a_task(world, api_as, scored, monkeypatch):
    assignment, *_ = scored
    from grading import services

    queued = []
    monkeypatch.setattr(services, "training_enqueue", lambda **kw: queued.append(kw))
    url = f"{BASE}/assignments/{assignment.pk}/train/"
    r = api_as(world.teacher).post(url, {"method": "fast"}, format="json")
    assert r.status_code == 202 and queued[0]["method"] == "fast" and queued[0]["requested_by_id"] == world.teacher.pk
    assert api_as(world.ta).post(url, {}, format="json").status_code == 403
    assert api_as(world.student).post(url, {}, format="json").status_code == 403
    assert api_as(world.admin).post(url, {"method": "gpt"}, format="json").status_code == 400
    empty = f.AssignmentFactory(course=world.course)
    r = api_as(world.teacher).post(f"{BASE}/assignments/{empty.pk}/train/", {}, format="json")
    assert r.status_code == 400 and "at least" in str(r.json())
    assert len(queued) == 1


@pytest.mark.django_db
def test_teacher_grade_by_staff_validated_and_never_a_500(world, api_as, scored, monkeypatch):
    _assignment, sub, *_ = scored
    from grading import services

    monkeypatch.setattr(services, "training_thresholds_check", lambda **kw: [])
    url = f"{BASE}/submissions/{sub.pk}/teacher-grade/"
    assert api_as(world.ta).post(url, {"score": 5}, format="json").status_code == 201
    assert api_as(world.teacher).post(url, {"score": 4, "comment": "<b>ok</b>"}, format="json").status_code == 200
    assert TeacherGrade.objects.get(submission=sub).score == 4
    for bad in (
        {"score": 9},
        {"score": "x"},
        {},
        {"score": 3, "trait_scores": {"nope": 1}},
        {"score": 3, "trait_scores": "a"},
    ):
        assert api_as(world.teacher).post(url, bad, format="json").status_code == 400, bad
    assert api_as(world.student).post(url, {"score": 6}, format="json").status_code == 403
    assert api_as(world.other_teacher).post(url, {"score": 6}, format="json").status_code == 404
    assert api_as(world.teacher).get(url).json()["score"] == 4
    assert api_as(world.student).get(url).status_code == 404  # not released yet


@pytest.mark.django_db
def test_only_school_admins_roll_back(world, api_as, scored):
    _assignment, _sub, _p, v1, v2 = scored
    url = f"{BASE}/models/{v2.pk}/activate/"
    assert api_as(world.teacher).post(url).status_code == 403
    assert api_as(world.other_admin).post(url).status_code == 404
    r = api_as(world.admin).post(url)
    assert r.status_code == 200 and r.json()["is_active"]
    v1.refresh_from_db()
    assert not v1.is_active


@pytest.mark.django_db
def test_grader_settings_knob(world, api_as, scored):
    assignment, *_ = scored
    url = f"{BASE}/assignments/{assignment.pk}/grader-settings/"
    assert api_as(world.ta).get(url).json()["serving"] == "best"
    assert api_as(world.ta).patch(url, {"serving": "fast"}, format="json").status_code == 403
    r = api_as(world.teacher).patch(url, {"serving": "fast"}, format="json")
    assert r.status_code == 200 and r.json()["serving"] == "fast"
    assert api_as(world.teacher).patch(url, {"serving": "best-ever"}, format="json").status_code == 400
