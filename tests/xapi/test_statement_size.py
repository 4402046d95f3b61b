"""One statement is at most ``MAX_STATEMENT_BYTES`` of JSON; the request limit bounds only the
whole body, which could otherwise be a single statement of 10 MB stored twice (statement and event).
"""

from __future__ import annotations

import uuid

import pytest

from eduai.courses.models import ActivityEvent
from eduai.xapi.models import Statement
from eduai.xapi.services import MAX_STATEMENT_BYTES
from tests.factories import PracticeItemFactory

from .conftest import statement


@pytest.fixture
def item(world):
    world.student.email = "stu@example.org"
    world.student.save()
    return PracticeItemFactory(course=world.course)


def _with_response(world, item, text: str, **overrides):
    return statement(
        world,
        object={"id": f"urn:eduai:practice-item:{item.pk}"},
        result={"success": True, "response": text},
        **overrides,
    )


def test_an_oversized_statement_is_a_400_naming_it_and_nothing_of_the_batch_is_stored(lrs, world, item):
    small = _with_response(world, item, "short")
    big = _with_response(world, item, "x" * MAX_STATEMENT_BYTES)
    response = lrs.post([small, big])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith("statements[1]: ")
    assert f"at most {MAX_STATEMENT_BYTES:,} bytes of JSON per statement" in error
    assert not Statement.objects.exists() and not ActivityEvent.objects.exists()


def test_a_put_statement_is_bounded_too(lrs, world, item):
    sid = str(uuid.uuid4())
    response = lrs.put(sid, _with_response(world, item, "x" * MAX_STATEMENT_BYTES))
    assert response.status_code == 400 and response.json()["error"].startswith("statement: ")
    assert not Statement.objects.exists()


def test_a_statement_just_under_the_cap_is_stored(lrs, world, item):
    # A long answer (an essay's text in result.response) still fits; the size is UTF-8 bytes (a
    # Chinese character is three), and the rest of this statement is well under 2,000 bytes.
    essay = "词" * ((MAX_STATEMENT_BYTES - 2_000) // 3)
    response = lrs.post(_with_response(world, item, essay))
    assert response.status_code == 200, response.content[:200]
    assert Statement.objects.count() == 1
