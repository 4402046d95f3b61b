"""The fast scorer's text views: word pairs, the character n-grams and the Gram matrix behind them.

What a teacher would notice: an essay that uses the same words in a better order scores higher
once the graded essays show that order matters. The helpers are checked against what they
replace (scikit-learn's analyzer, a plain sparse product), so a faster version cannot quietly
change the scores.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import spearmanr
from sklearn.feature_extraction.text import TfidfVectorizer

from grading.scoring import fast
from grading.scoring.base import Rubric, TrainingSet
from grading.scoring.fast import FastScorer
from grading.scoring.features import char_wb_3_4, english_word_ngrams

FILLER = "river lamp quiet window garden paper stone cloud music bread".split()


def _ordered_essay(rng: random.Random, score: int) -> str:
    # The same words in every essay: `score` times "deeply moving", the rest "moving deeply".
    # Only the order of the two words tells the scores apart.
    words = [rng.choice(FILLER) for _ in range(30)]
    pairs = ["deeply moving"] * score + ["moving deeply"] * (3 - score)
    for pair in pairs:
        words.insert(rng.randrange(len(words) + 1), pair)
    return " ".join(words) + "."


def test_the_order_of_words_counts_when_the_graded_essays_show_it(tmp_path):
    # given 80 graded essays (0-3) whose scores depend only on the order of two words
    rng = random.Random(3)
    train = [(_ordered_essay(rng, s), s) for s in [0, 1, 2, 3] * 20]
    test = [(_ordered_essay(rng, s), s) for s in [0, 1, 2, 3] * 10]
    data = TrainingSet(
        ids=tuple(range(1, len(train) + 1)),
        texts=tuple(t for t, _ in train),
        targets=np.array([[float(s)] for _, s in train]),
        rubric=Rubric(0, 3),
    )
    # when the fast scorer trains on them and scores 40 new essays
    FastScorer.fit(data, tmp_path)
    raw = FastScorer.load(tmp_path).predict([t for t, _ in test])[:, 0]
    # then it ranks them by that order (single words and character n-grams cannot: same counts)
    assert spearmanr(raw, [s for _, s in test]).statistic > 0.6


def test_english_word_ngrams_are_the_words_then_their_pairs_without_placeholders():
    words = ["dear", "the", "cat", "sat"]
    assert english_word_ngrams("Dear @CAPS1, the Cat sat.") == [*words, "dear the", "the cat", "cat sat"]
    assert english_word_ngrams("") == []
    assert english_word_ngrams("one") == ["one"]


@pytest.mark.parametrize(
    "text",
    ["", "a", "ab", "Hello  World", "tabs\tand\nnew\r\nlines  ", "naïve ÜBER façade", "x" * 40, "Dear @CAPS1, yes!"],
)
def test_char_wb_3_4_gives_exactly_scikit_learns_char_wb_ngrams(text):
    reference = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4)).build_analyzer()
    assert char_wb_3_4(text) == reference(text)


def test_the_gram_matrix_matches_the_sparse_product(monkeypatch):
    # given a TF-IDF-like matrix with columns in nearly every row and columns in few rows
    rng = np.random.default_rng(0)
    common = rng.random((60, 30)) * (rng.random((60, 30)) < 0.9)
    rare = rng.random((60, 400)) * (rng.random((60, 400)) < 0.02)
    X = sp.csr_matrix(np.hstack([rare[:, :200], common, rare[:, 200:]]))
    # when the dense blocks are small, so that several are needed
    monkeypatch.setattr(fast, "DENSE_CHUNK", 7)
    gram = fast._gram(X)
    # then it is the plain product, and the common columns really took the dense path
    np.testing.assert_allclose(gram, (X @ X.T).toarray(), rtol=0, atol=1e-12)
    assert (np.bincount(X.indices, minlength=X.shape[1]) > fast.DENSE_DF * X.shape[0]).sum() >= 30
