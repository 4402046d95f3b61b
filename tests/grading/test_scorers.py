"""The scorers and their shared pieces, on plain arrays (no database)."""

from __future__ import annotations

import math
import random
import time

import numpy as np
import pytest
from scipy.stats import spearmanr

from grading.scoring.base import (
    Range,
    Rubric,
    TrainingSet,
    conformal_radius,
    interval,
    qwk,
    round_to_rubric,
    validation_mask,
)
from grading.scoring.fast import FastScorer
from grading.scoring.features import feature_names, linguistic_features
from tests.grading.essays import chinese_essay, graded_essays


def _set(pairs, rubric, language="en", embeddings=None):
    return TrainingSet(
        ids=tuple(range(1, len(pairs) + 1)),
        texts=tuple(t for t, _ in pairs),
        targets=np.array([[q] + [min(r.max_score, q // 2) for r in rubric.traits] for _, q in pairs], dtype=float),
        rubric=rubric,
        language=language,
        embeddings=embeddings,
    )


def test_fast_scorer_learns_quality_from_a_few_dozen_essays(tmp_path):
    # given 42 graded essays (quality 0-6) and a rubric with one trait
    rubric = Rubric(0, 6, traits=(Range("organization", 0, 3),))
    train = _set(graded_essays(42, seed=1), rubric)
    # when the fast scorer trains and predicts 28 unseen essays
    report = FastScorer.fit(train, tmp_path)
    scorer = FastScorer.load(tmp_path)
    test = graded_essays(28, seed=2)
    raw = scorer.predict([t for t, _ in test])
    truth = np.array([q for _, q in test])
    # then its scores follow quality on both heads, and it took seconds
    assert raw.shape == (28, 2)
    assert qwk(truth, raw[:, 0], 0, 6) > 0.7
    assert spearmanr(raw[:, 1], truth).statistic > 0.6
    assert report.seconds < 30


def test_fast_scorer_uses_embeddings_when_given(tmp_path):
    rubric = Rubric(0, 6)
    pairs = graded_essays(30, seed=3)
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(30, 8)).astype(np.float32)
    FastScorer.fit(_set(pairs, rubric, embeddings=emb), tmp_path, embedding_key="enc:L64:fp")
    scorer = FastScorer.load(tmp_path)
    assert scorer.uses_embeddings and scorer.embedding_key == "enc:L64:fp"
    assert scorer.predict([pairs[0][0]], emb[:1]).shape == (1, 1)
    with pytest.raises(ValueError, match="embeddings"):
        scorer.predict([pairs[0][0]], None)


def test_fast_scorer_reads_chinese_through_characters_and_words(tmp_path):
    rng = random.Random(5)
    pairs = [(chinese_essay(i % 3, rng), i % 3) for i in range(36)]
    FastScorer.fit(_set(pairs, Rubric(0, 2), language="zh"), tmp_path)
    scorer = FastScorer.load(tmp_path)
    test = [(chinese_essay(i % 3, rng), i % 3) for i in range(18)]
    raw = scorer.predict([t for t, _ in test])
    assert qwk([q for _, q in test], raw[:, 0], 0, 2) > 0.6


def test_fast_scorer_survives_tiny_training_sets(tmp_path):
    pairs = graded_essays(6, seed=4)
    FastScorer.fit(_set(pairs, Rubric(0, 6)), tmp_path)
    raw = FastScorer.load(tmp_path).predict(["", "x" * 10, pairs[0][0]])
    assert raw.shape == (3, 1) and np.all(np.isfinite(raw))


def test_features_handle_empty_markup_and_huge_text_without_error():
    texts = ["", "   ", "<script>alert('x')</script><b>Bold</b> claim.", "word. " * 20000, "\x00\ufffd junk"]
    started = time.perf_counter()
    feats = linguistic_features(texts, "en")
    assert feats.shape == (5, len(feature_names("en"))) and np.all(np.isfinite(feats))
    assert time.perf_counter() - started < 10
    assert feats[2, feature_names("en").index("markup_ratio")] > 0
    zh = linguistic_features(["", "首先，读书使人明智。其次，读书使人快乐。"], "zh")
    assert zh.shape == (2, len(feature_names("zh"))) and zh[0].sum() == 0 and zh[1].sum() > 0


def test_conformal_radius_is_the_finite_sample_quantile():
    residuals = np.arange(1, 20, dtype=float)  # 19 residuals: ceil(20 * 0.9) = 18th smallest
    assert conformal_radius(residuals, 0.9) == 18.0
    assert math.isinf(conformal_radius(residuals[:8], 0.9))  # 8 < 9: no finite radius has the guarantee
    low, high = interval(np.array([5.4, 0.2, 2.6]), 1.0, 0, 6)
    assert list(low) == [5, 0, 2] and list(high) == [6, 1, 3]  # rubric points within 1.0 of raw
    low, high = interval(np.array([2.6]), 0.05, 0, 6)  # no rubric point that close: the rounded score
    assert (low[0], high[0]) == (3, 3)
    low, high = interval(np.array([3.0]), math.inf, 0, 6)
    assert (low[0], high[0]) == (0, 6)


def test_conformal_interval_covers_about_as_stated():
    # Split-conformal coverage is exact in expectation: ceil((n+1)0.9)/(n+1) = 181/201 for n = 200.
    rng = np.random.default_rng(1)
    coverages = []
    for _ in range(60):
        radius = conformal_radius(rng.standard_t(4, size=200), 0.9)
        coverages.append(np.mean(np.abs(rng.standard_t(4, size=2000)) <= radius))
    assert 0.89 <= np.mean(coverages) <= 0.915


def test_validation_split_is_stable_and_sized():
    ids = list(range(1000, 1100))
    mask = validation_mask(ids)
    assert mask.sum() == 20
    assert np.array_equal(mask, validation_mask(ids))
    small = validation_mask(ids[:12])
    assert small.sum() == 4  # min(10, 12 // 3)
    assert validation_mask(ids[:2]).sum() == 0


def test_rounding_and_qwk_on_the_rubric_scale():
    assert list(round_to_rubric([-1.0, 2.4, 2.6, 9.0], 0, 6)) == [0, 2, 3, 6]
    assert qwk([0, 1, 2, 3], [0.1, 1.2, 1.8, 3.4], 0, 3) == 1.0
    assert qwk([0, 1, 2, 3], [3, 2, 1, 0], 0, 3) < 0
