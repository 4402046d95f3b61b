"""The sweep: evidence that a lost task never wrote, found again and written.

Activity events and released grades become evidence through tasks enqueued after commit
(``signals`` -> ``tasks.apply_activity`` / ``tasks.apply_grade``). A task can be lost: the broker
was down when it was published, a worker was killed after acknowledging it, a database crash
lost the commit that wrote the evidence. ``sweep_unfolded`` finds what such a task left behind
and feeds it through the same services, which are idempotent:

- practice answers that are evidence (``services.evidence_from_events``: a practice item, a
  ``result_success``, not voided) and have no ``Evidence`` row;
- voided events whose ``Evidence`` row is still there;
- released grades (grading's ``GradeRelease``, the stored payload of ``grade_released``) of
  assignments with skills, with no ``Evidence`` row.

Only rows older than ``EDUAI_KT_SWEEP_GRACE_SECONDS`` are taken (their own task may still be
queued; running both is harmless, only wasted work), stored within
``EDUAI_KT_SWEEP_LOOKBACK_HOURS`` (``full=True``: the whole history, after an incident), and
at most ``EDUAI_KT_SWEEP_LIMIT`` of each kind per run, oldest first: the next run goes on.
A void has no time of its own: an event voided moments ago (stored earlier) may be cleaned by
the sweep and by its own task; the second finds nothing left to do.

Not found: a changed grade re-released while its task was lost (the evidence of the earlier
release is there, with the old credit; releasing the grade again fixes it), and voids of events
stored before the look-back (a ``full=True`` run finds them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Exists, OuterRef
from django.utils import timezone

from eduai.courses.models import ActivityEvent, Assignment, ObjectType, SubmissionStatus

from . import services
from .models import Evidence

log = logging.getLogger(__name__)

# Events per ``evidence_from_events`` call: the size its own reads use (services._BATCH), and
# the size of the biggest lost task (a bulk ingestion of up to 1,000 events is one task).
EVENT_BATCH = 500


def grace_seconds() -> int:
    return int(getattr(settings, "EDUAI_KT_SWEEP_GRACE_SECONDS", 120))


def lookback_hours() -> float:
    return float(getattr(settings, "EDUAI_KT_SWEEP_LOOKBACK_HOURS", 72))


def limit_per_run() -> int:
    return int(getattr(settings, "EDUAI_KT_SWEEP_LIMIT", 5000))


@dataclass(frozen=True)
class SweepResult:
    """What one sweep found, and (``applied``) re-applied."""

    events: tuple[int, ...]  # practice answers without evidence
    voided: tuple[int, ...]  # voided events whose evidence was still there
    grades: tuple[int, ...]  # submissions of released grades without evidence
    students: int  # student-course states the events touched
    grades_applied: int  # grades that became evidence
    refused_grades: tuple[int, ...]  # grades evidence_from_grade refused (bad payload)
    failed_events: tuple[int, ...]  # events of a batch that raised an error (found again next run)
    applied: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (a task's result)."""
        return {
            "events": list(self.events),
            "voided": list(self.voided),
            "grades": list(self.grades),
            "students": self.students,
            "grades_applied": self.grades_applied,
            "refused_grades": list(self.refused_grades),
            "failed_events": list(self.failed_events),
            "applied": self.applied,
        }


def _first_event_id_since(since: datetime) -> int | None:
    """A lower bound of the ids of the events stored at or after ``since``; None: there are none.

    ``stored_at`` has no index (the LMS core's table), so filtering on it alone would read the
    whole event table every run. Ids are allocated at insert, as ``stored_at`` is set, so the
    first id of the window is found by bisecting the primary key: ~log2(ids) index lookups
    (about 25 for 20 million events). Two inserts racing may store their times a few
    milliseconds out of id order; that moves the bound by as much, which a look-back of hours
    does not notice.
    """
    events = ActivityEvent.objects.order_by("pk").values_list("pk", "stored_at")
    last = events.last()
    if last is None or last[1] < since:
        return None
    first = events.first()
    assert first is not None
    if first[1] >= since:
        return int(first[0])
    # stored_at(lo) < since; the first event with an id >= hi was stored at or after since
    lo, hi = int(first[0]), int(last[0])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        row = events.filter(pk__gte=mid).first()
        assert row is not None  # hi itself exists or has a later one
        if row[1] < since:
            lo = int(row[0])  # >= mid, and < hi: the first event from hi on is in the window
        else:
            hi = mid
    return hi


def _in_window(qs: Any, *, since: datetime | None, cutoff: datetime, first_id: int | None) -> Any:
    qs = qs.filter(stored_at__lt=cutoff)
    if since is not None:
        qs = qs.filter(stored_at__gte=since)
        if first_id is not None:
            qs = qs.filter(pk__gte=first_id)
    return qs


