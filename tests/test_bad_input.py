"""Bad input through the REST API: a clear 4xx, never a 500, and no stored data changes.

Each case sends one bad request as a person who could otherwise make it succeed, then checks
the status, that the body names the problem, and that no row of the LMS core was added,
removed or changed (row counts and a digest of every row, before and after).

HTML in text fields is not bad input: it is stored verbatim, returned as a JSON string, and
escaped by the pages (see the last tests).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core import serializers as django_serializers
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from eduai.courses import models as m

from . import factories as f

CORE_MODELS = [
    m.Course,
    m.Enrollment,
    m.Skill,
    m.Assignment,
    m.RubricTrait,
    m.Submission,
    m.PracticeItem,
    m.LearningResource,
    m.ActivityEvent,
]
EVENT = {
    "verb": "http://adlnet.gov/expapi/verbs/answered",
    "object_type": "practice_item",
    "timestamp": "2025-03-01T10:00:00Z",
}


@dataclass(frozen=True)
class Bad:
    name: str
    who: str  # attribute of the world fixture
    method: str
    url: str  # str.format template over the objects fixture
    body: Callable[[dict[str, Any]], Any] | bytes | None
    status: int
    says: str  # fragment the response body must contain (case-insensitive)
    content_type: str = "application/json"
    settings: dict[str, Any] = field(default_factory=dict)


def _raw_event(o: dict[str, Any], raw: bytes) -> bytes:
    """An event whose ``raw`` is given as JSON text (Python's json cannot write these values)."""
    head = json.dumps({**EVENT, "course": o["course"]})[:-1].encode()
    return b"[" + head + b', "raw": ' + raw + b"}]"


def _events(n: int) -> Callable[[dict[str, Any]], Any]:
    return lambda o: [{**EVENT, "course": o["course"], "practice_item": o["item"]} for _ in range(n)]


CASES = [
    # --- missing and wrong-typed fields ---------------------------------------------------
    Bad("submission without text", "student", "POST", "/api/v1/submissions/",
        lambda o: {"assignment": o["assignment"]}, 400, "text"),
    Bad("submission without assignment", "student", "POST", "/api/v1/submissions/",
        lambda o: {"text": "An essay."}, 400, "assignment"),
    Bad("submission text is a number", "student", "POST", "/api/v1/submissions/",
        lambda o: {"assignment": o["assignment"], "text": 12345}, 400, "not a valid string"),
    Bad("submission text is a list", "student", "POST", "/api/v1/submissions/",
        lambda o: {"assignment": o["assignment"], "text": ["a", "b"]}, 400, "not a valid string"),
    Bad("submission text is blank", "student", "POST", "/api/v1/submissions/",
        lambda o: {"assignment": o["assignment"], "text": "   \n  "}, 400, "empty"),
    Bad("submission assignment is text", "student", "POST", "/api/v1/submissions/",
        lambda o: {"assignment": "the essay", "text": "An essay."}, 400, "incorrect type"),
    Bad("submission assignment is true", "student", "POST", "/api/v1/submissions/",
        lambda o: {"assignment": True, "text": "An essay."}, 400, "incorrect type"),
    Bad("submission body is a list", "student", "POST", "/api/v1/submissions/",
        lambda o: [{"assignment": o["assignment"], "text": "An essay."}], 400, "expected a dictionary"),
    Bad("assignment without prompt", "teacher", "POST", "/api/v1/assignments/",
        lambda o: {"course": o["course"], "title": "Essay"}, 400, "prompt"),
    Bad("assignment max_score is text", "teacher", "POST", "/api/v1/assignments/",
        lambda o: {"course": o["course"], "title": "E", "prompt": "P", "max_score": "six"}, 400, "valid integer"),
    Bad("assignment kind unknown", "teacher", "POST", "/api/v1/assignments/",
        lambda o: {"course": o["course"], "title": "E", "prompt": "P", "kind": "poem"}, 400, "not a valid choice"),
    Bad("assignment due_at not a date", "teacher", "POST", "/api/v1/assignments/",
        lambda o: {"course": o["course"], "title": "E", "prompt": "P", "due_at": "next friday"}, 400, "datetime"),
    Bad("trait without name", "teacher", "PATCH", "/api/v1/assignments/{assignment}/",
        lambda o: {"traits": [{"min_score": 0, "max_score": 3}]}, 400, "name"),
    Bad("enrolment role unknown", "teacher", "POST", "/api/v1/enrolments/",
        lambda o: {"course": o["course"], "user": o["newcomer"], "role": "dean"}, 400, "not a valid choice"),
    Bad("event without timestamp", "student", "POST", "/api/v1/events/",
        lambda o: [{"course": o["course"], "verb": EVENT["verb"]}], 400, "timestamp"),
    Bad("event verb not an IRI", "student", "POST", "/api/v1/events/",
        lambda o: [{**EVENT, "course": o["course"], "verb": "answered"}], 400, "IRI"),
    Bad("event course is text", "student", "POST", "/api/v1/events/",
        lambda o: [{**EVENT, "course": "English"}], 400, "valid integer"),
    Bad("events body is an object", "student", "POST", "/api/v1/events/",
        lambda o: {**EVENT, "course": o["course"]}, 400, "list of events"),
    Bad("events body is empty list", "student", "POST", "/api/v1/events/", lambda o: [], 400, "empty"),
    # One bad event spoils the batch: nothing of it is stored.
    Bad("one bad event among good ones", "student", "POST", "/api/v1/events/",
        lambda o: [*_events(3)(o), {**EVENT, "course": o["course"], "result_score_scaled": 7}], 400, "less than"),
    # --- text over the documented maximum -----------------------------------------------
    Bad("submission over EDUAI_MAX_SUBMISSION_CHARS", "student", "POST", "/api/v1/submissions/",
        lambda o: {"assignment": o["assignment"], "text": "x" * (django_settings.EDUAI_MAX_SUBMISSION_CHARS + 1)},
        400, "maximum is"),
    Bad("submission over a lowered maximum", "student", "POST", "/api/v1/submissions/",
        lambda o: {"assignment": o["assignment"], "text": "word " * 11}, 400, "the maximum is 50",
        settings={"EDUAI_MAX_SUBMISSION_CHARS": 50}),
    Bad("skill name over 200 characters", "teacher", "POST", "/api/v1/skills/",
        lambda o: {"course": o["course"], "name": "n" * 201}, 400, "no more than 200"),
    Bad("event response over 10000 characters", "student", "POST", "/api/v1/events/",
        lambda o: [{**EVENT, "course": o["course"], "result_response": "r" * 10001}], 400, "no more than 10000"),
    # --- bodies that are not UTF-8 or not JSON ------------------------------------------
    Bad("non-UTF-8 bytes in submission", "student", "POST", "/api/v1/submissions/",
        b'{"assignment": 1, "text": "caf\xe9 \xff\xfe"}', 400, "utf-8"),
    Bad("non-UTF-8 bytes in events", "student", "POST", "/api/v1/events/", b"[\xc3\x28]", 400, "utf-8"),
    Bad("body is not JSON", "student", "POST", "/api/v1/submissions/", b"{assignment: 1, text: oops", 400,
        "JSON parse error"),
    Bad("JSON with NaN", "teacher", "POST", "/api/v1/practice-items/",
        b'{"course": 1, "title": "t", "difficulty": NaN}', 400, "JSON parse error"),
    Bad("JSON truncated", "teacher", "PATCH", "/api/v1/assignments/{assignment}/", b'{"title": "Half', 400,
        "JSON parse error"),
    Bad("unsupported media type", "student", "POST", "/api/v1/submissions/", b"text=hello", 415,
        "unsupported media type", content_type="text/plain"),
    # --- out-of-range numbers ------------------------------------------------------------
    Bad("event score scaled above 1", "student", "POST", "/api/v1/events/",
        lambda o: [{**EVENT, "course": o["course"], "result_score_scaled": 1.5}], 400, "less than or equal to 1"),
    Bad("event score scaled below -1", "student", "POST", "/api/v1/events/",
        lambda o: [{**EVENT, "course": o["course"], "result_score_scaled": -1.01}], 400, "greater than or equal to -1"),
    Bad("event duration negative", "student", "POST", "/api/v1/events/",
        lambda o: [{**EVENT, "course": o["course"], "result_duration": "-00:05:00"}], 400, "duration"),
    Bad("event raw with an infinite number", "student", "POST", "/api/v1/events/",
        lambda o: _raw_event(o, b'{"score": 1e400}'), 400, "infinite"),
    Bad("event raw with a NUL character", "student", "POST", "/api/v1/events/",
        lambda o: [{**EVENT, "course": o["course"], "raw": {"note": "a\x00b"}}], 400, "NUL"),
    Bad("event raw with a lone surrogate", "student", "POST", "/api/v1/events/",
        lambda o: _raw_event(o, b'{"k": "\\ud800"}'), 400, "surrogate"),
    Bad("practice item difficulty above 1", "teacher", "POST", "/api/v1/practice-items/",
        lambda o: {"course": o["course"], "title": "t", "difficulty": 1.2}, 400, "less than or equal to 1"),
    Bad("practice item difficulty below 0", "teacher", "PATCH", "/api/v1/practice-items/{item}/",
        lambda o: {"difficulty": -0.1}, 400, "greater than or equal to 0"),
    Bad("resource difficulty above 1", "teacher", "POST", "/api/v1/resources/",
        lambda o: {"course": o["course"], "title": "t", "difficulty": 2}, 400, "less than or equal to 1"),
    Bad("assignment max not above min", "teacher", "POST", "/api/v1/assignments/",
        lambda o: {"course": o["course"], "title": "E", "prompt": "P", "min_score": 4, "max_score": 4}, 400,
        "must be above"),
    Bad("assignment patch min above stored max", "teacher", "PATCH", "/api/v1/assignments/{assignment}/",
        lambda o: {"min_score": 9}, 400, "must be above"),
    Bad("assignment score beyond 32 bits", "teacher", "POST", "/api/v1/assignments/",
        lambda o: {"course": o["course"], "title": "E", "prompt": "P", "max_score": 10**20}, 400,
        "less than or equal to"),
    Bad("assignment qwk threshold above 1", "teacher", "PATCH", "/api/v1/assignments/{assignment}/",
        lambda o: {"auto_release_min_qwk": 3}, 400, "less than or equal to 1"),
    Bad("trait with empty range", "teacher", "PATCH", "/api/v1/assignments/{assignment}/",
        lambda o: {"traits": [{"name": "Voice", "min_score": 2, "max_score": 1}]}, 400, "must be above"),
    Bad("repeated trait names", "teacher", "PATCH", "/api/v1/assignments/{assignment}/",
        lambda o: {"traits": [{"name": "Voice"}, {"name": "Voice"}]}, 400, "unique"),
    # --- unknown ids ----------------------------------------------------------------------
    Bad("submission to unknown assignment", "student", "POST", "/api/v1/submissions/",
        lambda o: {"assignment": 999999, "text": "An essay."}, 400, "does not exist"),
    Bad("skill with unknown prerequisite", "teacher", "POST", "/api/v1/skills/",
        lambda o: {"course": o["course"], "name": "New", "prerequisites": [999999]}, 400, "does not exist"),
    Bad("assignment with another course's skill", "admin", "POST", "/api/v1/assignments/",
        lambda o: {"course": o["course"], "title": "E", "prompt": "P", "skills": [o["other_skill"]]}, 400,
        "do not belong to this course"),
    Bad("trait id of another assignment", "teacher", "PATCH", "/api/v1/assignments/{assignment}/",
        lambda o: {"traits": [{"id": o["other_trait"], "name": "Stolen"}]}, 400, "not part of this rubric"),
    Bad("event in unknown course", "student", "POST", "/api/v1/events/",
        lambda o: [{**EVENT, "course": 999999}], 400, "not found"),
    Bad("event about unknown practice item", "student", "POST", "/api/v1/events/",
        lambda o: [{**EVENT, "course": o["course"], "practice_item": 999999}], 400, "not found"),
    Bad("enrolment of unknown user", "teacher", "POST", "/api/v1/enrolments/",
        lambda o: {"course": o["course"], "user": 999999, "role": "student"}, 400, "does not exist"),
    Bad("detail of unknown assignment", "teacher", "GET", "/api/v1/assignments/999999/", None, 404, "not found"),
    Bad("update of unknown skill", "teacher", "PATCH", "/api/v1/skills/999999/",
        lambda o: {"name": "x"}, 404, "not found"),
    Bad("filter by a course that is not a number", "teacher", "GET", "/api/v1/submissions/?course=abc", None, 400,
        "whole number"),
    Bad("filter since that is not a date", "teacher", "GET", "/api/v1/events/?since=yesterday", None, 400,
        "valid date/time"),
    Bad("filter by unknown status", "teacher", "GET", "/api/v1/submissions/?status=lost", None, 400,
        "valid choice"),
    # --- too many events in one batch ---------------------------------------------------
    Bad("events over EDUAI_MAX_EVENTS_PER_REQUEST", "student", "POST", "/api/v1/events/",
        lambda o: _events(django_settings.EDUAI_MAX_EVENTS_PER_REQUEST + 1)(o), 400, "events per request"),
    Bad("events over a lowered limit", "student", "POST", "/api/v1/events/", _events(6), 400,
        "at most 5 events per request; got 6", settings={"EDUAI_MAX_EVENTS_PER_REQUEST": 5}),
]  # fmt: skip


@pytest.fixture
def objects(world) -> dict[str, Any]:
    assignment = f.AssignmentFactory(course=world.course, min_score=0, max_score=6)
    f.RubricTraitFactory(assignment=assignment, name="Ideas")
    other_assignment = f.AssignmentFactory(course=world.other_course)
    return {
        "course": world.course.pk,
        "assignment": assignment.pk,
        "item": f.PracticeItemFactory(course=world.course).pk,
        "newcomer": f.UserFactory(username="newcomer").pk,
        "other_skill": f.SkillFactory(course=world.other_course).pk,
        "other_trait": f.RubricTraitFactory(assignment=other_assignment).pk,
    }


def snapshot() -> tuple[dict[str, int], str]:
    """Row counts per model, and a digest of every row's fields (catches in-place changes)."""
    counts = {model.__name__: model.objects.count() for model in CORE_MODELS}
    rows = [django_serializers.serialize("json", model.objects.order_by("pk")) for model in CORE_MODELS]
    return counts, hashlib.sha256("".join(rows).encode()).hexdigest()


def client_for(user: Any) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_clearly_and_changes_nothing(case: Bad, world, objects, settings) -> None:
    # given a person allowed to use the endpoint, and the stored data as it is
    for name, value in case.settings.items():
        setattr(settings, name, value)
    client = client_for(getattr(world, case.who))
    url = case.url.format(**objects)
    before = snapshot()
    # when they send a bad request
    if case.body is None:
        response = client.generic(case.method, url)
    elif isinstance(case.body, bytes):
        response = client.generic(case.method, url, case.body, content_type=case.content_type)
    else:
        body = case.body(objects)
        payload = body if isinstance(body, bytes) else json.dumps(body)
        response = client.generic(case.method, url, payload, content_type=case.content_type)
    # then it is refused with the expected status and a message that names the problem
    text = response.content.decode("utf-8", "replace")
    assert response.status_code == case.status, text[:500]
    assert response["Content-Type"].startswith("application/json")
    assert case.says.lower() in text.lower(), text[:500]
    # and nothing stored changed
    assert snapshot() == before


# --- HTML and script in text fields: stored verbatim, returned as JSON, rendered escaped -----

SCRIPT = '<script>alert("x")</script><b onmouseover="steal()">bold</b>'


def test_html_in_submission_is_stored_verbatim_and_returned_as_a_json_string(world, objects):
    # given a student
    client = client_for(world.student)
    # when they submit text with markup in it
    response = client.post("/api/v1/submissions/", {"assignment": objects["assignment"], "text": SCRIPT}, format="json")
    # then it is stored and returned exactly as written, as a JSON string
    assert response.status_code == 201
    assert response.json()["text"] == SCRIPT
    assert m.Submission.objects.get(pk=response.json()["id"]).text == SCRIPT
    assert response["Content-Type"].startswith("application/json")


def test_html_in_course_setup_is_escaped_on_the_course_page(world, objects, client):
    # given a teacher who names an assignment, a skill and a resource with markup in them
    teacher = client_for(world.teacher)
    for url, body in [
        ("/api/v1/assignments/", {"course": objects["course"], "title": SCRIPT[:200], "prompt": SCRIPT}),
        ("/api/v1/skills/", {"course": objects["course"], "name": SCRIPT[:200]}),
        ("/api/v1/resources/", {"course": objects["course"], "title": SCRIPT[:200], "body": SCRIPT}),
    ]:
        response = teacher.post(url, body, format="json")
        assert response.status_code == 201, response.content
        assert SCRIPT[:200] in response.json().values()
    # when a student opens the course page
    client.force_login(world.student)
    page = client.get(f"/courses/{objects['course']}/")
    # then the markup is shown as text, never as live HTML
    assert page.status_code == 200
    html = page.content.decode()
    assert "<script>" not in html
    assert 'onmouseover="steal()"' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
