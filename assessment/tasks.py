"""Celery tasks of assessment: thin, taking ids, safe to run twice.

- ``apply_activity(event_ids)`` (default queue): evidence from activity events, online update.
- ``apply_grade(...)`` (default queue): a released grade as evidence.
- ``rebuild_school_mastery(school_id)`` (default queue): replay states after a model change.
- ``train_deep_kt(school_id)`` / ``train_bkt(school_id)``: train and register a model; the deep
  one is routed to the ``inference`` queue (settings.CELERY_TASK_ROUTES).
- ``sweep_unfolded()`` (Celery beat, every 5 minutes): the evidence lost tasks of the first two
  never wrote, written through the same services (``assessment.sweep``).

Re-running any of them is harmless: evidence is keyed by event / submission and folding holds
the student's state row lock. With no broker they run eagerly in-process.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.core.exceptions import ObjectDoesNotExist, ValidationError

from . import services, sweep

log = logging.getLogger(__name__)


@shared_task(name="assessment.tasks.apply_activity", acks_late=True, max_retries=3, default_retry_delay=5)
def apply_activity(event_ids: list[int]) -> int:
    return services.evidence_from_events(event_ids=event_ids)


@shared_task(name="assessment.tasks.apply_grade", acks_late=True, max_retries=3, default_retry_delay=5)
def apply_grade(
    submission_id: int,
    assignment_id: int,
    course_id: int,
    score: Any,
    trait_scores: dict[str, Any] | None = None,
) -> bool:
    try:
        return services.evidence_from_grade(
            submission_id=submission_id,
            assignment_id=assignment_id,
            course_id=course_id,
            score=score,
            trait_scores=trait_scores,
        )
    except (ValueError, ObjectDoesNotExist, ValidationError) as exc:
        # a bad payload is not retried: it would fail the same way; nothing was written
        log.warning("grade of submission %s not used as evidence: %s", submission_id, exc)
        return False


@shared_task(name="assessment.tasks.rebuild_school_mastery")
def rebuild_school_mastery(school_id: int) -> int:
    return services.school_mastery_rebuild(school_id=school_id)


@shared_task(name="assessment.tasks.train_deep_kt", time_limit=20 * 60, soft_time_limit=18 * 60)
def train_deep_kt(school_id: int, hyperparameters: dict[str, Any] | None = None) -> int:
    """Train the deep model of a school (inference queue). Returns the new version's id."""
    return services.kt_model_train(school_id=school_id, method="deep", hyperparameters=hyperparameters).pk


@shared_task(name="assessment.tasks.train_bkt")
def train_bkt(school_id: int) -> int:
    return services.kt_model_train(school_id=school_id, method="bkt").pk


# The limits stay under the beat period (300 s) so two sweeps do not overlap; one interrupted
# by its soft limit rolls back only the fold in progress and the next run goes on.
@shared_task(name="assessment.tasks.sweep_unfolded", soft_time_limit=240, time_limit=270)
def sweep_unfolded() -> dict[str, Any]:
    """Fold in the answers, voids and released grades whose task was lost (settings: grace,
    look-back and per-run limit, ``EDUAI_KT_SWEEP_*``)."""
    return sweep.sweep_unfolded().as_dict()
