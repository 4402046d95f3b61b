"""Each school is its own LRS: a statement id is unique within a school's store, not across schools.

xAPI: statement ids are UUIDs chosen by the sender; an LRS answers 409 to a statement whose id it
already holds with other content. One school's store must neither refuse an id because another
school holds it (that answer would tell the sender the id exists elsewhere, and would let one
school block another's ids), nor read, void or attach events to another school's statements.
"""

from __future__ import annotations

import uuid

import pytest

from eduai.courses.models import ActivityEvent, Role
from eduai.xapi.models import Statement
from eduai.xapi.services import lrs_client_create
from tests.factories import EnrollmentFactory, PracticeItemFactory, UserFactory

from .conftest import XapiClient, statement

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
FAILED = "http://adlnet.gov/expapi/verbs/failed"


@pytest.fixture
def north(world):
    """The world's school: its student answers a practice item of its course."""
    world.student.email = "stu@example.org"
    world.student.save()
    PracticeItemFactory(course=world.course)
    client, secret = lrs_client_create(name="north", school_id=world.school.pk)
    return XapiClient(client.key, secret)


@pytest.fixture
def south(world):
    """The other school, with a student of its own course."""
    student = UserFactory(username="south-stu", email="stu@south.example")
    EnrollmentFactory(course=world.foreign_course, user=student, role=Role.STUDENT)
    PracticeItemFactory(course=world.foreign_course)
    client, secret = lrs_client_create(name="south", school_id=world.other_school.pk)
    return XapiClient(client.key, secret)


def south_statement(world, **overrides):
    return statement(
        world,
        actor={"objectType": "Agent", "mbox": "mailto:stu@south.example"},
        context={"contextActivities": {"parent": [{"id": f"urn:eduai:course:{world.foreign_course.pk}"}]}},
        **overrides,
    )


def voiding(world, target: str, **overrides):
    body = statement(world, verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target}, **overrides)
    del body["result"]
    return body


def test_an_id_held_by_another_school_is_stored_in_this_school_and_each_reads_its_own(world, north, south):
    sid = str(uuid.uuid4())
    assert north.post(statement(world, id=sid)).status_code == 200

    # Given another school's statement under the same id, with other content
    resp = south.post(south_statement(world, id=sid, verb={"id": FAILED}))

    # then it is stored in that school (no 409: the answer says nothing of the north's store)
    assert resp.status_code == 200 and resp.json() == [sid]
    assert Statement.objects.filter(statement_id=sid).count() == 2
    # each school reads its own statement under the id
    assert north.get(statementId=sid).json()["verb"]["id"] == "http://adlnet.gov/expapi/verbs/answered"
    assert south.get(statementId=sid).json()["verb"]["id"] == FAILED
    assert [s["id"] for s in south.get().json()["statements"]] == [sid]
    # and each became its own school's event; the north's is untouched
    events = {e.course_id: e for e in ActivityEvent.objects.all()}
    assert set(events) == {world.course.pk, world.foreign_course.pk}
    assert events[world.course.pk].verb == "http://adlnet.gov/expapi/verbs/answered"
    assert events[world.course.pk].statement_id == uuid.UUID(sid)
    assert events[world.foreign_course.pk].verb == FAILED
    south_row = Statement.objects.get(statement_id=sid, school=world.other_school)
    assert south_row.event == events[world.foreign_course.pk]
    # a re-send in each school is still a duplicate of that school's statement, and a conflict
    # with it is still a 409
    assert south.post(south_statement(world, id=sid, verb={"id": FAILED})).status_code == 200
    assert north.put(sid, statement(world)).status_code == 204
    assert north.post(statement(world, id=sid, verb={"id": FAILED})).status_code == 409
    assert south.post(south_statement(world, id=sid)).status_code == 409
    assert Statement.objects.filter(statement_id=sid).count() == 2 and ActivityEvent.objects.count() == 2


def test_the_same_content_under_the_same_id_in_two_schools_is_two_statements(world, north, south):
    sid = str(uuid.uuid4())
    body = statement(world, id=sid, context={})  # no course: stored, not evidence
    assert north.post(body).status_code == 200
    assert south.post(body).status_code == 200
    rows = Statement.objects.filter(statement_id=sid)
    assert sorted(r.school_id for r in rows) == sorted([world.school.pk, world.other_school.pk])
    assert south.get(statementId=sid).status_code == 200


def test_voiding_an_id_only_voids_it_in_the_voiding_school(world, north, south):
    sid = str(uuid.uuid4())
    north.post(statement(world, id=sid))

    # Given the other school voids the id, which it does not hold
    resp = south.post(voiding(world, sid))

    # then the voiding is accepted as for any unseen target (no 403 naming the north's statement)
    assert resp.status_code == 200
    assert north.get(statementId=sid).status_code == 200
    assert ActivityEvent.objects.get(statement_id=sid).voided is False

    # and when it later sends its own statement under the id, that one is born voided, the
    # north's is not
    assert south.post(south_statement(world, id=sid)).status_code == 200
    assert south.get(statementId=sid).status_code == 404
    assert south.get(voidedStatementId=sid).json()["id"] == sid
    assert north.get(statementId=sid).status_code == 200
    north_event = Statement.objects.get(statement_id=sid, school=world.school).event
    south_event = Statement.objects.get(statement_id=sid, school=world.other_school).event
    assert north_event.voided is False and south_event.voided is True


