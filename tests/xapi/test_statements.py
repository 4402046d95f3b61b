"""The xAPI statement endpoint through Django's test client: storing, mapping to activity events,
validation errors, deduplication, voiding, queries, credentials and scope."""

from __future__ import annotations

import uuid

import pytest

from eduai.courses.models import ActivityEvent, ObjectType
from eduai.xapi.models import Statement
from eduai.xapi.services import lrs_client_create
from tests.factories import LearningResourceFactory, PracticeItemFactory

from .conftest import XapiClient, statement


@pytest.fixture
def item(world):
    world.student.email = "stu@example.org"
    world.student.save()
    return PracticeItemFactory(course=world.course, external_id="https://moodle.example/mod/quiz/view.php?id=7")


def test_a_statement_becomes_an_activity_event(lrs, world, item):
    sid = str(uuid.uuid4())
    resp = lrs.post(statement(world, id=sid, object={"id": f"urn:eduai:practice-item:{item.pk}"}))
    assert resp.status_code == 200, resp.content
    assert resp.json() == [sid]
    assert resp["X-Experience-API-Version"] == "1.0.3"
    event = ActivityEvent.objects.get(statement_id=sid)
    assert (event.course, event.actor, event.practice_item) == (world.course, world.student, item)
    assert event.object_type == ObjectType.PRACTICE_ITEM
    assert event.result_success is True and event.result_score_scaled == 0.8 and event.result_score_raw == 8
    assert event.result_duration.total_seconds() == 90
    assert event.timestamp.isoformat() == "2026-03-01T12:00:00+00:00"


def test_objects_map_by_external_id_and_actors_by_account(lrs, world, item):
    world.student.external_id = "moodle-user-12"
    world.student.save()
    resource = LearningResourceFactory(course=world.course, external_id="https://moodle.example/mod/page/view.php?id=3")
    batch = [
        statement(
            world,
            actor={"account": {"homePage": "https://moodle.example", "name": "moodle-user-12"}},
            object={"id": item.external_id},
        ),
        statement(world, verb={"id": "http://id.tincanapi.com/verb/viewed"}, object={"id": resource.external_id}),
    ]
    resp = lrs.post(batch)
    assert resp.status_code == 200
    events = {e.statement_id.hex: e for e in ActivityEvent.objects.all()}
    first, second = (events[uuid.UUID(i).hex] for i in resp.json())
    assert first.actor == world.student and first.practice_item == item
    assert second.resource == resource and second.object_type == ObjectType.RESOURCE


def test_course_from_the_extension_and_unmappable_statements_are_kept_but_not_evidence(lrs, world, item):
    by_ext = statement(world, context={"extensions": {"urn:eduai:extension:course": world.course.pk}})
    stranger = statement(world, actor={"mbox": "mailto:nobody@example.org"})
    no_course = statement(world, context={})
    resp = lrs.post([by_ext, stranger, no_course])
    assert resp.status_code == 200
    ids = resp.json()
    assert ActivityEvent.objects.filter(statement_id=ids[0]).exists()
    assert not ActivityEvent.objects.filter(statement_id__in=ids[1:]).exists()
    reasons = dict(Statement.objects.values_list("statement_id", "unmapped_reason"))
    assert "not an active member" in reasons[uuid.UUID(ids[1])]
    assert "no EduAI course" in reasons[uuid.UUID(ids[2])]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"actor": {"name": "no identifier"}}, "exactly one identifier"),
        ({"actor": {"mbox": "stu@example.org"}}, "mailto"),
        ({"actor": {"mbox": "mailto:a@b.c", "openid": "http://x.example/a"}}, "found 2"),
        ({"actor": {"account": {"name": "x"}}}, "homePage and name"),
        ({"verb": {"display": {"en": "did"}}}, "verb.id: is required"),
        ({"verb": {"id": "not an iri"}}, "must be an IRI"),
        ({"verb": {"id": "http://x.example/v", "display": {"not a tag!": "x"}}}, "language tag"),
        ({"object": {"objectType": "Thing", "id": "http://x.example"}}, "objectType"),
        ({"object": {"definition": {}}}, "object.id: is required"),
        ({"result": {"score": {"scaled": 1.5}}}, "between -1 and 1"),
        ({"result": {"score": {"raw": 11, "min": 0, "max": 10}}}, "above max"),
        ({"result": {"success": "yes"}}, "true or false"),
        ({"result": {"duration": "90 seconds"}}, "ISO 8601 duration"),
        ({"timestamp": "yesterday"}, "ISO 8601"),
        ({"id": "1234"}, "UUID"),
        ({"version": "2.0.0"}, "1.0.x"),
        ({"colour": "blue"}, "unknown property colour"),
        ({"context": {"registration": "nope"}}, "registration: must be a UUID"),
        ({"verb": {"id": "http://adlnet.gov/expapi/verbs/voided"}}, "StatementRef"),
    ],
)
def test_invalid_statement_is_refused_with_the_reason_and_nothing_is_stored(lrs, world, item, change, reason):
    good = statement(world)
    resp = lrs.post([good, statement(world, **change)])
    assert resp.status_code == 400
    assert reason in resp.json()["error"]
    assert resp.json()["error"].startswith("statements[1]")
    assert Statement.objects.count() == 0 and ActivityEvent.objects.count() == 0


