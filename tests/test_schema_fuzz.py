"""Property-based run of the whole OpenAPI schema: no request a client can make gets a 5xx.

Schemathesis reads /api/schema/ from the Django WSGI app in-process, generates valid and
invalid requests for every operation (paths, query strings, bodies) and sends them as a
teacher (token header) to the same app. Only ``not_a_server_error`` is asserted: a 4xx for
nonsense is the right answer, a 500 never is.

Random integers almost never name a stored row, so in three cases of four a hook swaps
path ids and body references (``course``, ``assignment``, ``skills``, ...) for ids of real
objects of the teacher's course and of courses they cannot see. That drives the runs
past the 404/400 gates into the services (creates, updates, deletes, scope checks).

The run is bounded: ``MAX_EXAMPLES`` per operation, fuzzing phase only, deterministic seed.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from tests import factories as f

# Examples per operation: ~80 operations x 10 is ~800 requests, about 25 s of CPU on the
# 2-core CI box. EDUAI_FUZZ_EXAMPLES=200 makes a deeper run by hand.
MAX_EXAMPLES = int(os.environ.get("EDUAI_FUZZ_EXAMPLES", "10"))

# Real ids by kind, filled by the ``teacher_headers`` fixture before any case is drawn.
KNOWN: dict[str, list[int]] = {}
# Path segment (or parameter name) -> kind of id.
PATH_KINDS = {
    "schools": "school",
    "courses": "course",
    "enrolments": "enrolment",
    "skills": "skill",
    "assignments": "assignment",
    "submissions": "submission",
    "practice-items": "practice_item",
    "resources": "resource",
    "events": "event",
}
# Body field -> kind of id it refers to.
BODY_REFS = {
    "school": "school",
    "course": "course",
    "assignment": "assignment",
    "user": "user",
    "actor": "user",
    "practice_item": "practice_item",
    "resource": "resource",
    "skills": "skill",
    "prerequisites": "skill",
}

schema = schemathesis.openapi.from_wsgi(
    "/api/schema/",
    get_wsgi_application(),
    # The coverage phase enumerates boundary cases per parameter without regard to
    # max_examples (5.5 minutes for this API on 2 cores); the fuzzing phase is the bounded run.
    config=schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}}),
)
# Loaded at collection from the app itself (serving the schema needs no database). Not via
# ``schemathesis.pytest.from_fixture``: with pytest 9 its lazy loader fails on
# ``Function._nodeid`` (schemathesis 4.32).


def _path_kind(path: str, name: str) -> str | None:
    if name.endswith("_id"):
        return name[: -len("_id")]
    segments = [s for s in path.split("/") if s and not s.startswith("{")]
    return PATH_KINDS.get(segments[-1]) if segments else None


def _patch_body(draw: Any, body: Any) -> Any:
    if isinstance(body, list):
        return [_patch_body(draw, item) for item in body]
    if not isinstance(body, dict):
        return body
    patched = dict(body)
    for key, kind in BODY_REFS.items():
        ids = KNOWN.get(kind)
        if key not in patched or not ids:
            continue
        if isinstance(patched[key], list):
            patched[key] = draw(st.lists(st.sampled_from(ids), max_size=3))
        else:
            patched[key] = draw(st.sampled_from(ids))
    return patched


@schema.hook
def flatmap_case(context, case):
    @st.composite
    def with_real_ids(draw):
        if draw(st.integers(0, 3)) == 0:  # a quarter of the cases keep their random ids
            return case
        for name in list(case.path_parameters or {}):
            ids = KNOWN.get(_path_kind(case.path, name) or "")
            if ids:
                case.path_parameters[name] = draw(st.sampled_from(ids))
        if case.body is not None and not isinstance(case.body, str | bytes):
            case.body = _patch_body(draw, case.body)
        return case

    return with_real_ids()


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_open():
    # Schemathesis calls the WSGI handler directly, whose request signals close "old" database
    # connections; inside the test's transaction that closes the connection itself (PostgreSQL:
    # "the connection is closed"). Django's own test client unhooks them the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def teacher_headers(world):
    skill = f.SkillFactory(course=world.course, name="Fractions")
    foreign_skill = f.SkillFactory(course=world.foreign_course, name="Foreign")
    assignment = f.AssignmentFactory(course=world.course)
    assignment.skills.add(skill)
    f.RubricTraitFactory(assignment=assignment)
    item = f.PracticeItemFactory(course=world.course)
    item.skills.add(skill)
    resource = f.LearningResourceFactory(course=world.course)
    KNOWN.clear()
    KNOWN.update(
        {
            "school": [world.school.pk, world.other_school.pk],
            "course": [world.course.pk, world.other_course.pk, world.foreign_course.pk],
            "enrolment": list(world.course.enrollments.values_list("pk", flat=True)),
            "skill": [skill.pk, foreign_skill.pk],
            "assignment": [assignment.pk, f.AssignmentFactory(course=world.other_course).pk],
            "submission": [f.SubmissionFactory(assignment=assignment, author=world.student).pk],
            "practice_item": [item.pk],
            "resource": [resource.pk],
            "event": [f.ActivityEventFactory(course=world.course, actor=world.student).pk],
            "user": [world.student.pk, world.other_student.pk, world.teacher.pk],
        }
    )
    token = Token.objects.create(user=world.teacher)
    yield {"Authorization": f"Token {token.key}"}
    KNOWN.clear()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_with_a_server_error(case, teacher_headers):
    case.call_and_validate(headers=teacher_headers, checks=[not_a_server_error])
