"""Activity events through the API: bulk ingestion with scope checks, and scoped reading."""

from __future__ import annotations

import uuid

import pytest

from eduai.courses.models import ActivityEvent
from tests import factories as f

ANSWERED = "http://adlnet.gov/expapi/verbs/answered"


@pytest.fixture
def item(world):
    return f.PracticeItemFactory(course=world.course)


def event(world, item, **extra):
    return {
        "course": world.course.pk,
        "verb": ANSWERED,
        "object_type": "practice_item",
        "practice_item": item.pk,
        "result_success": True,
        "result_score_scaled": 1.0,
        "timestamp": "2025-03-01T10:00:00Z",
        **extra,
    }


def test_a_student_records_a_batch_of_their_own_events(world, api_as, item, django_capture_on_commit_callbacks):
    # given a student
    client = api_as(world.student)
    batch = [event(world, item, timestamp=f"2025-03-01T10:0{i}:00Z") for i in range(3)]
    # when they post three events (actor left out: it is them)
    with django_capture_on_commit_callbacks(execute=False) as announcements:
        response = client.post("/api/v1/events/", batch, format="json")
    # then all three are stored as theirs, and one announcement is queued for the batch
    assert response.status_code == 201, response.content
    assert response.json()["created"] == 3
    stored = ActivityEvent.objects.order_by("timestamp")
    assert [(e.actor_id, e.practice_item_id, e.result_success) for e in stored] == [
        (world.student.pk, item.pk, True)
    ] * 3
    assert sorted(response.json()["created_ids"]) == sorted(e.pk for e in stored)
    assert len(announcements) == 1


def test_resent_statements_are_reported_and_not_stored_twice(world, api_as, item):
    client = api_as(world.student)
    sid = str(uuid.uuid4())
    first = client.post("/api/v1/events/", [event(world, item, statement_id=sid)], format="json")
    # the same statement again, twice in one batch, next to a new one
    again = client.post(
        "/api/v1/events/",
        [event(world, item, statement_id=sid), event(world, item, statement_id=sid), event(world, item)],
        format="json",
    )
    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json()["created"] == 1
    assert again.json()["duplicate_statement_ids"] == [sid, sid]
    assert ActivityEvent.objects.filter(statement_id=sid).count() == 1
    assert ActivityEvent.objects.count() == 2
    # a batch of nothing but duplicates stores nothing and says so with a 200
    only_dupes = client.post("/api/v1/events/", [event(world, item, statement_id=sid)], format="json")
    assert (only_dupes.status_code, only_dupes.json()["created"]) == (200, 0)


def test_a_student_cannot_record_someone_elses_activity(world, api_as, item):
    # given a classmate in the same course
    classmate = f.UserFactory(username="classmate")
    f.EnrollmentFactory(course=world.course, user=classmate)
    # when the student posts a batch where one event is about the classmate
    response = api_as(world.student).post(
        "/api/v1/events/", [event(world, item), event(world, item, actor=classmate.pk)], format="json"
    )
    # then the whole batch is refused, naming the offending position, and nothing is stored
    assert response.status_code == 403
    assert response.json()["events"] == {"1": {"actor": "You may only record your own activity."}}
    assert ActivityEvent.objects.count() == 0


@pytest.mark.parametrize("who", ["teacher", "ta", "admin"])
def test_course_staff_record_events_for_their_students(world, api_as, item, who):
    response = api_as(getattr(world, who)).post(
        "/api/v1/events/", [event(world, item, actor=world.student.pk)], format="json"
    )
    assert response.status_code == 201
    assert ActivityEvent.objects.get().actor == world.student


def test_staff_cannot_record_events_for_someone_who_is_not_a_student_of_the_course(world, api_as, item):
    response = api_as(world.teacher).post("/api/v1/events/", [event(world, item, actor=world.ta.pk)], format="json")
    assert response.status_code == 403
    assert "not a student of course" in response.json()["events"]["0"]["actor"]
    assert ActivityEvent.objects.count() == 0


def test_an_event_cannot_point_at_another_courses_item(world, api_as, item):
    foreign_item = f.PracticeItemFactory(course=world.other_course)
    response = api_as(world.admin).post(
        "/api/v1/events/", [event(world, item, actor=world.student.pk, practice_item=foreign_item.pk)], format="json"
    )
    assert response.status_code == 400
    assert "belongs to another course" in response.json()["events"]["0"]["practice_item"]
    assert ActivityEvent.objects.count() == 0