def test_missing_actor_verb_or_object_is_refused(lrs, world, item):
    for key in ("actor", "verb", "object"):
        body = statement(world)
        del body[key]
        resp = lrs.post(body)
        assert resp.status_code == 400 and f"{key}: is required" in resp.json()["error"]


def test_duplicate_id_is_stored_once_and_a_conflicting_one_is_refused(lrs, world, item):
    sid = str(uuid.uuid4())
    body = statement(world, id=sid)
    assert lrs.post(body).status_code == 200
    assert lrs.post(body).status_code == 200  # the same statement again: accepted, not stored twice
    assert lrs.put(sid, body).status_code == 204
    assert lrs.post([body, body]).status_code == 200
    assert Statement.objects.count() == 1 and ActivityEvent.objects.count() == 1
    conflict = lrs.post(statement(world, id=sid, verb={"id": "http://adlnet.gov/expapi/verbs/failed"}))
    assert conflict.status_code == 409
    assert ActivityEvent.objects.get().verb == "http://adlnet.gov/expapi/verbs/answered"


def test_put_stores_under_the_given_id(lrs, world, item):
    sid = str(uuid.uuid4())
    assert lrs.put(sid, statement(world)).status_code == 204
    assert ActivityEvent.objects.filter(statement_id=sid).exists()
    assert lrs.put(sid, statement(world, id=str(uuid.uuid4()))).status_code == 400


def test_voiding_removes_the_event_from_evidence(lrs, world, item):
    sid = str(uuid.uuid4())
    lrs.post(statement(world, id=sid))
    voiding = statement(
        world,
        verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
        object={"objectType": "StatementRef", "id": sid},
        result=None,
    )
    del voiding["result"]
    resp = lrs.post(voiding)
    assert resp.status_code == 200
    assert ActivityEvent.objects.get(statement_id=sid).voided is True
    assert lrs.get(statementId=sid).status_code == 404
    assert lrs.get(voidedStatementId=sid).json()["id"] == sid
    # a voiding statement cannot itself be voided
    again = statement(
        world,
        verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
        object={"objectType": "StatementRef", "id": resp.json()[0]},
    )
    del again["result"]
    assert lrs.post(again).status_code == 400


def test_query_filters_and_paging(lrs, world, item):
    other = PracticeItemFactory(course=world.course)
    ids = lrs.post(
        [
            statement(world, object={"id": f"urn:eduai:practice-item:{item.pk}"}),
            statement(world, object={"id": f"urn:eduai:practice-item:{other.pk}"}),
            statement(
                world,
                verb={"id": "http://adlnet.gov/expapi/verbs/failed"},
                object={"id": f"urn:eduai:practice-item:{item.pk}"},
            ),
        ]
    ).json()
    by_activity = lrs.get(activity=f"urn:eduai:practice-item:{item.pk}").json()["statements"]
    assert {s["id"] for s in by_activity} == {ids[0], ids[2]}
    by_verb = lrs.get(verb="http://adlnet.gov/expapi/verbs/failed").json()["statements"]
    assert [s["id"] for s in by_verb] == [ids[2]]
    by_agent = lrs.get(agent='{"mbox": "mailto:stu@example.org"}').json()["statements"]
    assert len(by_agent) == 3
    assert lrs.get(agent='{"mbox": "mailto:other@example.org"}').json()["statements"] == []
    page1 = lrs.get(limit="2", ascending="true").json()
    assert [s["id"] for s in page1["statements"]] == ids[:2] and page1["more"]
    page2 = lrs.client.get(page1["more"], **lrs.headers).json()
    assert [s["id"] for s in page2["statements"]] == ids[2:] and page2["more"] == ""
    single = lrs.get(statementId=ids[1]).json()
    assert single["stored"] and single["authority"]["objectType"] == "Agent" and single["version"] == "1.0.3"
    assert lrs.get(since="2000-01-01T00:00:00Z", until="2001-01-01T00:00:00Z").json()["statements"] == []
    ids_format = lrs.get(statementId=ids[1], format="ids").json()
    assert ids_format["verb"] == {"id": "http://adlnet.gov/expapi/verbs/answered"}


