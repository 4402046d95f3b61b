"""/api/v1/assessment/: who may see what, and bad input gets a clear 4xx."""

from __future__ import annotations

from unittest import mock

import pytest

from assessment import services
from assessment.models import KTModelVersion
from tests import factories as f

from .conftest import answer, at

pytestmark = pytest.mark.django_db

URL = "/api/v1/assessment"


@pytest.fixture
def practised(world, maths):
    ids = [answer(maths.course, world.student, maths.item_f, c, at(i)).pk for i, c in enumerate([True, True, False])]
    services.evidence_from_events(event_ids=ids)
    return maths


def test_a_student_sees_their_own_mastery_and_history(api_as, world, practised):
    c = api_as(world.student)
    r = c.get(f"{URL}/courses/{practised.course.pk}/students/{world.student.pk}/mastery/")
    assert r.status_code == 200
    rows = {row["skill_name"]: row for row in r.json()}
    assert rows["Fractions"]["n_evidence"] == 3 and rows["Decimals"]["n_evidence"] == 0
    h = c.get(f"{URL}/courses/{practised.course.pk}/students/{world.student.pk}/mastery/history/")
    assert h.status_code == 200
    assert len(h.json()["skills"][str(practised.fractions.pk)]) == 3
    assert len(h.json()["overall"]) == 3


@pytest.mark.parametrize(
    "who,status",
    [
        ("teacher", 200),
        ("ta", 200),
        ("admin", 200),
        ("other_student", 404),
        ("other_teacher", 404),
        ("other_admin", 404),
    ],
)
def test_who_may_see_a_students_mastery(api_as, world, practised, who, status):
    r = api_as(getattr(world, who)).get(f"{URL}/courses/{practised.course.pk}/students/{world.student.pk}/mastery/")
    assert r.status_code == status


def test_a_student_may_not_see_a_classmate(api_as, world, practised):
    mate = f.UserFactory(username="mate")
    f.EnrollmentFactory(course=practised.course, user=mate)
    r = api_as(mate).get(f"{URL}/courses/{practised.course.pk}/students/{world.student.pk}/mastery/")
    assert r.status_code == 403


def test_anonymous_is_refused(api_as, world, practised):
    r = api_as(None).get(f"{URL}/courses/{practised.course.pk}/students/{world.student.pk}/mastery/")
    assert r.status_code in (401, 403)


def test_unknown_student_skill_and_course_are_404_or_400(api_as, world, practised):
    c = api_as(world.teacher)
    assert c.get(f"{URL}/courses/{practised.course.pk}/students/10000000/mastery/").status_code == 404
    assert c.get(f"{URL}/courses/10000000/students/{world.student.pk}/mastery/").status_code == 404
    # an id no 64-bit key can hold is unknown too, not a server error
    huge = 10**20
    assert c.get(f"{URL}/courses/{practised.course.pk}/students/{huge}/mastery/").status_code == 404
    assert c.get(f"{URL}/courses/{practised.course.pk}/students/{huge}/mastery/history/").status_code == 404
    bad = c.get(f"{URL}/courses/{practised.course.pk}/students/{world.student.pk}/mastery/history/?skill_id=10000000")
    assert bad.status_code == 400 and "skill_id" in bad.json()
    assert (
        c.get(
            f"{URL}/courses/{practised.course.pk}/students/{world.student.pk}/mastery/history/?skill_id=abc"
        ).status_code
        == 400
    )


def test_staff_views_are_for_staff_only(api_as, world, practised):
    for path in ("at-risk/", "mastery-distribution/"):
        assert api_as(world.teacher).get(f"{URL}/courses/{practised.course.pk}/{path}").status_code == 200
        assert api_as(world.student).get(f"{URL}/courses/{practised.course.pk}/{path}").status_code == 403
        assert api_as(world.other_teacher).get(f"{URL}/courses/{practised.course.pk}/{path}").status_code == 404