def test_voiding_in_one_school_leaves_the_same_id_in_another_school_alone(world, north, south):
    sid = str(uuid.uuid4())
    north.post(statement(world, id=sid))
    south.post(south_statement(world, id=sid))

    assert south.post(voiding(world, sid)).status_code == 200

    assert south.get(statementId=sid).status_code == 404
    assert north.get(statementId=sid).status_code == 200
    assert north.get(voidedStatementId=sid).status_code == 404
    assert Statement.objects.get(statement_id=sid, school=world.school).event.voided is False
    assert Statement.objects.get(statement_id=sid, school=world.other_school).event.voided is True


def test_an_earlier_voiding_in_another_school_does_not_void_a_new_statement(world, north, south):
    sid = str(uuid.uuid4())
    assert south.post(voiding(world, sid)).status_code == 200
    assert north.post(statement(world, id=sid)).status_code == 200
    assert north.get(statementId=sid).status_code == 200
    assert ActivityEvent.objects.get(statement_id=sid).voided is False


def test_a_course_scoped_client_voids_only_events_of_its_own_statements(world, north, south):
    """The event a statement links to is its own course's: the south's statement under an id the
    north's event already uses gets an event of its own, and voiding it voids only that one."""
    sid = str(uuid.uuid4())
    north.post(statement(world, id=sid))
    client, secret = lrs_client_create(
        name="south course", school_id=world.other_school.pk, course_id=world.foreign_course.pk
    )
    south_course = XapiClient(client.key, secret)
    assert south_course.post(south_statement(world, id=sid)).status_code == 200
    assert south_course.post(voiding(world, sid, context={})).status_code == 200
    assert ActivityEvent.objects.get(course=world.course).voided is False
    assert ActivityEvent.objects.get(course=world.foreign_course).voided is True


def test_an_event_keeps_its_statement_id_when_another_school_holds_it(world, north, south, api_as):
    # Given the north's statement (and so its event) under an id
    sid = str(uuid.uuid4())
    assert north.post(statement(world, id=sid)).status_code == 200
    # When the south sends a statement under the same id
    assert south.post(south_statement(world, id=sid)).status_code == 200
    # Then its event is recorded in its own course under that id, and linked
    south_row = Statement.objects.get(statement_id=sid, school=world.other_school)
    assert south_row.event.course == world.foreign_course
    assert str(south_row.event.statement_id) == sid
    assert ActivityEvent.objects.count() == 2
    # and a later REST post of that id in the south's course is a duplicate, not a second activity
    body = [
        {"course": world.foreign_course.pk, "verb": FAILED, "timestamp": "2026-03-01T12:00:00Z", "statement_id": sid}
    ]
    south_student = UserFactory._meta.model.objects.get(username="south-stu")
    resp = api_as(south_student).post("/api/v1/events/", body, format="json")
    assert resp.status_code in (200, 201), resp.content
    assert ActivityEvent.objects.filter(course=world.foreign_course).count() == 1


def _rest_event(api_as, user, course, sid: str):
    body = [{"course": course.pk, "verb": FAILED, "timestamp": "2026-03-01T12:00:00Z", "statement_id": sid}]
    resp = api_as(user).post("/api/v1/events/", body, format="json")
    assert resp.status_code == 201, resp.content


def test_voiding_voids_this_schools_event_when_another_school_records_the_id_over_rest(world, north, south, api_as):
    # Given the north's statement, and the south's REST event under the same id in its own course
    # (statement ids of events are per course, courses/0002)
    sid = str(uuid.uuid4())
    assert north.post(statement(world, id=sid)).status_code == 200
    _rest_event(api_as, UserFactory._meta.model.objects.get(username="south-stu"), world.foreign_course, sid)
    # When the north voids its statement
    assert north.post(voiding(world, sid)).status_code == 200
    # Then its event is voided, and the south's is not
    voided = dict(ActivityEvent.objects.filter(statement_id=sid).values_list("course_id", "voided"))
    assert voided == {world.course.pk: True, world.foreign_course.pk: False}


def test_a_statement_links_its_courses_rest_event_when_another_school_has_the_id_too(world, north, south, api_as):
    # Given the north's REST event and the south's under one id, each in its own course
    sid = str(uuid.uuid4())
    _rest_event(api_as, world.student, world.course, sid)
    _rest_event(api_as, UserFactory._meta.model.objects.get(username="south-stu"), world.foreign_course, sid)
    # When the north's LRS client sends the statement of that id
    assert north.post(statement(world, id=sid)).status_code == 200
    # Then it links the north's event rather than recording the activity twice
    north_event = ActivityEvent.objects.get(statement_id=sid, course=world.course)
    assert Statement.objects.get(statement_id=sid, school=world.school).event == north_event
    assert ActivityEvent.objects.filter(course=world.course).count() == 1
