"""The fast scorer's behaviour on small training sets the tests write themselves (no research data).

What a teacher would notice: from 20-50 graded essays it already follows quality, the essays a
teacher marked as model mistakes count more, and a score never leaves the rubric, however odd
the essay or the training set.
"""

from __future__ import annotations

import random

import numpy as np

from grading.scoring.base import Rubric, TrainingSet
from grading.scoring.fast import FastScorer
from tests.grading.essays import graded_essays


def _set(pairs, rubric, *, weights=None, language="en", embeddings=None):
    return TrainingSet(
        ids=tuple(range(1, len(pairs) + 1)),
        texts=tuple(t for t, _ in pairs),
        targets=np.array([[float(q)] for _, q in pairs]),
        rubric=rubric,
        language=language,
        embeddings=embeddings,
        weights=weights,
    )


def test_scores_stay_in_the_rubric_range_for_extreme_essays_and_a_tiny_set(tmp_path):
    # given 24 essays on a 0-10 rubric whose scores do not follow the text (pure noise)
    rng = random.Random(7)
    pairs = [(t, rng.choice([0, 10])) for t, _ in graded_essays(24, seed=9)]
    FastScorer.fit(_set(pairs, Rubric(0, 10)), tmp_path)
    # when it scores essays far outside anything it saw
    odd = ["", "x", "word " * 5000, "Consequently, moreover. " * 400, "i " * 3000]
    raw = FastScorer.load(tmp_path).predict(odd)
    # then every score is a finite point of the rubric range
    assert np.all(np.isfinite(raw)) and raw.min() >= 0 and raw.max() <= 10, raw.ravel()
