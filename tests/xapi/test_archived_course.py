"""xAPI statements about an archived course (``Course.is_active=False``).

A statement is a record of what happened, so the LRS stores it (200, returned by GET) whatever
the course's state; but an archived course's evidence is final, so it becomes no activity event
(the stored statement says why). Voiding still voids: it corrects the record, it adds nothing.
See docs/courses.md.
"""

from __future__ import annotations

import uuid

import pytest

from eduai.courses.models import ActivityEvent
from eduai.xapi.models import Statement
from tests.factories import PracticeItemFactory

from .conftest import statement

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


@pytest.fixture
def item(world):
    world.student.email = "stu@example.org"
    world.student.save()
    return PracticeItemFactory(course=world.course)


def _archive(course) -> None:
    course.is_active = False
    course.save(update_fields=["is_active"])


@pytest.mark.parametrize("credential", ["lrs", "course_lrs"])
def test_a_statement_about_an_archived_course_is_stored_but_is_not_evidence(request, world, item, credential):
    client = request.getfixturevalue(credential)
    _archive(world.course)
    sid = str(uuid.uuid4())
    response = client.post(statement(world, id=sid, object={"id": f"urn:eduai:practice-item:{item.pk}"}))
    assert response.status_code == 200, response.content
    assert response.json() == [sid]
    assert not ActivityEvent.objects.exists()
    stored = Statement.objects.get(statement_id=sid)
    assert stored.course_id == world.course.pk and stored.event_id is None
    assert "archived" in stored.unmapped_reason
    got = client.get(statementId=sid)
    assert got.status_code == 200 and got.json()["id"] == sid


def test_voiding_a_statement_of_a_course_archived_since_still_voids_its_event(lrs, world, item):
    sid = str(uuid.uuid4())
    assert lrs.post(statement(world, id=sid, object={"id": f"urn:eduai:practice-item:{item.pk}"})).status_code == 200
    _archive(world.course)
    voiding = statement(world, verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": sid})
    assert lrs.post(voiding).status_code == 200
    assert ActivityEvent.objects.get(statement_id=sid).voided
