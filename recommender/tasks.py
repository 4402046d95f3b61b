"""Celery tasks of the recommender: thin, taking ids, safe to run twice.

- ``refresh_after_events(event_ids)`` / ``refresh_after_grade(submission_id)``: note new
  evidence for (course, student) pairs and schedule ONE debounced refresh per student whose
  list was fresh (``countdown=DEBOUNCE_S``): a burst of 50 answers in a minute costs one ranking.
- ``refresh_students(course_id, student_ids)``: rank and cache; reschedules the students who had
  an event while it ran.
- ``refresh_course(course_id)``: rebuild the course profile and refresh every student (beat or
  ``manage.py recommender_refresh``).
- ``embed_resources(resource_ids)`` (inference queue): index resources (passages + vectors).
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db.models import F

from eduai.courses.models import ActivityEvent, ObjectType, Role, Submission

from . import services

# Wait this long (seconds) after the first new event before re-ranking: long enough to gather a
# practice session's answers, short enough that the next page view shows the change.
DEBOUNCE_S = int(getattr(settings, "EDUAI_RECOMMENDER_DEBOUNCE_S", 30))
# Events that carry evidence about learning; questions and course views do not change a ranking.
_EVIDENCE_TYPES = (ObjectType.PRACTICE_ITEM, ObjectType.RESOURCE, ObjectType.ASSIGNMENT)


def _schedule(schedule: dict[int, list[int]]) -> None:
    for course_id, students in schedule.items():
        refresh_students.apply_async_on_commit(args=(course_id, students), countdown=DEBOUNCE_S)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def refresh_after_events(event_ids: list[int]) -> int:
    pairs = set(
        ActivityEvent.objects.filter(
            pk__in=list(event_ids)[:100000],
            object_type__in=_EVIDENCE_TYPES,
            # a student of THIS course (a teacher here may be a student elsewhere)
            actor__enrollments__course_id=F("course_id"),
            actor__enrollments__role=Role.STUDENT,
            actor__enrollments__is_active=True,
        ).values_list("course_id", "actor_id")
    )
    if not pairs:
        return 0
    _schedule(services.recommendations_mark_stale(pairs=pairs))
    return len(pairs)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def refresh_after_grade(submission_id: int) -> int:
    row = Submission.objects.filter(pk=submission_id).values_list("assignment__course_id", "author_id").first()
    if row is None:
        return 0
    _schedule(services.recommendations_mark_stale(pairs=[row]))
    return 1


@shared_task(
    acks_late=True, soft_time_limit=300, time_limit=360, autoretry_for=(OSError,), retry_backoff=True, max_retries=3
)
def refresh_students(course_id: int, student_ids: list[int]) -> int:
    refreshed, again = services.recommendations_refresh(course_id=course_id, student_ids=student_ids)
    if again:
        refresh_students.apply_async(args=(course_id, again), countdown=DEBOUNCE_S)
    return refreshed


@shared_task(acks_late=True, soft_time_limit=600, time_limit=900)
def refresh_course(course_id: int) -> int:
    services.course_index(course_id=course_id)
    refreshed, again = services.recommendations_refresh(course_id=course_id, rebuild_profile=True)
    if again:
        refresh_students.apply_async(args=(course_id, again), countdown=DEBOUNCE_S)
    return refreshed


@shared_task(acks_late=True, soft_time_limit=600, time_limit=900)
def embed_resources(resource_ids: list[int]) -> int:
    from eduai.courses.models import LearningResource

    done = 0
    by_course: dict[int, list[int]] = {}
    for rid, cid in LearningResource.objects.filter(pk__in=resource_ids).values_list("id", "course_id"):
        by_course.setdefault(cid, []).append(rid)
    for course_id, ids in by_course.items():
        done += services.course_index(course_id=course_id, resource_ids=ids)
    return done
