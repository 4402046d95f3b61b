"""Writes of the LMS core. Keyword-only arguments, each under ``transaction.atomic``.

Signals are sent from ``transaction.on_commit`` so that receivers never see a write that
might still roll back, and see each write exactly once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from .data import EventInput, RecordResult
from .models import (
    ActivityEvent,
    Assignment,
    Course,
    Enrollment,
    Role,
    School,
    SchoolMembership,
    Submission,
    SubmissionStatus,
)
from .signals import activity_recorded, submission_received
from .text import clean_text, detect_language


def school_create(*, name: str, slug: str) -> School:
    return School.objects.create(name=name, slug=slug)


def school_admin_add(*, school_id: int, user_id: int) -> SchoolMembership:
    membership, _ = SchoolMembership.objects.update_or_create(
        school_id=school_id, user_id=user_id, defaults={"is_admin": True}
    )
    return membership


@transaction.atomic
def enrollment_upsert(*, course_id: int, user_id: int, role: str = Role.STUDENT, language_background: str = "") -> Enrollment:
    """Create or update the single enrolment of a user in a course (idempotent)."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; expected one of {', '.join(Role.values)}."})
    enrollment, created = Enrollment.objects.select_for_update().get_or_create(
        course_id=course_id, user_id=user_id, defaults={"role": role, "language_background": language_background}
    )
    if not created and (enrollment.role != role or not enrollment.is_active):
        enrollment.role = role
        enrollment.is_active = True
        if language_background:
            enrollment.language_background = language_background
        enrollment.save(update_fields=["role", "is_active", "language_background"])
    # The course must belong to a school the user is a member of (for admin views).
    course = Course.objects.only("school_id").get(pk=course_id)
    SchoolMembership.objects.get_or_create(school_id=course.school_id, user_id=user_id)
    return enrollment


def _send_submission_received(submission: Submission, course_id: int) -> None:
    submission_received.send(
        sender=Submission,
        submission_id=submission.pk,
        assignment_id=submission.assignment_id,
        course_id=course_id,
        author_id=submission.author_id,
    )


def submission_create(
    *,
    assignment_id: int,
    author_id: int,
    text: object,
    submitted_at: datetime | None = None,
    source: str = "api",
) -> Submission:
    """Store a new attempt of ``author`` at ``assignment`` and announce it after commit.

    The attempt number is the next free one; two concurrent posts by the same student both
    succeed with different attempts (the unique constraint decides, we retry on conflict).
    """
    clean = clean_text(text, field="text")
    assignment = Assignment.objects.select_related("course").get(pk=assignment_id)
    language = detect_language(clean) if not assignment.language else assignment.language
    for _ in range(5):
        try:
            with transaction.atomic():
                last = (
                    Submission.objects.filter(assignment_id=assignment_id, author_id=author_id).aggregate(
                        m=Max("attempt")
                    )["m"]
                    or 0
                )
                submission = Submission.objects.create(
                    assignment_id=assignment_id,
                    author_id=author_id,
                    text=clean,
                    attempt=last + 1,
                    language=language,
                    submitted_at=submitted_at or timezone.now(),
                    source=source,
                )
                course_id = assignment.course_id
                transaction.on_commit(lambda: _send_submission_received(submission, course_id))
                return submission
        except IntegrityError:
            continue
    raise ValidationError({"attempt": "Too many concurrent submissions; please try again."})


def submission_status_set(
    *, submission_id: int, status: str, expected: Iterable[str] | None = None, reason: str = ""
) -> bool:
    """Move a submission's status with a conditional UPDATE; True if this call moved it.

    ``expected`` makes it a claim: only a submission currently in one of those states moves,
    so two workers racing for the same submission cannot both win.
    """
    if status not in SubmissionStatus.values:
        raise ValueError(f"unknown status {status!r}")
    qs = Submission.objects.filter(pk=submission_id)
    if expected is not None:
        qs = qs.filter(status__in=list(expected))
    return qs.update(status=status, status_reason=reason[:500], updated_at=timezone.now()) == 1


def _send_activity_recorded(ids: list[int], course_ids: list[int], actor_ids: list[int]) -> None:
    activity_recorded.send(sender=ActivityEvent, event_ids=ids, course_ids=course_ids, actor_ids=actor_ids)


def activity_events_record(*, events: Sequence[EventInput]) -> RecordResult:
    """Store events, skipping any whose statement id is already stored (or repeated in the batch).

    Late events are stored with their own ``timestamp``; readers order by it. One
    ``activity_recorded`` signal is sent after commit with the ids of the new events.
    """
    with_ids = [(e.statement_id or uuid.uuid4(), e) for e in events]
    wanted = {sid for sid, _ in with_ids}
    for _ in range(3):
        try:
            return _record_once(with_ids, wanted)
        except IntegrityError:
            # A concurrent writer stored one of these statement ids between our read and our
            # insert; the retry reads it as a duplicate.
            continue
    raise ValidationError({"statements": "Could not store the events because of concurrent writes; retry."})


def _record_once(with_ids: list[tuple[uuid.UUID, EventInput]], wanted: set[uuid.UUID]) -> RecordResult:
    with transaction.atomic():
        existing = set(ActivityEvent.objects.filter(statement_id__in=wanted).values_list("statement_id", flat=True))
        seen: set[uuid.UUID] = set()
        rows: list[ActivityEvent] = []
        duplicates: list[uuid.UUID] = []
        for sid, e in with_ids:
            if sid in existing or sid in seen:
                duplicates.append(sid)
                continue
            seen.add(sid)
            rows.append(
                ActivityEvent(
                    statement_id=sid,
                    course_id=e.course_id,
                    actor_id=e.actor_id,
                    verb=e.verb,
                    object_type=e.object_type,
                    object_iri=e.object_iri,
                    practice_item_id=e.practice_item_id,
                    resource_id=e.resource_id,
                    assignment_id=e.assignment_id,
                    result_success=e.result_success,
                    result_completion=e.result_completion,
                    result_score_scaled=e.result_score_scaled,
                    result_score_raw=e.result_score_raw,
                    result_duration=e.result_duration,
                    result_response=e.result_response,
                    timestamp=e.timestamp,
                    raw=e.raw,
                )
            )
        created = ActivityEvent.objects.bulk_create(rows, batch_size=1000)
        ids = sorted(int(row.pk) for row in created)
        course_ids = sorted({row.course_id for row in created})
        actor_ids = sorted({row.actor_id for row in created})
        if ids:
            transaction.on_commit(lambda: _send_activity_recorded(ids, course_ids, actor_ids))
    return RecordResult(created_ids=ids, duplicate_statement_ids=duplicates)


@transaction.atomic
def activity_event_void(*, statement_id: uuid.UUID) -> bool:
    """Mark an event voided (xAPI voiding); readers of evidence skip voided events."""
    updated = ActivityEvent.objects.filter(statement_id=statement_id, voided=False).update(voided=True)
    if updated:
        event = ActivityEvent.objects.get(statement_id=statement_id)
        ids, cids, aids = [event.pk], [event.course_id], [event.actor_id]
        transaction.on_commit(lambda: _send_activity_recorded(ids, cids, aids))
    return bool(updated)
