"""Who gets what: every endpoint and page against every role, one asserted status per cell.

The roles are the people of the ``world`` fixture (tests/conftest.py), in this column order:

    anon   nobody signed in
    stu    student of ``course``            stu2   student of ``other_course`` (same school)
    tch    teacher of ``course``            ta     teaching assistant of ``course``
    tch2   teacher of ``other_course``
    adm    admin of the school              adm2   admin of ``other_school``

Every row acts on objects of ``course`` (see the ``objects`` fixture for the names usable in
a URL or body: ``{course}``, ``{assignment}``, ``{submission}``, ...). The API's rule is in
eduai/courses/rest_api/v1/views.py: out of scope on a detail route -> 404; in scope but not
allowed -> 403; an id outside your scope in a body -> 400; anonymous -> 401.

How to add rows for your endpoint
---------------------------------
1. Add objects your URLs need to the ``objects`` fixture (a name -> id or value).
2. Append ``Row(name, method, url, statuses)`` to ``ROWS`` (or ``PAGE_ROWS`` for server-rendered
   pages, which sign in with a session instead of a token). ``url`` and ``body`` are
   ``str.format`` templates over the objects; ``body`` values that are whole templates like
   ``"{course}"`` become ints. ``statuses`` lists the 8 expected codes in the column order above.
3. Helpers build the usual rows: ``crud_rows`` for a course-setup resource.
Run ``pytest tests/test_permission_matrix.py -k <your row name>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from eduai.courses.models import Enrollment

from . import factories as f
from .review.matrix import review_objects

ROLES = ("anon", "stu", "stu2", "tch", "ta", "tch2", "adm", "adm2")
WORLD_ATTR = {
    "stu": "student",
    "stu2": "other_student",
    "tch": "teacher",
    "ta": "ta",
    "tch2": "other_teacher",
    "adm": "admin",
    "adm2": "other_admin",
}


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    url: str
    statuses: tuple[int, int, int, int, int, int, int, int]
    body: Any = None
    page: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


# Expected statuses by pattern (columns: anon stu stu2 tch ta tch2 adm adm2).
LIST_ALL = (401, 200, 200, 200, 200, 200, 200, 200)
DETAIL_IN_COURSE = (401, 200, 404, 200, 200, 404, 200, 404)
CREATE_SETUP = (401, 403, 403, 201, 403, 400, 201, 400)
UPDATE_SETUP = (401, 403, 404, 200, 403, 404, 200, 404)
DELETE_SETUP = (401, 403, 404, 204, 403, 404, 204, 404)
NOT_ALLOWED = (401, 405, 405, 405, 405, 405, 405, 405)
REVIEW_STAFF = (401, 404, 404, 200, 200, 404, 200, 404)
REVIEW_PAGE = (302, 404, 404, 200, 200, 404, 200, 404)


def crud_rows(plural: str, obj: str, spare: str, create_body: dict, update_body: dict) -> list[Row]:
    base = f"/api/v1/{plural}/"
    return [
        Row(f"{plural} list", "GET", base, LIST_ALL),
        Row(f"{plural} detail", "GET", f"{base}{{{obj}}}/", DETAIL_IN_COURSE),
        Row(f"{plural} create", "POST", base, CREATE_SETUP, body=create_body),
        Row(f"{plural} update", "PATCH", f"{base}{{{obj}}}/", UPDATE_SETUP, body=update_body),
        Row(f"{plural} delete", "DELETE", f"{base}{{{spare}}}/", DELETE_SETUP),
    ]


ROWS: list[Row] = [
    # --- account ---------------------------------------------------------------------------
    Row("me", "GET", "/api/v1/me/", LIST_ALL),
    # Anyone may exchange a valid username and password for a token.
    Row("auth token", "POST", "/api/v1/auth/token/", (200,) * 8, body={"username": "teach", "password": "{password}"}),
    # --- schools and courses -------------------------------------------------------------
    Row("schools list", "GET", "/api/v1/schools/", LIST_ALL),
    Row("schools detail", "GET", "/api/v1/schools/{school}/", (401, 200, 200, 200, 200, 200, 200, 404)),
    Row("schools delete", "DELETE", "/api/v1/schools/{school}/", (401, 405, 405, 405, 405, 405, 405, 405)),
    Row("courses list", "GET", "/api/v1/courses/", LIST_ALL),
    Row("courses detail", "GET", "/api/v1/courses/{course}/", DETAIL_IN_COURSE),
    Row(
        "courses create",
        "POST",
        "/api/v1/courses/",
        (401, 403, 403, 403, 403, 403, 201, 400),
        body={"school": "{school}", "code": "NEW1", "title": "New course"},
    ),
    Row("courses update", "PATCH", "/api/v1/courses/{course}/", UPDATE_SETUP, body={"title": "Renamed"}),
    Row("courses delete", "DELETE", "/api/v1/courses/{course}/", NOT_ALLOWED),
    # --- course setup --------------------------------------------------------------------
    *crud_rows(
        "enrolments",
        "enrolment",
        "enrolment",
        {"course": "{course}", "user": "{newcomer}", "role": "student"},
        {"language_background": "L2"},
    ),
    *crud_rows(
        "skills",
        "skill",
        "spare_skill",
        {"course": "{course}", "name": "Commas", "prerequisites": ["{skill}"]},
        {"description": "Changed"},
    ),
    *crud_rows(
        "assignments",
        "assignment",
        "spare_assignment",
        {
            "course": "{course}",
            "title": "New essay",
            "prompt": "Describe a journey.",
            "skills": ["{skill}"],
            "traits": [{"name": "Ideas", "min_score": 0, "max_score": 4}],
        },
        {"title": "Renamed essay"},
    ),
    *crud_rows(
        "practice-items",
        "item",
        "item",
        {"course": "{course}", "title": "Add fractions", "difficulty": 0.3, "skills": ["{skill}"]},
        {"difficulty": 0.8},
    ),
    *crud_rows(
        "resources",
        "resource",
        "resource",
        {"course": "{course}", "title": "Fractions video", "kind": "video", "url": "https://example.org/v"},
        {"title": "Renamed video"},
    ),
    # --- student work --------------------------------------------------------------------
    Row("submissions list", "GET", "/api/v1/submissions/", LIST_ALL),
    Row("submissions detail", "GET", "/api/v1/submissions/{submission}/", DETAIL_IN_COURSE),
    # Only students of the assignment's course submit; staff see it but may not (403).
    Row(
        "submissions create",
        "POST",
        "/api/v1/submissions/",
        (401, 201, 400, 403, 403, 400, 403, 400),
        body={"assignment": "{assignment}", "text": "My essay about the river."},
    ),
    # Nobody changes a submission's text after it is made.
    Row("submissions update", "PATCH", "/api/v1/submissions/{submission}/", NOT_ALLOWED, body={"text": "x"}),
    Row("submissions replace", "PUT", "/api/v1/submissions/{submission}/", NOT_ALLOWED, body={"text": "x"}),
    Row("submissions delete", "DELETE", "/api/v1/submissions/{submission}/", NOT_ALLOWED),
    Row("events list", "GET", "/api/v1/events/", LIST_ALL),
    Row("events detail", "GET", "/api/v1/events/{event}/", DETAIL_IN_COURSE),
    # About the student of ``course``: the student themselves and the course's staff may record it.
    Row(
        "events create",
        "POST",
        "/api/v1/events/",
        (401, 201, 400, 201, 201, 400, 201, 400),
        body=[
            {
                "course": "{course}",
                "actor": "{student}",
                "verb": "http://adlnet.gov/expapi/verbs/answered",
                "object_type": "practice_item",
                "practice_item": "{item}",
                "result_success": True,
                "timestamp": "2025-03-01T10:00:00Z",
            }
        ],
    ),
    Row("events delete", "DELETE", "/api/v1/events/{event}/", NOT_ALLOWED),
    # --- review of auto-graded work (grading/review): the course's teachers, TAs and admins;
    # a student reads only what was released of their own work ---------------------------
    *[
        Row(f"review {name}", method, url, statuses, body=body)
        for name, method, url, statuses, body in [
            ("queue", "GET", "/api/v1/review/courses/{course}/queue/", REVIEW_STAFF, None),
            ("course agreement", "GET", "/api/v1/review/courses/{course}/agreement/", REVIEW_STAFF, None),
            ("assignment agreement", "GET", "/api/v1/review/assignments/{assignment}/agreement/", REVIEW_STAFF, None),
            ("item", "GET", "/api/v1/review/submissions/{review_submission}/", REVIEW_STAFF, None),
            ("events", "GET", "/api/v1/review/submissions/{review_submission}/events/", REVIEW_STAFF, None),
            ("released", "GET", "/api/v1/review/submissions/{review_submission}/released/", DETAIL_IN_COURSE, None),
            (
                "accept",
                "POST",
                "/api/v1/review/submissions/{review_submission}/accept/",
                REVIEW_STAFF,
                {"prediction": "{proposal}", "revision": 0},
            ),
            (
                "override",
                "POST",
                "/api/v1/review/submissions/{review_submission}/override/",
                REVIEW_STAFF,
                {"score": 2, "prediction": "{proposal}", "revision": 0},
            ),
            # Nothing decided yet: staff are told why (400), outsiders see nothing (404).
            (
                "release",
                "POST",
                "/api/v1/review/submissions/{review_submission}/release/",
                (401, 404, 404, 400, 400, 404, 400, 404),
                {},
            ),
        ]
    ],
]

PAGE_ROWS: list[Row] = [
    Row("page home", "GET", "/", (302, 200, 200, 200, 200, 200, 200, 200), page=True),
    Row("page login", "GET", "/login/", (200, 302, 302, 302, 302, 302, 302, 302), page=True),
    Row("page course", "GET", "/courses/{course}/", (302, 200, 403, 200, 200, 403, 200, 403), page=True),
    # Nobody in the world is Django staff: the admin sends everyone to its sign-in page.
    Row("page admin", "GET", "/admin/", (302,) * 8, page=True),
    Row("page schema", "GET", "/api/schema/", (200,) * 8, page=True),
    Row("page schema ui", "GET", "/api/schema/ui/", (200,) * 8, page=True),
    Row("api schema with token", "GET", "/api/schema/", (200,) * 8),
    # Dashboards (eduai/dashboards): course staff; a student their own page; school admins.
    Row("page dashboards", "GET", "/dashboards/", (302, 200, 200, 200, 200, 200, 200, 200), page=True),
    *[
        Row(f"page dashboard {name}", "GET", url, statuses, page=True)
        for name, url, statuses in [
            ("course", "/dashboards/courses/{course}/", (302, 403, 403, 200, 200, 403, 200, 403)),
            ("course csv", "/dashboards/courses/{course}/csv/mastery/", (302, 403, 403, 200, 200, 403, 200, 403)),
            ("student", "/dashboards/courses/{course}/students/{student}/", (302, 200, 403, 200, 200, 403, 200, 403)),
            (
                "student csv",
                "/dashboards/courses/{course}/students/{student}/csv/mastery/",
                (302, 200, 403, 200, 200, 403, 200, 403),
            ),
            ("my page", "/dashboards/courses/{course}/me/", (302, 302, 403, 302, 302, 403, 302, 403)),
            ("school", "/dashboards/schools/{school}/", (302, 403, 403, 403, 403, 403, 200, 403)),
            ("school csv", "/dashboards/schools/{school}/csv/grading/", (302, 403, 403, 403, 403, 403, 200, 403)),
        ]
    ],
    # Review pages (grading/review): staff of the course; "my" pages: the author and the staff.
    *[
        Row(f"page review {name}", method, url, statuses, body=body, page=True)
        for name, method, url, statuses, body in [
            ("queue", "GET", "/review/courses/{course}/", REVIEW_PAGE, None),
            ("item", "GET", "/review/courses/{course}/submissions/{review_submission}/", REVIEW_PAGE, None),
            ("agreement", "GET", "/review/courses/{course}/agreement/", REVIEW_PAGE, None),
            (
                "decide",
                "POST",
                "/review/courses/{course}/submissions/{review_submission}/decide/",
                (302, 404, 404, 302, 302, 404, 302, 404),
                {"action": "override", "score": 2, "revision": 0},
            ),
            # TAs review but do not change course setup (the release policy).
            (
                "policy",
                "POST",
                "/review/courses/{course}/assignments/{assignment}/policy/",
                (302, 404, 404, 302, 403, 404, 302, 404),
                {"release_policy": "review_all", "auto_release_max_interval": 1, "auto_release_min_qwk": 0.7},
            ),
            ("my grades", "GET", "/review/my/", (302, 200, 200, 200, 200, 200, 200, 200), None),
            ("my submission", "GET", "/review/my/{review_submission}/", (302, 200, 404, 200, 200, 404, 200, 404), None),
        ]
    ],
]


def _cells() -> list[Any]:
    return [
        pytest.param(row, role, expected, id=f"{row.name} | {row.method} | {role}")
        for row in ROWS + PAGE_ROWS
        for role, expected in zip(ROLES, row.statuses, strict=True)
    ]


@pytest.fixture
def objects(world) -> dict[str, Any]:
    skill = f.SkillFactory(course=world.course, name="Fractions")
    assignment = f.AssignmentFactory(course=world.course)
    f.RubricTraitFactory(assignment=assignment, name="Organisation")
    item = f.PracticeItemFactory(course=world.course, answer="7/8")
    return {
        "password": f.DEFAULT_PASSWORD,
        "school": world.school.pk,
        "course": world.course.pk,
        "student": world.student.pk,
        "newcomer": f.UserFactory(username="newcomer").pk,
        "enrolment": Enrollment.objects.get(course=world.course, user=world.student).pk,
        "skill": skill.pk,
        "spare_skill": f.SkillFactory(course=world.course, name="Spare").pk,
        "assignment": assignment.pk,
        "spare_assignment": f.AssignmentFactory(course=world.course).pk,
        "item": item.pk,
        "resource": f.LearningResourceFactory(course=world.course).pk,
        "submission": f.SubmissionFactory(assignment=assignment, author=world.student).pk,
        "event": f.ActivityEventFactory(course=world.course, actor=world.student, practice_item=item).pk,
        **review_objects(world, assignment),
    }


def _fill(template: Any, objects: dict[str, Any]) -> Any:
    if isinstance(template, str):
        whole = template.startswith("{") and template.endswith("}") and template[1:-1] in objects
        return objects[template[1:-1]] if whole else template.format(**objects)
    if isinstance(template, list):
        return [_fill(v, objects) for v in template]
    if isinstance(template, dict):
        return {k: _fill(v, objects) for k, v in template.items()}
    return template


def _client(row: Row, user: Any) -> Client:
    if row.page:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.mark.parametrize(("row", "role", "expected"), _cells())
def test_permission_matrix(row: Row, role: str, expected: int, world, objects) -> None:
    # given a person in one role
    user = getattr(world, WORLD_ATTR[role]) if role != "anon" else None
    client = _client(row, user)
    url = _fill(row.url, objects)
    # when they call the endpoint or open the page
    kwargs: dict[str, Any] = {}
    if row.body is not None:
        kwargs = {"data": _fill(row.body, objects), "format": "json"}
    response = getattr(client, row.method.lower())(url, **kwargs)
    # then they get exactly the expected status
    body = response.content[:300] if response.status_code != expected else b""
    assert response.status_code == expected, f"{row.method} {url} as {role}: {response.status_code} {body!r}"