def unfolded_events(*, since: datetime | None, cutoff: datetime, limit: int) -> tuple[list[int], list[int]]:
    """(answers that are evidence but have none, voided events that still have some), ids in
    ascending order, each at most ``limit``, stored in [since, cutoff)."""
    first_id = None
    if since is not None:
        first_id = _first_event_id_since(since)
        if first_id is None:
            return [], []
    has_evidence = Exists(Evidence.objects.filter(event_id=OuterRef("pk")))
    # the conditions of services.evidence_from_events, as SQL; NOT EXISTS probes the unique
    # index of Evidence.event
    answers = ActivityEvent.objects.filter(
        object_type=ObjectType.PRACTICE_ITEM,
        practice_item__isnull=False,
        result_success__isnull=False,
        voided=False,
    ).filter(~has_evidence)
    voided = ActivityEvent.objects.filter(voided=True).filter(has_evidence)
    out = []
    for qs in (answers, voided):
        qs = _in_window(qs, since=since, cutoff=cutoff, first_id=first_id)
        out.append(list(qs.order_by("pk").values_list("pk", flat=True)[:limit]))
    return out[0], out[1]


def released_without_evidence(*, since: datetime | None, cutoff: datetime, limit: int) -> list[dict[str, Any]]:
    """Released grades released in [since, cutoff) of assignments with skills, with no evidence:
    the ``grade_released`` payload of each (submission, assignment, course, score, traits).

    Read from grading's ``GradeRelease``, written in the same transaction as the release that
    sends the signal with the same score and trait scores (grading.review.services). The
    layers allow assessment to read grading; grading's public API has no read of releases by
    time, so the model is queried here, in this one place.
    """
    from grading.review.models import GradeRelease

    has_evidence = Exists(Evidence.objects.filter(submission_id=OuterRef("submission_id")))
    # evidence_from_grade writes nothing for an assignment without skills: not lost, skip it
    has_skills = Exists(Assignment.skills.through.objects.filter(assignment_id=OuterRef("assignment_id")))
    qs = GradeRelease.objects.filter(released_at__lt=cutoff, submission__status=SubmissionStatus.RELEASED)
    if since is not None:
        qs = qs.filter(released_at__gte=since)
    rows = (
        qs.filter(~has_evidence)
        .filter(has_skills)
        .order_by("pk")
        .values("submission_id", "assignment_id", "course_id", "score", "trait_scores")[:limit]
    )
    return [dict(r) for r in rows]


def sweep_unfolded(
    *,
    grace: int | None = None,
    lookback: float | None = None,
    full: bool = False,
    limit: int | None = None,
    apply: bool = True,
    now: datetime | None = None,
) -> SweepResult:
    """Find the evidence lost tasks left behind and (``apply``) write it through the services.

    ``grace`` seconds, ``lookback`` hours and ``limit`` per kind default to the settings;
    ``full``: no look-back. Safe to run twice, and alongside the tasks.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=grace_seconds() if grace is None else grace)
    since = None if full else now - timedelta(hours=lookback_hours() if lookback is None else lookback)
    n = limit_per_run() if limit is None else limit
    events, voided = unfolded_events(since=since, cutoff=cutoff, limit=n)
    grades = released_without_evidence(since=since, cutoff=cutoff, limit=n)
    if events or voided or grades:
        log.warning(
            "sweep: %d answer(s) without evidence, %d voided event(s) with evidence, %d released grade(s) "
            "without evidence (lost tasks)%s",
            len(events),
            len(voided),
            len(grades),
            "" if apply else "; dry run",
        )
    students, failed = 0, []
    applied, refused = 0, []
    if apply:
        # grades first: a few, each one statement or two; a long backlog of answers that runs
        # into the task's time limit every run must not starve them
        for g in grades:
            try:
                applied += services.evidence_from_grade(
                    submission_id=g["submission_id"],
                    assignment_id=g["assignment_id"],
                    course_id=g["course_id"],
                    score=g["score"],
                    trait_scores=g["trait_scores"] or None,
                    # read a moment ago: a re-release's own task may have written newer
                    # evidence since
                    only_if_missing=True,
                )
            except (ValueError, ObjectDoesNotExist, ValidationError) as exc:
                # as tasks.apply_grade: a bad payload fails the same way every time
                log.warning("sweep: grade of submission %s not used as evidence: %s", g["submission_id"], exc)
                refused.append(g["submission_id"])
            except SoftTimeLimitExceeded:
                raise
            except Exception:
                log.exception("sweep: grade of submission %s not applied", g["submission_id"])
        ids = sorted(events + voided)
        for start in range(0, len(ids), EVENT_BATCH):
            batch = ids[start : start + EVENT_BATCH]
            try:
                students += services.evidence_from_events(event_ids=batch)
            except SoftTimeLimitExceeded:
                raise
            except Exception:
                # what committed stays; the rest is found again by the next run. Any error, not
                # only the database's: one bad event must not stop every run at the same batch
                log.exception("sweep: events %s..%s not folded", batch[0], batch[-1])
                failed += batch
    return SweepResult(
        events=tuple(events),
        voided=tuple(voided),
        grades=tuple(g["submission_id"] for g in grades),
        students=students,
        grades_applied=applied,
        refused_grades=tuple(refused),
        failed_events=tuple(failed),
        applied=apply,
    )
