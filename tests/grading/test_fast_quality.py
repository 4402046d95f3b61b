"""The fast scorer's behaviour on small training sets the tests write themselves (no research data).

What a teacher would notice: from 20-50 graded essays it already follows quality, the essays a
teacher marked as model mistakes count more, and a score never leaves the rubric, however odd
the essay or the training set.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy.stats import spearmanr

from grading.scoring.base import Rubric, TrainingSet, qwk
from grading.scoring.fast import FastScorer
from tests.grading.essays import chinese_essay, graded_essays


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


def _fit_predict(tmp_path, train, test_texts, test_embeddings=None):
    FastScorer.fit(train, tmp_path)
    return FastScorer.load(tmp_path).predict(test_texts, test_embeddings)[:, 0]


@pytest.mark.parametrize("n", [20, 50])
def test_a_few_dozen_graded_essays_are_enough_to_follow_quality(tmp_path, n):
    # given n graded essays (quality 0-6; length, vocabulary and spelling vary with it)
    train = _set(graded_essays(n, seed=11), Rubric(0, 6))
    test = graded_essays(42, seed=12)
    # when the scorer trains on them and scores 42 unseen essays
    raw = _fit_predict(tmp_path, train, [t for t, _ in test])
    # then its scores agree with quality far beyond chance, inside the rubric
    truth = [q for _, q in test]
    assert qwk(truth, raw, 0, 6) > 0.6
    assert 0 <= raw.min() and raw.max() <= 6


def test_the_embedding_views_learn_when_the_text_alone_cannot_tell(tmp_path):
    # given 40 essays with the same text whose stored embeddings carry the score (plus noise)
    rng = np.random.default_rng(3)
    direction = rng.normal(size=32)
    direction /= np.linalg.norm(direction)

    def embed(q):
        v = rng.normal(size=(len(q), 32)) * 0.5 + np.outer(np.asarray(q) - 3.0, direction)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    q_train = [i % 7 for i in range(40)]
    q_test = [i % 7 for i in range(35)]
    text = "The same words for every essay, so only the embedding can tell them apart."
    train = _set([(text, q) for q in q_train], Rubric(0, 6), embeddings=embed(q_train))
    # when it scores 35 new essays from their embeddings
    raw = _fit_predict(tmp_path, train, [text] * len(q_test), embed(q_test))
    # then the scores follow the signal the embeddings carry
    assert spearmanr(raw, q_test).statistic > 0.7


def test_weights_decide_between_conflicting_teachers(tmp_path):
    # given every essay twice: once scored by quality, once with the scale reversed
    pairs = graded_essays(35, seed=21)
    texts = [t for t, _ in pairs] * 2
    scores = [q for _, q in pairs] + [6 - q for _, q in pairs]
    test = graded_essays(28, seed=22)
    truth = [q for _, q in test]

    def fit(weights, name):
        data = _set(list(zip(texts, scores, strict=True)), Rubric(0, 6), weights=np.array(weights, dtype=float))
        return _fit_predict(tmp_path / name, data, [t for t, _ in test])

    # when the first teacher's grades weigh 5 times more, and then the second's
    with_first = fit([5.0] * 35 + [1.0] * 35, "first")
    with_second = fit([1.0] * 35 + [5.0] * 35, "second")
    # then the scores follow whichever teacher the weights favour
    assert spearmanr(with_first, truth).statistic > 0.5
    assert spearmanr(with_second, truth).statistic < -0.5


def test_the_chinese_path_learns_from_thirty_essays(tmp_path):
    # given 30 graded Chinese essays (0-2) and no encoder for Chinese
    rng = random.Random(31)
    train = _set([(chinese_essay(i % 3, rng), i % 3) for i in range(30)], Rubric(0, 2), language="zh")
    test = [(chinese_essay(i % 3, rng), i % 3) for i in range(30)]
    # when it scores 30 new essays through characters, jieba words and structure features
    raw = _fit_predict(tmp_path, train, [t for t, _ in test])
    # then the scores follow quality
    assert qwk([q for _, q in test], raw, 0, 2) > 0.6