@pytest.mark.parametrize(
    "params",
    [
        {"colour": "blue"},
        {"limit": "-1"},
        {"agent": "not json"},
        {"related_agents": "true"},
        {"statementId": "x"},
        {"statementId": str(uuid.uuid4()), "verb": "http://x.example/v"},
        {"since": "soon"},
    ],
)
def test_bad_query_is_refused(lrs, params):
    resp = lrs.get(**params)
    assert resp.status_code == 400 and resp.json()["error"]


def test_credentials_version_and_content_type_are_required(world, item):
    client, secret = lrs_client_create(name="x", school_id=world.school.pk)
    assert XapiClient(client.key, "wrong").post(statement(world)).status_code == 401
    assert XapiClient("nobody", secret).post(statement(world)).status_code == 401
    no_version = XapiClient(client.key, secret, version=None).post(statement(world))
    assert no_version.status_code == 400 and "X-Experience-API-Version" in no_version.json()["error"]
    ok = XapiClient(client.key, secret)
    form = ok.client.post("/xapi/statements", {"a": "b"}, **ok.headers)
    assert form.status_code == 400 and "application/json" in form.json()["error"]
    bad_json = ok.client.post("/xapi/statements", "{", content_type="application/json", **ok.headers)
    assert bad_json.status_code == 400
    assert ok.client.delete("/xapi/statements", **ok.headers).status_code == 405
    client.is_active = False
    client.save()
    assert ok.post(statement(world)).status_code == 401
    assert Statement.objects.count() == 0


def test_secret_is_stored_hashed(world):
    client, secret = lrs_client_create(name="x", school_id=world.school.pk)
    assert secret not in client.secret_sha256 and len(client.secret_sha256) == 64


def test_a_client_only_writes_and_reads_within_its_scope(world, item, lrs, course_lrs):
    # the course-scoped client may not write about another course of the school
    other = statement(
        world, context={"contextActivities": {"parent": [{"id": f"urn:eduai:course:{world.other_course.pk}"}]}}
    )
    resp = course_lrs.post(other)
    assert resp.status_code == 403 and "may not send statements about course" in resp.json()["error"]
    # a school-wide client may not write about another school's course
    foreign = statement(
        world, context={"contextActivities": {"parent": [{"id": f"urn:eduai:course:{world.foreign_course.pk}"}]}}
    )
    assert lrs.post(foreign).status_code == 403
    # the course-scoped client defaults to its course, and sees only that course
    assert course_lrs.post(statement(world, context={})).status_code == 200
    assert ActivityEvent.objects.get().course == world.course
    sid = lrs.post(
        statement(world, context={"extensions": {"urn:eduai:extension:course": world.other_course.pk}})
    ).json()[0]
    assert course_lrs.get(statementId=sid).status_code == 404
    assert len(lrs.get().json()["statements"]) == 2
    assert len(course_lrs.get().json()["statements"]) == 1
    other_school, secret = lrs_client_create(name="south", school_id=world.other_school.pk)
    assert XapiClient(other_school.key, secret).get().json()["statements"] == []


def test_about_needs_no_credentials(client):
    resp = client.get("/xapi/about")
    assert resp.status_code == 200 and "1.0.3" in resp.json()["version"]
    assert resp["X-Experience-API-Version"] == "1.0.3"


def test_batch_size_is_bounded(lrs, world, item, settings):
    settings.EDUAI_MAX_EVENTS_PER_REQUEST = 2
    assert lrs.post([statement(world)] * 3).status_code == 413


def test_an_lms_course_iri_maps_through_a_course_alias(lrs, world, item):
    from eduai.xapi.models import CourseAlias

    CourseAlias.objects.create(iri="https://moodle.example/course/view.php?id=5", course=world.course)
    moodle = {"contextActivities": {"grouping": [{"id": "https://moodle.example/course/view.php?id=5"}]}}
    sid = lrs.post(statement(world, context=moodle)).json()[0]
    assert ActivityEvent.objects.get(statement_id=sid).course == world.course
    CourseAlias.objects.create(iri="https://lms.example/course/course-v1:X+Y+Z", course=world.foreign_course)
    foreign = {"contextActivities": {"parent": [{"id": "https://lms.example/course/course-v1:X+Y+Z"}]}}
    assert lrs.post(statement(world, context=foreign)).status_code == 403
