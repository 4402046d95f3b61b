"""'What helped similar students': collaborative filtering over implicit feedback. Pure
functions (no database), shared by the batch refresh and the simulation.

Contract of ``build_profile``:
- input: per student, the time-ordered list of ``Touch`` (a resource opened/completed, or a
  practice answer with its outcome), the student's mastery vector over ``skill_ids``, and the
  skills of every resource and practice item;
- output: a JSON-able dict ``{"skill_ids", "centroids", "help", "popularity", "baseline"}``
  where ``help[str(cluster)][activity key] = [shrunk gain, n]``.

Method (docs/recommender.md, "What helped similar students"):
- *gain* of a resource touch on each of its skills = share right in the next ``WINDOW``
  practice answers on that skill minus the share right in the previous ``WINDOW`` (both
  needed), minus the skill's *baseline* gain: the same difference measured around every
  practice answer, i.e. what practising alone brings. So a resource is credited only with
  improvement beyond the usual.
- students are grouped by their mastery vectors with k-means (k = students/30, 1..8): "similar
  students". A cluster's gain for a resource is shrunk towards the course-wide gain, which
  is shrunk towards 0 (pseudo-count ``SHRINK`` = 10 each), so one lucky student moves little.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

WINDOW = 5
SHRINK = 10.0
MIN_STUDENTS_PER_CLUSTER = 30
MAX_CLUSTERS = 8
FIT_SAMPLE = 2000


@dataclass(frozen=True, slots=True)
class Touch:
    key: str  # "resource:12" or "practice:7"
    success: float | None = None  # practice answers only


def _mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values))


def _gains_around(outcomes: list[tuple[int, float]], position: int) -> float | None:
    """Share right in the WINDOW answers after ``position`` minus the WINDOW before it
    (``outcomes`` is sorted by position)."""
    lo = bisect.bisect_left(outcomes, (position, -1.0))
    hi = bisect.bisect_right(outcomes, (position, 2.0))
    before = [v for _, v in outcomes[max(0, lo - WINDOW) : lo]]
    after = [v for _, v in outcomes[hi : hi + WINDOW]]
    if not before or not after:
        return None
    return _mean(after) - _mean(before)


def touch_gains(
    history: Sequence[Touch], skills_of: Mapping[str, Sequence[int]]
) -> tuple[list[tuple[str, int, float]], dict[int, list[float]]]:
    """([(resource key, skill, raw gain)], {skill: [gains around practice answers]}) of one student."""
    outcomes: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for pos, t in enumerate(history):
        if t.success is not None:
            for s in skills_of.get(t.key, ()):
                outcomes[s].append((pos, float(t.success)))
    resource_gains: list[tuple[str, int, float]] = []
    seen: set[tuple[str, int]] = set()
    for pos, t in enumerate(history):
        if not t.key.startswith("resource:"):
            continue
        for s in skills_of.get(t.key, ()):
            if (t.key, s) in seen:  # opened then completed: count the first touch once
                continue
            g = _gains_around(outcomes.get(s, []), pos)
            if g is not None:
                seen.add((t.key, s))
                resource_gains.append((t.key, s, g))
    baseline: dict[int, list[float]] = defaultdict(list)
    for s, outs in outcomes.items():
        for pos, _ in outs:
            g = _gains_around(outs, pos)
            if g is not None:
                baseline[s].append(g)
    return resource_gains, baseline


def _clusters(matrix: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    n = matrix.shape[0]
    k = int(min(MAX_CLUSTERS, max(1, n // MIN_STUDENTS_PER_CLUSTER)))
    if k == 1 or matrix.shape[1] == 0:
        return np.zeros(n, dtype=int), matrix.mean(axis=0, keepdims=True) if n else np.zeros((1, matrix.shape[1]))
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    # Fit on at most FIT_SAMPLE students (enough for 8 centroids in ~10 dimensions), then
    # assign everyone; one thread: OpenMP spinning on a busy 2-core box made a 1,000-student
    # fit take seconds instead of milliseconds.
    rng = np.random.default_rng(seed)
    fit_rows = matrix if n <= FIT_SAMPLE else matrix[rng.choice(n, FIT_SAMPLE, replace=False)]
    with threadpool_limits(limits=1):
        km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(fit_rows)
        labels = km.predict(matrix)
    return labels.astype(int), km.cluster_centers_


def assign_cluster(profile: Mapping[str, Any], mastery: Mapping[int, float]) -> int | None:
    """Index of the nearest centroid for a mastery vector (missing skills at the prior 0.3)."""
    centroids = profile.get("centroids")
    skill_ids = profile.get("skill_ids")
    if not centroids or skill_ids is None:
        return None
    if not skill_ids:
        return 0
    vec = np.array([mastery.get(int(s), 0.3) for s in skill_ids], dtype=float)
    dist = ((np.asarray(centroids, dtype=float) - vec) ** 2).sum(axis=1)
    return int(np.argmin(dist))


def build_profile(
    *,
    histories: Mapping[int, Sequence[Touch]],
    mastery: Mapping[int, Mapping[int, float]],
    skill_ids: Sequence[int],
    skills_of: Mapping[str, Sequence[int]],
    seed: int = 0,
) -> dict[str, Any]:
    students = sorted(set(histories) | set(mastery))
    skill_ids = [int(s) for s in skill_ids]
    matrix = np.array([[mastery.get(st, {}).get(s, 0.3) for s in skill_ids] for st in students], dtype=float).reshape(
        len(students), len(skill_ids)
    )
    labels, centroids = _clusters(matrix, seed) if students else (np.zeros(0, dtype=int), np.zeros((1, len(skill_ids))))
    label_of = {st: int(labels[i]) for i, st in enumerate(students)}

    per_touch: list[tuple[int, str, int, float]] = []
    baseline_acc: dict[int, list[float]] = defaultdict(list)
    popularity: dict[str, int] = defaultdict(int)
    for st, hist in histories.items():
        for key in {t.key for t in hist}:
            popularity[key] += 1
        gains, base = touch_gains(hist, skills_of)
        per_touch.extend((label_of.get(st, 0), k, s, g) for k, s, g in gains)
        for s, gs in base.items():
            baseline_acc[s].extend(gs)
    baseline = {s: _mean(gs) for s, gs in baseline_acc.items()}

    overall: dict[str, list[float]] = defaultdict(list)
    by_cluster: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for c, key, s, g in per_touch:
        adj = g - baseline.get(s, 0.0)
        overall[key].append(adj)
        by_cluster[c][key].append(adj)
    global_gain = {k: sum(v) / (len(v) + SHRINK) for k, v in overall.items()}
    help_: dict[str, dict[str, list[float]]] = {}
    for c in range(len(centroids)):
        entry: dict[str, list[float]] = {}
        for key, g in global_gain.items():
            vals = by_cluster.get(c, {}).get(key, [])
            shrunk = (sum(vals) + SHRINK * g) / (len(vals) + SHRINK)
            entry[key] = [round(shrunk, 4), len(vals)]
        help_[str(c)] = entry
    return {
        "skill_ids": skill_ids,
        "centroids": np.round(np.asarray(centroids, dtype=float), 4).tolist(),
        "help": help_,
        "popularity": dict(popularity),
        "baseline": {str(s): round(v, 4) for s, v in baseline.items()},
        "students": len(students),
    }
