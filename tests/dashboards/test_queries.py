"""Query counts of each page, pinned: they must not grow with the number of students, skills
or events (aggregation happens in the database, never per student)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from .. import factories as f

pytestmark = pytest.mark.django_db


def _get(client: Client, url: str, django_assert_num_queries, n: int):
    with django_assert_num_queries(n):
        response = client.get(url)
    assert response.status_code == 200
    return response


def _count(client: Client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def _more_of_everything(data) -> None:
    """Twice the students, one more skill, more answers: the page must run the same queries."""
    from assessment import api as assessment
    from eduai.courses import api as courses
    from eduai.courses.models import Role

    course = data.world.course
    extra = [f.UserFactory(username=f"late{i}") for i in range(6)]
    for s in extra:
        f.EnrollmentFactory(course=course, user=s, role=Role.STUDENT)
    skill = f.SkillFactory(course=course, name="Percentages")
    item = f.PracticeItemFactory(course=course)
    item.skills.add(skill)
    from django.utils import timezone

    events = [
        courses.EventInput(course_id=course.pk, actor_id=s.pk, verb="http://adlnet.gov/expapi/verbs/answered",
                           object_type="practice_item", practice_item_id=item.pk, result_success=k % 2 == 0,
                           timestamp=timezone.now())
        for k, s in enumerate(extra + data.students)
    ]  # fmt: skip
    assessment.record_events(event_ids=courses.activity_events_record(events=events).created_ids)


@pytest.mark.parametrize("page", ["course", "school"])
def test_page_queries_do_not_grow_with_the_class(course_data, page):
    w = course_data.world
    user, url = {
        "course": (w.teacher, reverse("dashboards:course", args=[w.course.pk])),
        "school": (w.admin, reverse("dashboards:school", args=[w.school.pk])),
    }[page]
    client = Client()
    client.force_login(user)
    before = _count(client, url)
    _more_of_everything(course_data)
    assert _count(client, url) == before


# Pinned counts (see the -v output of a failure for the list). Course page, 18: session and
# user (2), course and role (3), assignments, final grades, grading's two scoped querysets (2)
# and proposals, backlog, agreement pairs, mastery, skills, roster (one each), recommendation
# lists and their use (2). Class history (one query) and risk are fetched on their own: assessment's
# scoring (its own count), session, user, course, role, roster and the snapshot write (lock + save).
COURSE_QUERIES = 17
COURSE_RISK_FRAGMENT_QUERIES = 17
# Student page: course and role, the student, skills, mastery (assessment: a few), history,
# submissions, each released grade (one per released submission: a student has a handful),
# recommendations. The student's own view also computes their list if it was never computed.
STUDENT_QUERIES_STAFF = 27
STUDENT_QUERIES_SELF = 28
# School page, 17 whatever the number of courses: one query per panel over the whole school.
# Its deferred panels, each on its own URL. At-risk counts read the kept snapshots (2) and here
# score the one course (of 2) that has none yet (assessment's count, once per course and day).
SCHOOL_QUERIES = 17
# session, user, school, admin check (4) and the school's courses (1), then: enrolments and active
# students (2), events per day (1), agreement pairs with grading's scope (5), the review loop's
# fairness report of one course (its own count).
SCHOOL_FRAGMENT_QUERIES = {"risk": 18, "active": 7, "activity": 6, "agreement": 10, "fairness_language": 17}


def test_deferred_panel_query_counts(course_data):
    w = course_data.world
    client = Client()
    client.force_login(w.teacher)
    counts = {"course risk": _count(client, reverse("dashboards:course-panel", args=[w.course.pk, "risk"]))}
    client.force_login(w.admin)
    for key in SCHOOL_FRAGMENT_QUERIES:
        counts[key] = _count(client, reverse("dashboards:school-panel", args=[w.school.pk, key]))
    assert counts == {"course risk": COURSE_RISK_FRAGMENT_QUERIES, **SCHOOL_FRAGMENT_QUERIES}


def test_course_page_query_count(course_data, django_assert_num_queries):
    w = course_data.world
    client = Client()
    client.force_login(w.teacher)
    _get(client, reverse("dashboards:course", args=[w.course.pk]), django_assert_num_queries, COURSE_QUERIES)


def test_student_page_query_count(course_data, django_assert_num_queries):
    w = course_data.world
    client = Client()
    client.force_login(w.teacher)
    url = reverse("dashboards:student", args=[w.course.pk, w.student.pk])
    _get(client, url, django_assert_num_queries, STUDENT_QUERIES_STAFF)
    client.force_login(w.student)
    _get(client, url, django_assert_num_queries, STUDENT_QUERIES_SELF)


def test_school_page_query_count(course_data, django_assert_num_queries):
    w = course_data.world
    client = Client()
    client.force_login(w.admin)
    _get(client, reverse("dashboards:school", args=[w.school.pk]), django_assert_num_queries, SCHOOL_QUERIES)
