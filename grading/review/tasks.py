"""Celery tasks of the review loop. Thin: ids in, a service call, a summary out.

- ``process_proposal(prediction_id)``: audit event + release policy for a new proposal. Safe to
  run twice (the event is written once, the release is a conditional UPDATE): ``acks_late``.
- ``explain_predictions(ids)``: occlusion explanations, on the ``inference`` queue (it loads the
  scoring model and re-scores each essay once per sentence). Cached per prediction, so a rerun
  costs one query per id.
"""

from __future__ import annotations

from celery import shared_task

MAX_IDS_PER_TASK = 200


@shared_task(name="review.tasks.process_proposal", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=60, time_limit=90)  # fmt: skip
def process_proposal(prediction_id: int) -> str:
    from .services import proposal_process

    return proposal_process(prediction_id=int(prediction_id))


@shared_task(name="review.tasks.explain_predictions", queue="inference", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=540, time_limit=600)  # fmt: skip
def explain_predictions(prediction_ids: list[int]) -> dict[str, str]:
    from .services import explanation_compute

    if not isinstance(prediction_ids, list | tuple) or len(prediction_ids) > MAX_IDS_PER_TASK:
        raise ValueError(f"expected a list of at most {MAX_IDS_PER_TASK} prediction ids")
    return {str(i): explanation_compute(prediction_id=int(i)).status for i in prediction_ids}
