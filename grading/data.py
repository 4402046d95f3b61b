"""Frozen data passed out of grading and across task boundaries (never querysets or models)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ScoreBatchResult:
    """What one scoring run did. Ids only: the predictions are in the database."""

    scored: tuple[int, ...] = ()
    failed: tuple[tuple[int, str], ...] = ()
    skipped: tuple[int, ...] = ()  # already scored by the serving model, or not claimable now
    waiting: tuple[int, ...] = ()  # no model serves the assignment yet (embeddings stored)
    seconds: float = 0.0
    # The failed ids worth another try (model failures: an exception, a non-finite output, a
    # prediction the database refused); the other failed ids are bad input, failed for good.
    retry: tuple[int, ...] = ()

    @property
    def retryable(self) -> bool:
        """A model failure (not the essay's fault): worth retrying later."""
        return bool(self.retry)


@dataclass(frozen=True)
class TrainResult:
    model_id: int
    version: int
    method: str
    activated: bool
    val_qwk: float | None
    decision: str
    seconds: float
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class PredictionData:
    id: int
    submission_id: int
    model_id: int
    model_version: int
    method: str
    score: int
    raw_score: float
    interval_low: float
    interval_high: float
    interval_coverage: float
    trait_scores: dict[str, dict[str, float]]
    seconds: float
