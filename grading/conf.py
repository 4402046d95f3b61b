"""Grading settings, read from Django settings with defaults taken from the environment.

Every name can be set in ``eduai/settings.py`` (or the environment, same name):

- ``EDUAI_GRADER_SERVING``: default serving knob for assignments without their own
  (``best`` = the best validated model, ``fast``, ``finetune``). Default ``best``.
- ``EDUAI_GRADER_AUTO_FINETUNE``: fine-tune at training thresholds too (``auto`` = only when this
  deployment has CUDA, ``1``, ``0``). Default ``auto``: on a 2-core CPU fine-tuning takes minutes
  per assignment, the fast scorer seconds.
- ``EDUAI_GRADER_AUTO_TRAIN``: train automatically when teacher-grade counts cross thresholds
  (``1``/``0``). Default ``1``.
- ``EDUAI_GRADER_COVERAGE``: stated coverage of prediction intervals. Default 0.9.
- ``EDUAI_SCORING_BATCH``: most submissions one scoring task claims (micro-batch). Default 64:
  64 essays x 256 tokens is about 1.3 s of int8 MiniLM on 2 CPU cores.
- ``EDUAI_SCORING_LEASE_SECONDS``: after this long a claim in ``scoring`` counts as abandoned
  (worker lost without redelivery) and another task may take it. Default 1200 s, above the
  900 s hard task time limit (``CELERY_TASK_TIME_LIMIT``).
- ``EDUAI_SCORING_MAX_RETRIES``: task retries after a model failure (backoff 30 s, 60 s, ...).
  Default 5.
- ``EDUAI_FINETUNE_MAX_LENGTH`` / ``EDUAI_FINETUNE_EPOCHS``: fine-tuning budget; defaults 384 tokens
  and 3 epochs on CPU, 512 and 4 on CUDA.
- ``EDUAI_TRAIN_EAGER_IN_THREAD``: without a broker (tasks run in-process), run training in a
  background thread so a teacher's grade request does not wait for it. Default ``1``.
"""

from __future__ import annotations

import os

from django.conf import settings

THRESHOLDS = (10, 30, 60, 120, 250)
THRESHOLD_STEP_AFTER = 250
MIN_TRAINING_ESSAYS = 5


def _get(name: str, default: str) -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return str(value)


def _bool(name: str, default: str) -> bool:
    return _get(name, default).strip().lower() in {"1", "true", "yes", "on"}


def serving_default() -> str:
    return _get("EDUAI_GRADER_SERVING", "best").lower()


def auto_train() -> bool:
    return _bool("EDUAI_GRADER_AUTO_TRAIN", "1")


def auto_finetune() -> bool:
    value = _get("EDUAI_GRADER_AUTO_FINETUNE", "auto").lower()
    if value == "auto":
        from eduai.inference.device import cuda_available

        return cuda_available()
    return value in {"1", "true", "yes", "on"}


def coverage() -> float:
    return float(_get("EDUAI_GRADER_COVERAGE", "0.9"))


def scoring_batch() -> int:
    return max(1, int(_get("EDUAI_SCORING_BATCH", "64")))


def scoring_lease_seconds() -> int:
    return int(_get("EDUAI_SCORING_LEASE_SECONDS", "1200"))


def scoring_max_retries() -> int:
    return int(_get("EDUAI_SCORING_MAX_RETRIES", "5"))


def train_eager_in_thread() -> bool:
    return _bool("EDUAI_TRAIN_EAGER_IN_THREAD", "1")


def finetune_defaults(cuda: bool) -> dict[str, int]:
    return {
        "max_length": int(_get("EDUAI_FINETUNE_MAX_LENGTH", "512" if cuda else "384")),
        "epochs": int(_get("EDUAI_FINETUNE_EPOCHS", "4" if cuda else "3")),
    }


def threshold_for(count: int) -> int:
    """The highest training threshold ``count`` teacher grades have reached (0 = none yet)."""
    if count >= THRESHOLD_STEP_AFTER:
        return (count // THRESHOLD_STEP_AFTER) * THRESHOLD_STEP_AFTER
    reached = [t for t in THRESHOLDS if t <= count]
    return reached[-1] if reached else 0
