"""Submissions through the API: students submit their own work; staff read their courses'."""

from __future__ import annotations

import pytest

from eduai.courses.models import Enrollment, Submission, SubmissionStatus
from tests import factories as f


@pytest.fixture
def assignment(world):
    return f.AssignmentFactory(course=world.course)


def test_a_student_submits_and_gets_numbered_attempts(world, api_as, assignment, django_capture_on_commit_callbacks):
    # given a student of the course
    client = api_as(world.student)
    # when they submit twice
    with django_capture_on_commit_callbacks(execute=False) as announcements:
        first = client.post("/api/v1/submissions/", {"assignment": assignment.pk, "text": "Draft one."}, format="json")
        second = client.post("/api/v1/submissions/", {"assignment": assignment.pk, "text": "Draft two."}, format="json")
    # then both are theirs, numbered 1 and 2, and received
    assert (first.status_code, second.status_code) == (201, 201)
    assert [(r.json()["attempt"], r.json()["author"], r.json()["status"]) for r in (first, second)] == [
        (1, world.student.pk, "received"),
        (2, world.student.pk, "received"),
    ]
    # and each is announced to grading once, after commit (not run here: grading is not under test)
    assert len(announcements) == 2


def test_a_student_cannot_submit_as_someone_else(world, api_as, assignment):
    # the author is always the asker, whatever the body says
    response = api_as(world.student).post(
        "/api/v1/submissions/", {"assignment": assignment.pk, "text": "Mine.", "author": world.ta.pk}, format="json"
    )
    assert response.status_code == 201
    assert Submission.objects.get().author == world.student


def test_a_student_with_an_ended_enrolment_cannot_submit(world, api_as, assignment):
    Enrollment.objects.filter(user=world.student).update(is_active=False)
    response = api_as(world.student).post(
        "/api/v1/submissions/", {"assignment": assignment.pk, "text": "Late."}, format="json"
    )
    assert response.status_code == 400
    assert not Submission.objects.exists()


def test_students_cannot_submit_to_unpublished_assignments(world, api_as):
    draft = f.AssignmentFactory(course=world.course, is_published=False)
    response = api_as(world.student).post("/api/v1/submissions/", {"assignment": draft.pk, "text": "x"}, format="json")
    assert response.status_code == 400
    assert "does not exist" in response.json()["assignment"][0]


def test_text_cannot_change_after_submission(world, api_as, assignment):
    submission = f.SubmissionFactory(assignment=assignment, author=world.student, text="Original.")
    client = api_as(world.student)
    for method in ("put", "patch"):
        response = getattr(client, method)(f"/api/v1/submissions/{submission.pk}/", {"text": "Edited."}, format="json")
        assert response.status_code == 405
    submission.refresh_from_db()
    assert submission.text == "Original."


def test_each_role_lists_exactly_the_submissions_it_may_read(world, api_as, assignment):
    # given submissions by two students of the course and one in another course
    classmate = f.UserFactory(username="classmate")
    f.EnrollmentFactory(course=world.course, user=classmate)
    mine = f.SubmissionFactory(assignment=assignment, author=world.student)
    theirs = f.SubmissionFactory(assignment=assignment, author=classmate)
    elsewhere = f.SubmissionFactory(
        assignment=f.AssignmentFactory(course=world.other_course), author=world.other_student
    )

    def ids(user):
        return {s["id"] for s in api_as(user).get("/api/v1/submissions/").json()["results"]}

    # then a student sees only their own; staff their course's; a school admin the school's
    assert ids(world.student) == {mine.pk}
    assert ids(world.teacher) == {mine.pk, theirs.pk}
    assert ids(world.ta) == {mine.pk, theirs.pk}
    assert ids(world.other_teacher) == {elsewhere.pk}
    assert ids(world.admin) == {mine.pk, theirs.pk, elsewhere.pk}
    assert ids(world.other_admin) == set()
    # and a classmate's submission is a 404 for the student, not a 403
    assert api_as(world.student).get(f"/api/v1/submissions/{theirs.pk}/").status_code == 404


def test_a_grade_reaches_the_student_only_once_released(world, api_as, assignment):
    submission = f.SubmissionFactory(
        assignment=assignment, author=world.student, status=SubmissionStatus.REVIEWED, final_score=5
    )
    url = f"/api/v1/submissions/{submission.pk}/"
    assert api_as(world.student).get(url).json()["final_score"] is None
    assert api_as(world.teacher).get(url).json()["final_score"] == 5
    Submission.objects.filter(pk=submission.pk).update(status=SubmissionStatus.RELEASED)
    assert api_as(world.student).get(url).json()["final_score"] == 5


def test_submissions_filter_by_status_author_and_assignment(world, api_as, assignment):
    other = f.AssignmentFactory(course=world.course)
    scored = f.SubmissionFactory(assignment=assignment, author=world.student, status=SubmissionStatus.SCORED)
    f.SubmissionFactory(assignment=other, author=world.student)
    client = api_as(world.teacher)

    def ids(query):
        response = client.get(f"/api/v1/submissions/?{query}")
        assert response.status_code == 200
        return [s["id"] for s in response.json()["results"]]

    assert ids("status=scored") == [scored.pk]
    assert ids(f"assignment={assignment.pk}") == [scored.pk]
    assert len(ids(f"author={world.student.pk}&course={world.course.pk}")) == 2
    assert ids(f"author={world.teacher.pk}") == []
