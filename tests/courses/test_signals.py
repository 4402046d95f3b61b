"""The hook points fire once, after commit, with ids, and never for a rolled-back write."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from eduai.courses import api as courses
from eduai.courses.models import ActivityEvent, Submission
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def received():
    calls: list[dict] = []

    def receiver(sender, **kwargs):
        calls.append(kwargs)

    courses.submission_received.connect(receiver, weak=False)
    yield calls
    courses.submission_received.disconnect(receiver)


@pytest.fixture
def recorded():
    calls: list[dict] = []

    def receiver(sender, **kwargs):
        calls.append(kwargs)

    courses.activity_recorded.connect(receiver, weak=False)
    yield calls
    courses.activity_recorded.disconnect(receiver)


def test_submission_signal_fires_once_after_commit_with_ids(received):
    # given an assignment and a student
    assignment = f.AssignmentFactory()
    student = f.UserFactory()
    # when a submission is created inside a transaction
    with transaction.atomic():
        sub = courses.submission_create(assignment_id=assignment.pk, author_id=student.pk, text="My essay.")
        # then nothing has fired before the commit
        assert received == []
    # then it fired exactly once, with ids only
    assert received == [
        {
            "signal": courses.submission_received,
            "submission_id": sub.pk,
            "assignment_id": assignment.pk,
            "course_id": assignment.course_id,
            "author_id": student.pk,
        }
    ]


def test_submission_signal_never_fires_for_rolled_back_write(received):
    assignment = f.AssignmentFactory()
    student = f.UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        courses.submission_create(assignment_id=assignment.pk, author_id=student.pk, text="Doomed essay.")
        raise RuntimeError("roll back")
    assert received == []
    assert Submission.objects.count() == 0


def test_attempts_count_up_per_student(received):
    assignment = f.AssignmentFactory()
    student = f.UserFactory()
    first = courses.submission_create(assignment_id=assignment.pk, author_id=student.pk, text="one")
    second = courses.submission_create(assignment_id=assignment.pk, author_id=student.pk, text="two")
    assert (first.attempt, second.attempt) == (1, 2)
    assert [c["submission_id"] for c in received] == [first.pk, second.pk]


def _event(course, actor, sid=None):
    return courses.EventInput(
        course_id=course.pk,
        actor_id=actor.pk,
        verb="http://adlnet.gov/expapi/verbs/answered",
        timestamp=timezone.now(),
        object_type="practice_item",
        result_success=True,
        statement_id=sid,
    )


def test_activity_signal_once_per_batch_and_duplicates_skipped(recorded):
    course = f.CourseFactory()
    actor = f.UserFactory()
    sid = uuid.uuid4()
    result = courses.activity_events_record(
        events=[_event(course, actor, sid), _event(course, actor), _event(course, actor, sid)]
    )
    assert len(result.created_ids) == 2
    assert result.duplicate_statement_ids == [sid]
    assert len(recorded) == 1
    assert recorded[0]["event_ids"] == result.created_ids
    assert recorded[0]["course_ids"] == [course.pk]
    # re-sending the same statement stores nothing and fires nothing
    again = courses.activity_events_record(events=[_event(course, actor, sid)])
    assert again.created_ids == []
    assert len(recorded) == 1
    assert ActivityEvent.objects.count() == 2


def test_activity_signal_never_fires_for_rolled_back_write(recorded):
    course = f.CourseFactory()
    actor = f.UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        courses.activity_events_record(events=[_event(course, actor)])
        raise RuntimeError("roll back")
    assert recorded == []
    assert ActivityEvent.objects.count() == 0
