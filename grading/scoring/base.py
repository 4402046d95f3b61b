"""What every scorer shares: the rubric, the training set, metrics, rounding and conformal intervals.

A scorer (``fast.FastScorer``, ``finetuned.FineTunedScorer``) is trained from a ``TrainingSet``
into a folder and loaded back from it; ``predict`` returns raw (unrounded) scores, one column per
head (column 0 holistic, then one per rubric trait). Everything here is NumPy and scikit-learn:
the scorers never touch the database, so they are tested on plain arrays.

Intervals are split-conformal (Vovk et al. 2005; Lei et al. 2018): on a validation set the model
never trained on, the radius is the ceil((n+1)(1-alpha))-th smallest absolute residual; then
[raw - radius, raw + radius] holds a new essay's true score with probability >= 1 - alpha
(marginally, for exchangeable essays). With fewer than 1/alpha - 1 validation essays no finite
radius has that guarantee, and the interval is the whole rubric range.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import cohen_kappa_score


@dataclass(frozen=True)
class Range:
    name: str
    min_score: int
    max_score: int

    @property
    def width(self) -> int:
        return self.max_score - self.min_score


@dataclass(frozen=True)
class Rubric:
    min_score: int
    max_score: int
    traits: tuple[Range, ...] = ()
    step: int = 1  # integer rubrics (courses.Assignment); kept explicit for rounding

    @property
    def heads(self) -> tuple[Range, ...]:
        return (Range("score", self.min_score, self.max_score), *self.traits)


@dataclass(frozen=True)
class TrainingSet:
    """Teacher-graded essays of one assignment. ``targets``: (n, heads), NaN = no trait score."""

    ids: tuple[int, ...]
    texts: tuple[str, ...]
    targets: np.ndarray
    rubric: Rubric
    language: str = "en"
    embeddings: np.ndarray | None = None  # (n, dim) stored frozen-encoder embeddings, or None
    # (n,) training sample weights (None: all 1). The review loop weights up essays whose
    # proposal a teacher marked as a model mistake (grading.training.sample_weight_providers).
    weights: np.ndarray | None = None

    def subset(self, mask: np.ndarray) -> TrainingSet:
        idx = np.flatnonzero(mask)
        return TrainingSet(
            ids=tuple(self.ids[i] for i in idx),
            texts=tuple(self.texts[i] for i in idx),
            targets=self.targets[idx],
            rubric=self.rubric,
            language=self.language,
            embeddings=None if self.embeddings is None else self.embeddings[idx],
            weights=None if self.weights is None else self.weights[idx],
        )

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class FitReport:
    hyperparameters: dict[str, object]
    base_model: str
    embedding_key: str
    seconds: float
    extra: dict[str, object] = field(default_factory=dict)


def round_to_rubric(raw: np.ndarray | float, lo: int, hi: int, step: int = 1) -> np.ndarray:
    """Nearest rubric point (half away from zero is irrelevant here: ties are measure-zero)."""
    values = np.asarray(raw, dtype=float)
    return np.clip(lo + np.rint((values - lo) / step) * step, lo, hi).astype(int)


def qwk(y_true: Sequence[float] | np.ndarray, raw_pred: Sequence[float] | np.ndarray, lo: int, hi: int) -> float:
    """Quadratic weighted kappa on the rubric's integer scale (sklearn), NaN targets ignored."""
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(raw_pred, dtype=float)
    keep = ~np.isnan(y)
    if keep.sum() < 2:
        return float("nan")
    labels = list(range(lo, hi + 1))
    yt = np.clip(np.rint(y[keep]), lo, hi).astype(int)
    yp = round_to_rubric(p[keep], lo, hi)
    if len(set(yt)) == 1 and len(set(yp)) == 1:
        return 1.0 if yt[0] == yp[0] else 0.0
    value = cohen_kappa_score(yt, yp, weights="quadratic", labels=labels)
    return float(0.0 if math.isnan(value) else value)


def conformal_radius(residuals: Sequence[float], coverage: float) -> float:
    """Split-conformal radius for ``coverage``; ``inf`` when too few residuals for a guarantee."""
    r = np.sort(np.abs(np.asarray(residuals, dtype=float)[~np.isnan(np.asarray(residuals, dtype=float))]))
    n = len(r)
    k = math.ceil((n + 1) * coverage)
    if n == 0 or k > n:
        return math.inf
    return float(r[k - 1])


def interval(raw: np.ndarray, radius: float, lo: int, hi: int, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The rubric points within ``radius`` of ``raw``, as [low, high], always holding the rounded score.

    The true score is a rubric point, so {k : |k - raw| <= radius} is the conformal set itself
    (same coverage guarantee); adding the rounded score only adds coverage, and keeps
    ``low <= score <= high`` for the reviewer. Whole rubric range when the radius is infinite.
    """
    raw = np.asarray(raw, dtype=float)
    if not math.isfinite(radius):
        return np.full_like(raw, lo, dtype=float), np.full_like(raw, hi, dtype=float)
    score = round_to_rubric(raw, lo, hi, step)
    low = lo + np.ceil((raw - radius - lo) / step - 1e-9) * step
    high = lo + np.floor((raw + radius - lo) / step + 1e-9) * step
    low = np.clip(np.minimum(low, score), lo, hi)
    high = np.clip(np.maximum(high, score), lo, hi)
    return low.astype(float), high.astype(float)


def stable_fraction(submission_id: int, salt: str = "eduai-val") -> float:
    """A number in [0, 1) fixed by the id: validation membership never depends on arrival order."""
    digest = hashlib.blake2b(f"{salt}:{submission_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def validation_mask(ids: Sequence[int], *, fraction: float = 0.2, minimum: int = 10) -> np.ndarray:
    """Which essays validate: the ``max(fraction*n, min(minimum, n//3))`` with the smallest hash.

    Chosen by a stable hash of the submission id, so the same essay is on the same side in
    every retraining; that lets an older model be re-scored on a newer model's validation essays
    (minus anything it trained on) for a fair comparison.
    """
    n = len(ids)
    if n < 3:
        return np.zeros(n, dtype=bool)
    n_val = max(math.ceil(fraction * n), min(minimum, n // 3))
    order = np.argsort([stable_fraction(i) for i in ids], kind="stable")
    mask = np.zeros(n, dtype=bool)
    mask[order[:n_val]] = True
    return mask