VIEWED = "http://id.tincanapi.com/verb/viewed"


def _viewed_assignment(world, assignment_id, **extra):
    return {
        "course": world.course.pk,
        "verb": VIEWED,
        "object_type": "assignment",
        "assignment": assignment_id,
        "timestamp": "2025-03-01T10:00:00Z",
        **extra,
    }


def test_an_unpublished_assignment_is_unknown_to_students_posting_events(world, api_as):
    # given a draft assignment, which students cannot open through the API
    draft = f.AssignmentFactory(course=world.course, title="Final exam (draft)", is_published=False)
    unknown = draft.pk + 1000
    student = api_as(world.student)
    assert student.get(f"/api/v1/assignments/{draft.pk}/").status_code == 404
    # when a student posts an event about it, and one about an id that does not exist
    on_draft = student.post("/api/v1/events/", [_viewed_assignment(world, draft.pk)], format="json")
    on_unknown = student.post("/api/v1/events/", [_viewed_assignment(world, unknown)], format="json")
    # then both answers read the same, so the draft's existence does not leak, and nothing is stored
    assert on_draft.status_code == on_unknown.status_code == 400
    assert on_draft.json()["events"]["0"] == {"assignment": f"Assignment {draft.pk} not found."}
    assert on_unknown.json()["events"]["0"] == {"assignment": f"Assignment {unknown} not found."}
    assert not ActivityEvent.objects.exists()


def test_staff_still_record_activity_on_an_unpublished_assignment_for_their_students(world, api_as):
    # given a draft assignment
    draft = f.AssignmentFactory(course=world.course, is_published=False)
    # when its course's teacher records an event about it for a student
    response = api_as(world.teacher).post(
        "/api/v1/events/", [_viewed_assignment(world, draft.pk, actor=world.student.pk)], format="json"
    )
    # then it is stored
    assert response.status_code == 201, response.content
    assert ActivityEvent.objects.get().assignment_id == draft.pk


def test_events_are_read_by_their_actor_and_the_course_staff_only(world, api_as):
    mine = f.ActivityEventFactory(course=world.course, actor=world.student)
    classmate = f.UserFactory(username="classmate")
    f.EnrollmentFactory(course=world.course, user=classmate)
    theirs = f.ActivityEventFactory(course=world.course, actor=classmate)

    def ids(user, query=""):
        return {e["id"] for e in api_as(user).get(f"/api/v1/events/{query}").json()["results"]}

    assert ids(world.student) == {mine.pk}
    assert ids(world.ta) == {mine.pk, theirs.pk}
    assert ids(world.other_teacher) == set()
    assert ids(world.other_admin) == set()
    assert ids(world.teacher, f"?actor={classmate.pk}") == {theirs.pk}
    assert api_as(world.student).get(f"/api/v1/events/{theirs.pk}/").status_code == 404


def test_events_filter_by_time_window(world, api_as):
    from datetime import UTC, datetime

    for day in (1, 2, 3):
        f.ActivityEventFactory(course=world.course, actor=world.student, timestamp=datetime(2025, 3, day, tzinfo=UTC))
    client = api_as(world.teacher)
    response = client.get("/api/v1/events/?since=2025-03-02T00:00:00Z&until=2025-03-03T00:00:00Z")
    assert [e["timestamp"] for e in response.json()["results"]] == ["2025-03-02T00:00:00Z"]
    newest_first = client.get("/api/v1/events/?ordering=-timestamp").json()["results"]
    assert [e["timestamp"][:10] for e in newest_first] == ["2025-03-03", "2025-03-02", "2025-03-01"]


@pytest.mark.parametrize("depth", [100_000, 990])
def test_deeply_nested_json_is_a_400_not_a_500(api_as, world, depth):
    # DRF's JSONParser turns only ValueError into a 400; the decoder's RecursionError (about a
    # thousand levels, 2 KB of brackets) escaped as a 500 from every JSON endpoint.
    body = "[" * depth + "]" * depth
    resp = api_as(world.teacher).post("/api/v1/events/", body, content_type="application/json")
    assert resp.status_code == 400
    assert "nested too deeply" in resp.json()["detail"]
