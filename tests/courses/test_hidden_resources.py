"""A hidden learning resource (``LearningResource.is_active=False``) does not exist for students.

The resource page, the course page, the REST list and detail, the recommender's lists and "ask
the course" already leave it out (tests/web/test_pages.py, tests/recommender/); this pins the
one REST route that still took its id from a student: recording activity on it.
"""

from __future__ import annotations

import pytest

from eduai.courses.models import ActivityEvent
from tests import factories as f

VIEWED = "http://id.tincanapi.com/verb/viewed"
pytestmark = pytest.mark.django_db


def _viewed(world, resource_id, **extra):
    return {
        "course": world.course.pk,
        "verb": VIEWED,
        "object_type": "resource",
        "resource": resource_id,
        "timestamp": "2025-03-01T10:00:00Z",
        **extra,
    }


def test_a_student_cannot_record_activity_on_a_hidden_resource_nor_learn_that_it_exists(world, api_as):
    hidden = f.LearningResourceFactory(course=world.course, title="Answers to the test", is_active=False)
    unknown = hidden.pk + 1000
    student = api_as(world.student)
    # a hidden resource reads exactly like one that does not exist
    on_hidden = student.post("/api/v1/events/", [_viewed(world, hidden.pk)], format="json")
    on_unknown = student.post("/api/v1/events/", [_viewed(world, unknown)], format="json")
    assert on_hidden.status_code == on_unknown.status_code == 400
    assert on_hidden.json()["events"]["0"] == {"resource": f"Resource {hidden.pk} not found."}
    assert on_unknown.json()["events"]["0"] == {"resource": f"Resource {unknown} not found."}
    assert not ActivityEvent.objects.exists()


def test_staff_still_record_activity_on_a_hidden_resource_for_their_students(world, api_as):
    hidden = f.LearningResourceFactory(course=world.course, is_active=False)
    response = api_as(world.teacher).post(
        "/api/v1/events/", [_viewed(world, hidden.pk, actor=world.student.pk)], format="json"
    )
    assert response.status_code == 201, response.content
    assert ActivityEvent.objects.get().resource_id == hidden.pk