def test_at_risk_lists_reasons_and_validates_threshold(api_as, world, practised):
    c = api_as(world.teacher)
    r = c.get(f"{URL}/courses/{practised.course.pk}/at-risk/?all=true&threshold=0")
    assert r.status_code == 200
    assert [row["student_id"] for row in r.json()] == [world.student.pk]
    assert r.json()[0]["reasons"]
    assert c.get(f"{URL}/courses/{practised.course.pk}/at-risk/?threshold=2").status_code == 400
    assert c.get(f"{URL}/courses/{practised.course.pk}/at-risk/?threshold=high").status_code == 400


def test_predicted_success_validates_ids_and_scope(api_as, world, practised):
    ok = api_as(world.student).get(
        f"{URL}/students/{world.student.pk}/predicted-success/?item_ids={practised.item_f.pk},{practised.item_d.pk}"
    )
    assert ok.status_code == 200
    assert set(ok.json()["items"]) == {str(practised.item_f.pk), str(practised.item_d.pk)}
    c = api_as(world.student)
    for query in (
        "",
        "?item_ids=",
        "?item_ids=a,b",
        "?item_ids=-1",
        "?item_ids=10000000",
        f"?item_ids={10**20}",
        "?item_ids=" + ",".join(["1"] * 201 + ["2"]),
    ):
        assert c.get(f"{URL}/students/{world.student.pk}/predicted-success/{query}").status_code == 400, query
    # a student asking about someone else
    other = api_as(world.other_student).get(
        f"{URL}/students/{world.student.pk}/predicted-success/?item_ids={practised.item_f.pk}"
    )
    assert other.status_code == 400  # the item is in a course they cannot see: unknown to them
    assert (
        api_as(world.teacher)
        .get(f"{URL}/students/{world.student.pk}/predicted-success/?item_ids={practised.item_f.pk}")
        .status_code
        == 200
    )


def test_learning_gain_staff_see_all_students_see_themselves(api_as, world, practised):
    a = f.AssignmentFactory(course=practised.course)
    assert api_as(world.teacher).get(f"{URL}/assignments/{a.pk}/learning-gain/").json() == []
    assert api_as(world.student).get(f"{URL}/assignments/{a.pk}/learning-gain/").status_code == 200
    assert api_as(world.other_student).get(f"{URL}/assignments/{a.pk}/learning-gain/").status_code == 404
    assert api_as(world.teacher).get(f"{URL}/assignments/10000000/learning-gain/").status_code == 404


def test_registry_is_for_school_admins(api_as, world):
    KTModelVersion.objects.create(school=world.school, method="bkt", version=1, status="rejected")
    KTModelVersion.objects.create(school=world.other_school, method="bkt", version=1, status="rejected")
    r = api_as(world.admin).get(f"{URL}/models/")
    assert r.status_code == 200 and [row["school_id"] for row in r.json()] == [world.school.pk]
    assert api_as(world.teacher).get(f"{URL}/models/").status_code == 403


def test_training_is_queued_by_a_school_admin_only(api_as, world, django_capture_on_commit_callbacks):
    with mock.patch("assessment.tasks.train_deep_kt.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            r = api_as(world.admin).post(
                f"{URL}/models/", {"school_id": world.school.pk, "method": "deep"}, format="json"
            )
        assert r.status_code == 202
        delay.assert_called_once_with(world.school.pk)
        assert (
            api_as(world.admin)
            .post(f"{URL}/models/", {"school_id": world.other_school.pk, "method": "deep"}, format="json")
            .status_code
            == 403
        )
        assert (
            api_as(world.admin)
            .post(f"{URL}/models/", {"school_id": world.school.pk, "method": "gpt"}, format="json")
            .status_code
            == 400
        )
        assert (
            api_as(world.teacher)
            .post(f"{URL}/models/", {"school_id": world.school.pk, "method": "bkt"}, format="json")
            .status_code
            == 403
        )
