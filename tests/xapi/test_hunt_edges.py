"""Edge cases of the xAPI endpoint found in a bug hunt: impossible dates and durations are a 400
(never a 500), and a voiding statement only ever voids statements of its own client's scope."""

from __future__ import annotations

import json
import uuid

import pytest

from eduai.courses.models import ActivityEvent
from eduai.xapi.models import Statement
from eduai.xapi.services import lrs_client_create
from tests.factories import PracticeItemFactory

from .conftest import XapiClient, statement


@pytest.fixture
def item(world):
    world.student.email = "stu@example.org"
    world.student.save()
    return PracticeItemFactory(course=world.course)


@pytest.mark.parametrize(
    "timestamp",
    [
        "2026-13-01T12:00:00Z",  # no 13th month
        "2026-02-30T12:00:00Z",  # no 30 February
        "2026-03-01T12:00:00+25:00",  # offsets stay within a day
        "9999-12-31T23:00:00-05:00",  # past the year 9999 in UTC
    ],
)
def test_an_impossible_timestamp_is_a_400_and_nothing_is_stored(lrs, world, item, timestamp):
    resp = lrs.post([statement(world), statement(world, timestamp=timestamp)])
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"].startswith("statements[1].timestamp")
    assert Statement.objects.count() == 0 and ActivityEvent.objects.count() == 0


def test_an_impossible_since_is_a_400(lrs):
    resp = lrs.get(since="2026-13-01T00:00:00Z")
    assert resp.status_code == 400 and "since" in resp.json()["error"]


@pytest.mark.parametrize("duration", ["P9999999999D", "PT99999999999999999999S", "P200000000D"])
def test_a_duration_too_long_to_store_is_kept_in_the_statement_but_not_on_the_event(lrs, world, item, duration):
    # A valid ISO 8601 duration is a valid statement (an LRS must accept it), but a timedelta
    # stops at 999,999,999 days and the database column at 2**63 microseconds (~292,000 years).
    body = statement(world, object={"id": f"urn:eduai:practice-item:{item.pk}"})
    body["result"] = {**body["result"], "duration": duration}
    resp = lrs.post(body)
    assert resp.status_code == 200, resp.content
    sid = resp.json()[0]
    assert Statement.objects.get(statement_id=sid).data["result"]["duration"] == duration
    event = ActivityEvent.objects.get(statement_id=sid)
    assert event.result_duration is None and event.result_score_raw == 8


def test_a_voiding_statement_from_another_school_does_not_void_a_later_statement(lrs, world, item):
    sid = str(uuid.uuid4())
    south, secret = lrs_client_create(name="south", school_id=world.other_school.pk)
    voiding = statement(
        world, verb={"id": "http://adlnet.gov/expapi/verbs/voided"}, object={"objectType": "StatementRef", "id": sid}
    )
    del voiding["result"]
    del voiding["context"]
    # The other school's client voids an id it has never seen (accepted: the target is unknown)...
    assert XapiClient(south.key, secret).post(voiding).status_code == 200
    # ...and then this school's statement with that id arrives: it must stay valid evidence.
    assert lrs.post(statement(world, id=sid)).status_code == 200
    assert Statement.objects.get(statement_id=sid).voided is False
    assert ActivityEvent.objects.get(statement_id=sid).voided is False
    assert lrs.get(statementId=sid).status_code == 200


def test_a_voiding_statement_that_came_first_voids_its_target_in_the_same_scope(lrs, world, item):
    sid = str(uuid.uuid4())
    voiding = statement(
        world, verb={"id": "http://adlnet.gov/expapi/verbs/voided"}, object={"objectType": "StatementRef", "id": sid}
    )
    del voiding["result"]
    assert lrs.post(voiding).status_code == 200
    assert lrs.post(statement(world, id=sid)).status_code == 200
    assert Statement.objects.get(statement_id=sid).voided is True
    assert ActivityEvent.objects.get(statement_id=sid).voided is True


def _post_text(lrs, world, old: str, new: str):
    """POST one statement whose JSON text has ``old`` replaced by ``new``: what ``json.dumps``
    cannot write (NaN, 1e400, a lone surrogate) goes in as raw text."""
    body = json.dumps(statement(world)).replace(old, new)
    assert body != json.dumps(statement(world))
    return lrs.client.post("/xapi/statements", body, content_type="application/json", **lrs.headers)


