"""Statement ids of activity events are per course: another course's (another school's) use of an
id neither blocks an event nor is reported as its duplicate, and a re-sent event is still stored
once in its own course."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from eduai.courses import api as courses
from eduai.courses.models import ActivityEvent
from tests import factories as f

ANSWERED = "http://adlnet.gov/expapi/verbs/answered"


@pytest.fixture
def south_student(world):
    student = f.UserFactory(username="south-student")
    f.EnrollmentFactory(course=world.foreign_course, user=student)
    return student


def event(course, **extra):
    return {"course": course.pk, "verb": ANSWERED, "timestamp": "2025-03-01T10:00:00Z", **extra}


def test_an_id_another_school_holds_is_stored_and_not_reported(world, api_as, south_student):
    # Given a statement id that a student of another school recorded first
    sid = str(uuid.uuid4())
    south = api_as(south_student).post(
        "/api/v1/events/", [event(world.foreign_course, statement_id=sid)], format="json"
    )
    assert south.status_code == 201
    # When a student of this school sends an event under the same id
    north = api_as(world.student).post("/api/v1/events/", [event(world.course, statement_id=sid)], format="json")
    # Then it is stored, and nothing says that the id exists elsewhere (it was a 200 naming the id)
    assert north.status_code == 201, north.content
    assert (north.json()["created"], north.json()["duplicate_statement_ids"]) == (1, [])
    # and each school reads its own event back under the id it sent; the other's is untouched
    for user, course in ((world.student, world.course), (south_student, world.foreign_course)):
        listed = api_as(user).get("/api/v1/events/").json()["results"]
        assert [(e["statement_id"], e["course"]) for e in listed] == [(sid, course.pk)]
    assert ActivityEvent.objects.filter(statement_id=sid).count() == 2


def test_a_resent_event_is_still_stored_once_in_its_course_when_another_school_has_the_id(world, api_as, south_student):
    sid = str(uuid.uuid4())
    api_as(south_student).post("/api/v1/events/", [event(world.foreign_course, statement_id=sid)], format="json")
    client = api_as(world.student)
    first = client.post("/api/v1/events/", [event(world.course, statement_id=sid)], format="json")
    # When the same event is sent again, twice in one batch
    again = client.post(
        "/api/v1/events/", [event(world.course, statement_id=sid), event(world.course, statement_id=sid)], format="json"
    )
    # Then it is reported as a duplicate each time and changes nothing
    assert first.status_code == 201
    assert (again.status_code, again.json()["created"], again.json()["duplicate_statement_ids"]) == (200, 0, [sid, sid])
    assert ActivityEvent.objects.filter(statement_id=sid, course=world.course).count() == 1
    # and the other school's re-send is its own duplicate, not blocked by ours either
    south_again = api_as(south_student).post(
        "/api/v1/events/", [event(world.foreign_course, statement_id=sid)], format="json"
    )
    assert (south_again.status_code, south_again.json()["duplicate_statement_ids"]) == (200, [sid])
    assert ActivityEvent.objects.filter(statement_id=sid).count() == 2


def test_the_same_id_in_two_courses_of_a_batch_is_two_events(world, api_as):
    # Given a school admin recording for two of the school's courses (each event is its course's)
    f.EnrollmentFactory(course=world.other_course, user=world.student)
    sid = str(uuid.uuid4())
    batch = [
        event(world.course, statement_id=sid, actor=world.student.pk),
        event(world.other_course, statement_id=sid, actor=world.student.pk),
        event(world.course, statement_id=sid, actor=world.student.pk),
    ]
    response = api_as(world.admin).post("/api/v1/events/", batch, format="json")
    # Then each course has it once; the repeat for the first course is the only duplicate
    assert response.status_code == 201, response.content
    assert (response.json()["created"], response.json()["duplicate_statement_ids"]) == (2, [sid])
    assert sorted(ActivityEvent.objects.filter(statement_id=sid).values_list("course_id", flat=True)) == sorted(
        [world.course.pk, world.other_course.pk]
    )


def _record(course, actor, sid):
    return courses.activity_events_record(
        events=[
            courses.EventInput(
                course_id=course.pk, actor_id=actor.pk, verb=ANSWERED, timestamp=timezone.now(), statement_id=sid
            )
        ]
    )


def test_voiding_by_course_voids_only_that_courses_event(world, south_student):
    sid = uuid.uuid4()
    _record(world.course, world.student, sid)
    _record(world.foreign_course, south_student, sid)
    # When one school's event is voided
    assert courses.activity_event_void(statement_id=sid, course_id=world.foreign_course.pk)
    # Then the other school's event under the same id is not
    voided = dict(ActivityEvent.objects.filter(statement_id=sid).values_list("course_id", "voided"))
    assert voided == {world.course.pk: False, world.foreign_course.pk: True}
    # and voiding again changes nothing
    assert not courses.activity_event_void(statement_id=sid, course_id=world.foreign_course.pk)


def test_voiding_an_id_without_a_course_never_voids_another_courses_event(world, south_student):
    # An id only one event has is voided as before
    alone = uuid.uuid4()
    _record(world.course, world.student, alone)
    assert courses.activity_event_void(statement_id=alone)
    assert ActivityEvent.objects.get(statement_id=alone).voided
    # but an id two schools use voids nothing, rather than both events
    shared = uuid.uuid4()
    _record(world.course, world.student, shared)
    _record(world.foreign_course, south_student, shared)
    assert not courses.activity_event_void(statement_id=shared)
    assert not ActivityEvent.objects.filter(statement_id=shared, voided=True).exists()
