"""Celery tasks of grading. Thin: they take ids, call a service, and say what they did.

All three model tasks run on the ``inference`` queue (``settings.CELERY_TASK_ROUTES``).

- ``score_submissions(ids)``: safe to run twice (claims are conditional UPDATEs, predictions are
  unique per model version), so ``acks_late`` with ``reject_on_worker_lost``: a worker killed
  mid-batch has its message redelivered and the batch is scored by the next worker, once (the
  redelivered task carries the same id, which is the claim token). A model failure retries with
  exponential backoff (30 s, 60 s, 120 s, ...); submissions stay ``failed`` with the reason
  meanwhile and after the last retry (a new serving model scores them again), and
  ``sweep_stuck_submissions`` re-enqueues what a lost task left ``received`` or ``scoring``.
- ``train_assignment_model``: not ``acks_late``: training may outlast the broker's visibility
  timeout (Redis: 1 h), after which an unacknowledged message would be handed to a second
  worker while the first still trains. A lost training run is harmless: the next threshold or a
  teacher's "train now" asks again.
- ``embed_submissions(ids)``: stores embeddings (idempotent).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from celery.exceptions import MaxRetriesExceededError
from django.conf import settings
from django.utils import timezone

from . import conf

log = logging.getLogger(__name__)

MAX_IDS_PER_TASK = 1000
TRAIN_SOFT_LIMIT_S = int(getattr(settings, "EDUAI_TRAIN_TIME_LIMIT", 6 * 3600))


def _ids(values: object) -> list[int]:
    if not isinstance(values, list | tuple):
        raise TypeError("expected a list of submission ids")
    ids = [int(v) for v in values if not isinstance(v, bool)]
    if len(ids) > MAX_IDS_PER_TASK:
        raise ValueError(f"at most {MAX_IDS_PER_TASK} ids per task, got {len(ids)}")
    return ids


@shared_task(
    bind=True,
    name="grading.tasks.score_submissions",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # bounded below by EDUAI_SCORING_MAX_RETRIES (read at run time)
    soft_time_limit=540,
    time_limit=600,
)
def score_submissions(self, submission_ids: list[int]) -> dict[str, object]:
    from .serving import ScoringCutShort, submissions_score

    ids = _ids(submission_ids)
    try:
        result = submissions_score(submission_ids=ids, token=self.request.id or None)
    except ScoringCutShort as exc:
        # Out of time: try again later, with the model failures recorded so far; the same task id
        # is the same token, so the retry also takes back the essays still held in ``scoring``.
        if self.request.retries < conf.scoring_max_retries():
            # The failures first: past MAX_IDS_PER_TASK an unscored id is left to the sweep.
            again = list(dict.fromkeys([*exc.retry, *ids]))[:MAX_IDS_PER_TASK]
            raise _retry_later(self, again, "scoring ran out of time", exc=exc) from exc
        raise
    summary = {
        "scored": list(result.scored),
        "failed": [list(f) for f in result.failed],
        "skipped": list(result.skipped),
        "waiting": list(result.waiting),
    }
    # Model failures only: an essay that cannot be scored (bad input) fails for good.
    failed_ids = list(result.retry)
    if failed_ids and self.request.retries < conf.scoring_max_retries():
        try:
            raise _retry_later(self, failed_ids, f"scoring failed for {failed_ids}")
        except MaxRetriesExceededError:
            pass
    return summary


def _retry_later(task, ids: list[int], why: str, exc: BaseException | None = None):
    """``task.retry`` of these ids with exponential backoff (30 s, 60 s, 120 s, ...)."""
    countdown = 30 * 2**task.request.retries
    log.warning("%s; retry %d in %d s", why, task.request.retries + 1, countdown)
    return task.retry(args=[ids], countdown=countdown, exc=exc)


@shared_task(
    bind=True,
    name="grading.tasks.train_assignment_model",
    acks_late=False,
    soft_time_limit=TRAIN_SOFT_LIMIT_S,
    time_limit=TRAIN_SOFT_LIMIT_S + 120,
)
def train_assignment_model(
    self,
    assignment_id: int,
    method: str = "fast",
    trigger: str = "manual",
    requested_by_id: int | None = None,
    hyperparameters: dict | None = None,
) -> dict[str, object]:
    from .training import model_train

    result = model_train(
        assignment_id=int(assignment_id),
        method=str(method),
        trigger=str(trigger),
        requested_by_id=int(requested_by_id) if requested_by_id is not None else None,
        finetune_overrides=dict(hyperparameters or {}),
    )
    return {
        "model_id": result.model_id,
        "version": result.version,
        "activated": result.activated,
        "val_qwk": result.val_qwk,
        "decision": result.decision,
    }


@shared_task(
    bind=True,
    name="grading.tasks.embed_submissions",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=540,
    time_limit=600,
)
def embed_submissions(self, submission_ids: list[int]) -> dict[str, object]:
    from .serving import embed_default

    return {"embedded": embed_default(submission_ids=_ids(submission_ids))}


@shared_task(name="grading.tasks.sweep_stuck_submissions")
def sweep_stuck_submissions() -> dict[str, object]:
    """Re-enqueue work a lost task left behind; mark abandoned training runs failed, remove their temp folders."""
    from .serving import stuck_submissions
    from .training import training_runs_abandon

    ids = stuck_submissions()
    size = conf.scoring_batch()
    for start in range(0, len(ids), size):
        score_submissions.delay(ids[start : start + size])
    cutoff = timezone.now() - timedelta(seconds=TRAIN_SOFT_LIMIT_S + 600)
    abandoned = training_runs_abandon(older_than=cutoff)  # and removes dead runs' temporary folders
    return {"requeued": ids, "abandoned_training_runs": abandoned}
