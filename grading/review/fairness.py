"""Agreement and fairness arithmetic on plain numbers (no database): tested against hand counts.

- ``agreement(model, teacher, lo, hi)``: quadratic weighted kappa (Cohen 1968; scikit-learn's
  ``cohen_kappa_score`` over every rubric point ``lo..hi``), exact agreement (same score),
  adjacent agreement (within one rubric point) and mean signed difference (model minus teacher).
  QWK is None when it is undefined (fewer than two pairs, or both raters used one single score).
- ``signed_differences(rows)``: mean model-minus-teacher difference per group with a normal
  95% interval (mean +- 1.96 s / sqrt(n); None below 2 pairs). A positive mean: the model
  scores that group higher than its teachers do.
- ``length_band(text, language)``: essay length bands in words (Chinese: Han characters, about
  1.5 per English word in translated prose), so differences by length are visible.
- ``distribution_drift(a, b, lo, hi)``: how far two model versions' score distributions are
  apart: mean shift, Wasserstein-1 distance (rubric points) and the population stability index
  (PSI; Siddiqi 2006: < 0.1 stable, 0.1-0.25 moderate, > 0.25 large shift).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

# Z for a two-sided 95% normal interval.
Z95 = 1.959964
# PSI adds this to empty bins (a share of 0 makes the log infinite); 1e-4 is the usual choice.
PSI_EPSILON = 1e-4
# Band edges in words (English) and Han characters (Chinese): short < 150 words is about a
# paragraph; 350+ is a full school essay (ASAP essay sets 1-2 average ~350-400 words).
BANDS_WORDS = (150, 350)
BANDS_HAN = (225, 525)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Agreement:
    n: int
    qwk: float | None
    exact: float | None
    adjacent: float | None
    mean_signed_difference: float | None


@dataclass(frozen=True)
class GroupDifference:
    group: str
    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class Drift:
    n_a: int
    n_b: int
    mean_a: float | None
    mean_b: float | None
    mean_shift: float | None
    wasserstein: float | None
    psi: float | None


def qwk(model: Sequence[int], teacher: Sequence[int], lo: int, hi: int) -> float | None:
    """Cohen's quadratic weighted kappa over the rubric points ``lo..hi``.

    The textbook formula on a k x k confusion matrix (equal to scikit-learn's
    ``cohen_kappa_score(weights="quadratic", labels=range(lo, hi + 1))``, which a test checks);
    written out because the queue page computes it a few times per request and sklearn's input
    validation costs ~10 ms a call, this ~50 us.
    """
    if len(model) < 2:
        return None
    k = int(hi) - int(lo) + 1
    m = np.clip(np.asarray(model, dtype=int), lo, hi) - lo
    t = np.clip(np.asarray(teacher, dtype=int), lo, hi) - lo
    observed = np.zeros((k, k))
    np.add.at(observed, (t, m), 1.0)
    i, j = np.indices((k, k))
    weights = (i - j) ** 2 / max(1, (k - 1) ** 2)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / len(m)
    chance = float((weights * expected).sum())
    if chance == 0:
        return None  # both raters gave one single score: kappa is 0/0
    return 1.0 - float((weights * observed).sum()) / chance


def agreement(model: Sequence[int], teacher: Sequence[int], lo: int, hi: int) -> Agreement:
    if len(model) != len(teacher):
        raise ValueError("model and teacher scores must pair up")
    n = len(model)
    if n == 0:
        return Agreement(0, None, None, None, None)
    m = np.asarray(model, dtype=float)
    t = np.asarray(teacher, dtype=float)
    diff = m - t
    return Agreement(
        n=n,
        qwk=qwk(model, teacher, lo, hi),
        exact=float(np.mean(diff == 0)),
        adjacent=float(np.mean(np.abs(diff) <= 1)),
        mean_signed_difference=float(np.mean(diff)),
    )


def signed_differences(rows: Iterable[tuple[str, int, int]]) -> list[GroupDifference]:
    """``rows``: (group, model score, teacher score). Groups sorted by name."""
    by_group: dict[str, list[float]] = defaultdict(list)
    for group, model, teacher in rows:
        by_group[group].append(float(model) - float(teacher))
    out = []
    for group in sorted(by_group):
        d = np.asarray(by_group[group])
        mean = float(d.mean())
        low: float | None = None
        high: float | None = None
        if len(d) >= 2:
            half = Z95 * float(d.std(ddof=1)) / math.sqrt(len(d))
            low, high = mean - half, mean + half
        out.append(GroupDifference(group=group, n=len(d), mean=mean, ci_low=low, ci_high=high))
    return out


def essay_length(text: str, language: str) -> int:
    if language == "zh":
        return len(_HAN.findall(text))
    return len(text.split())


def length_band(text: str, language: str) -> str:
    """'short', 'medium' or 'long' (see BANDS_WORDS / BANDS_HAN)."""
    edges = BANDS_HAN if language == "zh" else BANDS_WORDS
    n = essay_length(text, language)
    if n < edges[0]:
        return "short"
    if n < edges[1]:
        return "medium"
    return "long"


def distribution_drift(a: Sequence[int], b: Sequence[int], lo: int, hi: int) -> Drift:
    if not a or not b:
        return Drift(len(a), len(b), _mean(a), _mean(b), None, None, None)
    from scipy.stats import wasserstein_distance

    points = np.arange(lo, hi + 1)
    pa = np.array([np.sum(np.asarray(a) == p) for p in points], dtype=float) / len(a)
    pb = np.array([np.sum(np.asarray(b) == p) for p in points], dtype=float) / len(b)
    pa_s, pb_s = pa + PSI_EPSILON, pb + PSI_EPSILON
    pa_s, pb_s = pa_s / pa_s.sum(), pb_s / pb_s.sum()
    psi = float(np.sum((pb_s - pa_s) * np.log(pb_s / pa_s)))
    ma, mb = _mean(a), _mean(b)
    return Drift(
        n_a=len(a),
        n_b=len(b),
        mean_a=ma,
        mean_b=mb,
        mean_shift=None if ma is None or mb is None else mb - ma,
        wasserstein=float(wasserstein_distance(a, b)),
        psi=psi,
    )


def _mean(values: Sequence[int]) -> float | None:
    return float(np.mean(values)) if len(values) else None
