"""Prediction intervals of the fast scorer with few teacher grades (issue 3).

With 50 graded essays the 20% hold-out leaves ~10 residuals, and a split-conformal radius from
10 residuals jumps from one assignment to the next. training.py calibrates small sets on 5-fold
out-of-fold residuals over all labelled essays instead; these tests check that the radius built
that way gives about the stated coverage on fresh essays.
"""

from __future__ import annotations

import random

import numpy as np

from grading.scoring.base import Rubric, TrainingSet, conformal_radius, interval, validation_mask
from grading.scoring.fast import FastScorer
from grading.training import CV_FOLDS
from tests.grading.essays import essay

RUBRIC = Rubric(0, 6)


def _noisy_essays(n: int, seed: int) -> list[tuple[str, int]]:
    """Essays of quality 0..6 graded by a teacher who is off by one point a third of the time."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        q = rng.randint(0, 6)
        out.append((essay(q, rng), min(6, max(0, q + rng.choice([-1, 0, 0, 0, 1, 0])))))
    return out


def _set(pairs: list[tuple[str, int]], first_id: int = 1) -> TrainingSet:
    return TrainingSet(
        ids=tuple(range(first_id, first_id + len(pairs))),
        texts=tuple(t for t, _ in pairs),
        targets=np.array([[float(s)] for _, s in pairs]),
        rubric=RUBRIC,
        language="en",
    )


def test_fifty_grades_give_about_the_stated_coverage_on_fresh_essays(tmp_path):
    coverages, radii = [], []
    for seed in (1, 2, 3):
        # given 50 teacher-graded essays, split as model_train splits them
        data = _set(_noisy_essays(50, seed))
        mask = validation_mask(data.ids)
        train, val = data.subset(~mask), data.subset(mask)
        # when the scorer is trained with out-of-fold predictions over all 50 essays
        report = FastScorer.fit(train, tmp_path / str(seed), val=val, cv_folds=CV_FOLDS)
        oof = np.asarray(report.extra["oof_predictions"])
        targets = np.vstack([train.targets, val.targets])
        assert oof.shape == (50, 1)
        radius = conformal_radius(oof[:, 0] - targets[:, 0], 0.9)
        # then the stated 90% interval of the served model holds the grade of most fresh essays
        fresh = _noisy_essays(300, 1000 + seed)
        raw = FastScorer.load(tmp_path / str(seed)).predict([t for t, _ in fresh])[:, 0]
        low, high = interval(raw, radius, 0, 6)
        truth = np.array([s for _, s in fresh])
        coverages.append(float(np.mean((low <= truth) & (truth <= high))))
        radii.append(radius)
    assert all(np.isfinite(radii)), radii
    assert 0.80 <= np.mean(coverages) <= 0.98, coverages
    # (per assignment too: the 10-residual hold-out radius gave seed 1 a 2.8-point radius, 100%)
    assert 0.75 <= min(coverages) and max(coverages) <= 0.99, coverages
    # and the interval is informative: narrower than the whole 0-6 rubric
    assert max(radii) < 3, radii


def test_out_of_fold_predictions_come_only_when_asked(tmp_path):
    data = _set(_noisy_essays(30, 5))
    report = FastScorer.fit(data, tmp_path)
    assert report.extra["oof_predictions"] is None
