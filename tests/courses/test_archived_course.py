"""An archived course (``Course.is_active=False``) through the REST API, like a concluded Canvas
course: its members still read it, their own work and their grades; nothing new is submitted or
recorded in it; its setup and roster change only by the school's admins (docs/courses.md).
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from eduai.courses import services
from eduai.courses.models import (
    ActivityEvent,
    Assignment,
    Enrollment,
    LearningResource,
    PracticeItem,
    Skill,
    Submission,
    SubmissionStatus,
)
from tests import factories as f

ANSWERED = "http://adlnet.gov/expapi/verbs/answered"
pytestmark = pytest.mark.django_db


@pytest.fixture
def archived(world):
    """``world.course`` with a graded submission of the student, then archived."""
    assignment = f.AssignmentFactory(course=world.course, title="River essay")
    item = f.PracticeItemFactory(course=world.course)
    submission = f.SubmissionFactory(
        assignment=assignment, author=world.student, status=SubmissionStatus.RELEASED, final_score=5
    )
    world.course.is_active = False
    world.course.save(update_fields=["is_active"])
    return assignment, item, submission


def _answer(world, item, **extra):
    return {
        "course": world.course.pk,
        "verb": ANSWERED,
        "object_type": "practice_item",
        "practice_item": item.pk,
        "result_success": True,
        "timestamp": "2025-03-01T10:00:00Z",
        **extra,
    }


def test_members_still_read_an_archived_course_their_work_and_grades(world, api_as, archived):
    assignment, _item, submission = archived
    student = api_as(world.student)
    course = student.get(f"/api/v1/courses/{world.course.pk}/")
    assert course.status_code == 200 and course.json()["is_active"] is False
    assert [a["id"] for a in student.get("/api/v1/assignments/").json()["results"]] == [assignment.pk]
    mine = student.get(f"/api/v1/submissions/{submission.pk}/").json()
    assert mine["final_score"] == 5
    assert [s["id"] for s in api_as(world.ta).get("/api/v1/submissions/").json()["results"]] == [submission.pk]
    # /me/ says which of my courses are archived
    me = student.get("/api/v1/me/").json()
    assert [(c["code"], c["is_active"]) for c in me["courses"]] == [("ENG1", False)]


def test_nothing_new_can_be_submitted_to_an_archived_course(world, api_as, archived):
    assignment, *_ = archived
    response = api_as(world.student).post(
        "/api/v1/submissions/", {"assignment": assignment.pk, "text": "Late essay."}, format="json"
    )
    assert response.status_code == 403
    assert "archived" in response.json()["detail"]
    assert Submission.objects.filter(assignment=assignment).count() == 1
    # and the core refuses it for every caller, not only the REST API
    with pytest.raises(ValidationError, match="archived"):
        services.submission_create(assignment_id=assignment.pk, author_id=world.student.pk, text="Late essay.")


@pytest.mark.parametrize("who", ["student", "teacher", "admin"])
def test_no_new_practice_answers_are_recorded_in_an_archived_course(world, api_as, archived, who):
    _assignment, item, _submission = archived
    actor = {} if who == "student" else {"actor": world.student.pk}
    response = api_as(getattr(world, who)).post("/api/v1/events/", [_answer(world, item, **actor)], format="json")
    assert response.status_code == 403
    assert "archived" in response.json()["events"]["0"]["course"]
    assert not ActivityEvent.objects.exists()


def test_only_school_admins_change_an_archived_courses_roster(world, api_as, archived):
    newcomer = f.UserFactory(username="late")
    body = {"course": world.course.pk, "user": newcomer.pk, "role": "student"}
    enrolment = Enrollment.objects.get(course=world.course, user=world.student)
    teacher = api_as(world.teacher)
    refused = teacher.post("/api/v1/enrolments/", body, format="json")
    assert refused.status_code == 403 and "archived" in refused.json()["detail"]
    assert teacher.patch(f"/api/v1/enrolments/{enrolment.pk}/", {"role": "ta"}, format="json").status_code == 403
    assert teacher.delete(f"/api/v1/enrolments/{enrolment.pk}/").status_code == 403
    assert not Enrollment.objects.filter(user=newcomer).exists()
    enrolment.refresh_from_db()
    assert (enrolment.role, enrolment.is_active) == ("student", True)
    # the school admin still may
    admin = api_as(world.admin)
    assert admin.post("/api/v1/enrolments/", body, format="json").status_code == 201
    assert admin.delete(f"/api/v1/enrolments/{enrolment.pk}/").status_code == 204


def test_an_archived_courses_setup_is_read_only_but_for_school_admins(world, api_as, archived):
    assignment, *_ = archived
    teacher = api_as(world.teacher)
    refused = teacher.patch(f"/api/v1/assignments/{assignment.pk}/", {"title": "Changed"}, format="json")
    assert refused.status_code == 403 and "archived" in refused.json()["detail"]
    assert teacher.post("/api/v1/skills/", {"course": world.course.pk, "name": "New"}, format="json").status_code == 403
    assert teacher.delete(f"/api/v1/assignments/{assignment.pk}/").status_code == 403
    assert not Skill.objects.filter(name="New").exists()
    assert Assignment.objects.get(pk=assignment.pk).title == "River essay"
    admin = api_as(world.admin)
    assert admin.patch(f"/api/v1/assignments/{assignment.pk}/", {"title": "Fixed"}, format="json").status_code == 200
    assert admin.post("/api/v1/skills/", {"course": world.course.pk, "name": "New"}, format="json").status_code == 201


def test_an_archived_courses_items_resources_and_title_are_read_only_but_for_school_admins(world, api_as, archived):
    # given an archived course with a practice item and a learning resource
    _assignment, item, _submission = archived
    resource = f.LearningResourceFactory(course=world.course, title="Rivers of Europe")
    new_resource = {"course": world.course.pk, "title": "New", "kind": "reading", "body": "Read this."}
    teacher = api_as(world.teacher)
    # when its teacher changes them, adds to them or renames the course
    answers = [
        teacher.patch(f"/api/v1/practice-items/{item.pk}/", {"title": "Changed"}, format="json"),
        teacher.delete(f"/api/v1/practice-items/{item.pk}/"),
        teacher.patch(f"/api/v1/resources/{resource.pk}/", {"is_active": False}, format="json"),
        teacher.post("/api/v1/resources/", new_resource, format="json"),
        teacher.patch(f"/api/v1/courses/{world.course.pk}/", {"title": "Renamed"}, format="json"),
    ]
    # then each is refused as archived, and nothing changed
    assert [(r.status_code, "archived" in r.json()["detail"]) for r in answers] == [(403, True)] * 5
    resource.refresh_from_db()
    world.course.refresh_from_db()
    assert resource.is_active and PracticeItem.objects.get(pk=item.pk).title == item.title
    assert world.course.title != "Renamed" and not world.course.is_active
    assert not LearningResource.objects.filter(title="New").exists()
    # while the school's admin still may
    admin = api_as(world.admin)
    assert admin.patch(f"/api/v1/resources/{resource.pk}/", {"title": "Fixed"}, format="json").status_code == 200
    assert admin.post("/api/v1/resources/", new_resource, format="json").status_code == 201


def test_a_teacher_archives_their_course_and_only_a_school_admin_reopens_it(world, api_as):
    url = f"/api/v1/courses/{world.course.pk}/"
    teacher = api_as(world.teacher)
    assert teacher.patch(url, {"is_active": False}, format="json").status_code == 200
    refused = teacher.patch(url, {"is_active": True}, format="json")
    assert refused.status_code == 403 and "archived" in refused.json()["detail"]
    assert teacher.patch(url, {"title": "Renamed"}, format="json").status_code == 403
    world.course.refresh_from_db()
    assert (world.course.is_active, world.course.title) == (False, "English 1")
    assert api_as(world.admin).patch(url, {"is_active": True}, format="json").status_code == 200
    world.course.refresh_from_db()
    assert world.course.is_active
