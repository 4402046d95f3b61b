"""Review-loop settings, from Django settings or the environment (same name), with defaults.

- ``EDUAI_REVIEW_MISTAKE_WEIGHT``: training sample weight of an essay whose proposal the teacher
  marked a model mistake. Default 3.0: large enough that a handful of marked essays move a
  ridge fit measurably, small enough that one mislabelled mark cannot dominate 30 essays.
- ``EDUAI_REVIEW_RECENT``: how many of the most recent teacher decisions "recent agreement"
  covers (the queue's warning). Default 50.
- ``EDUAI_REVIEW_MIN_PAIRS``: fewest proposal/teacher pairs before agreement is judged at all
  (QWK on fewer than 10 pairs swings by +-0.3 with one essay). Default 10.
- ``EDUAI_REVIEW_EXPLAIN_ON_PROPOSAL``: compute the occlusion explanation when a proposal is
  stored (``1``), only lazily on first view (``0``), or ``auto`` (default): on proposal when a
  broker runs tasks elsewhere, lazily when tasks run in-process (so scoring a class in the demo
  server does not wait for an attribution per essay).
- ``EDUAI_REVIEW_MAX_SENTENCES``: most sentences occlusion re-scores (each is one model call on
  the essay minus that sentence). Default 60; longer essays are attributed by chunks of
  consecutive sentences so the cost stays bounded.
"""

from __future__ import annotations

import os

from django.conf import settings


def _get(name: str, default: str) -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return str(value)


def mistake_weight() -> float:
    return max(1.0, float(_get("EDUAI_REVIEW_MISTAKE_WEIGHT", "3.0")))


def recent_window() -> int:
    return max(1, int(_get("EDUAI_REVIEW_RECENT", "50")))


def min_pairs() -> int:
    return max(2, int(_get("EDUAI_REVIEW_MIN_PAIRS", "10")))


def explain_on_proposal() -> bool:
    value = _get("EDUAI_REVIEW_EXPLAIN_ON_PROPOSAL", "auto").strip().lower()
    if value == "auto":
        from celery import current_app

        return not current_app.conf.task_always_eager
    return value in {"1", "true", "yes", "on"}


def max_sentences() -> int:
    return max(2, int(_get("EDUAI_REVIEW_MAX_SENTENCES", "60")))