SCORE = '"raw": 8, "min": 0, "max": 10'


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_that_is_not_json_is_refused(lrs, world, item, constant):
    # Python's json reads NaN and Infinity, which JSON does not have: stored, they would make
    # every later GET answer invalid JSON (and PostgreSQL's jsonb refuses them outright).
    resp = _post_text(lrs, world, SCORE, f'"raw": {constant}')
    assert resp.status_code == 400, resp.content
    assert "JSON" in resp.json()["error"]
    assert Statement.objects.count() == 0


@pytest.mark.parametrize("number", ["1e400", "-1e400"])
def test_numbers_too_large_for_a_float_are_refused(lrs, world, item, number):
    # json reads 1e400 as a float, infinity, without asking parse_constant: the event insert
    # then failed (a 500), and PostgreSQL's jsonb cannot hold it either.
    resp = _post_text(lrs, world, SCORE, f'"raw": {number}')
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"] == "The body is not valid JSON."
    assert Statement.objects.count() == 0
    assert ActivityEvent.objects.count() == 0


@pytest.mark.parametrize("number", ["1" + "0" * 400, "-1" + "0" * 400])
def test_integers_too_large_for_a_float_are_refused(lrs, world, item, number):
    # JSON integers have no limit, Python reads them exactly; the score's float(...) overflowed (a 500).
    resp = _post_text(lrs, world, SCORE, f'"raw": {number}')
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"].startswith("statements[0].result.score.raw: ")
    assert Statement.objects.count() == 0


@pytest.mark.parametrize("text", ["\\u0000", "\\ud800"])
def test_text_a_database_cannot_store_is_refused(lrs, world, item, text):
    # PostgreSQL (jsonb and text) refuses NUL and lone surrogates; the REST API's events say so
    # with a 400 (validate_raw), and so must the LRS instead of failing on save.
    resp = _post_text(lrs, world, '"name": "Stu"', f'"name": "St{text}u"')
    assert resp.status_code == 400, resp.content
    assert "statements[0]" in resp.json()["error"] or "body" in resp.json()["error"]
    assert Statement.objects.count() == 0


@pytest.mark.parametrize("depth", [100_000, 990])
def test_deeply_nested_json_is_a_400(lrs, depth):
    # Python's json decoder (and any recursive walk of the result) gives up with RecursionError
    # near a thousand levels; 200 KB of brackets fits in the request size limit.
    body = "[" * depth + "]" * depth
    resp = lrs.client.post("/xapi/statements", body, content_type="application/json", **lrs.headers)
    assert resp.status_code == 400, resp.content
    assert Statement.objects.count() == 0


def test_a_limit_of_non_ascii_digits_gets_the_usual_message(lrs):
    # "²".isdigit() is true but int("²") fails: the answer was Python's "invalid literal" text.
    resp = lrs.get(limit="²")
    assert resp.status_code == 400
    assert resp.json()["error"] == "limit must be a non-negative integer."


def test_a_deeply_nested_agent_parameter_is_a_400(lrs):
    resp = lrs.get(agent="[" * 5000 + "]" * 5000)
    assert resp.status_code == 400
    assert "agent" in resp.json()["error"]


@pytest.mark.parametrize(
    "params",
    [
        {"verb": "http://adlnet.gov/expapi/verbs/answered\x00"},
        {"activity": "http://x\x00"},
        {"agent": '{"mbox": "mailto:a\\u0000@b.example"}'},
    ],
)
def test_a_query_parameter_with_a_nul_is_a_400(lrs, params):
    # PostgreSQL refuses a NUL even as a query parameter (psycopg DataError: a 500).
    resp = lrs.get(**params)
    assert resp.status_code == 400, resp.content
    assert "NUL" in resp.json()["error"]


def test_credentials_with_a_nul_are_refused_without_a_lookup(lrs, django_assert_num_queries):
    client = XapiClient("key\x00", "secret")
    with django_assert_num_queries(0):
        resp = client.get()
    assert resp.status_code == 401
