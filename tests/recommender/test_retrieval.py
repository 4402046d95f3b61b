"""The lexical half of ask-the-course on its own: terms, sentences, normalised BM25, fusion."""

from __future__ import annotations

import numpy as np
import pytest

from recommender import retrieval
from recommender.retrieval import CourseIndex, IndexedPassage


def test_terms_keep_numbers_letters_and_stems_and_drop_question_words():
    assert retrieval.terms("What does 3:2 mean in a ratio?") == ["3", "2", "ratio"]
    assert retrieval.terms("Adding fractions; x² + y² = r²") == ["add", "fraction", "x", "2", "y", "2", "r", "2"]
    assert retrieval.terms("") == []


def test_chinese_terms_have_jieba_words_and_character_bigrams():
    t = retrieval.terms("勾股定理")
    assert "勾股定理" in t and "勾股" in t and "股定" in t


def test_sentence_spans_keep_decimals_and_cover_chinese():
    text = "Pi is about 3.14. It never ends! 圆周率是无理数。它不循环。"
    spans = [text[a:b] for a, b in retrieval.sentence_spans(text)]
    assert spans == ["Pi is about 3.14.", "It never ends!", "圆周率是无理数。", "它不循环。"]


def _index(texts: list[str], vectors=None) -> CourseIndex:
    return CourseIndex(
        [IndexedPassage(i, i, f"R{i}", t, tuple(retrieval.terms(t))) for i, t in enumerate(texts)], vectors
    )


def test_lexical_score_is_the_idf_weighted_share_of_question_terms():
    index = _index(["Cornell notes have a cue column.", "Fractions need a common denominator.", "Ratios compare."])
    full = index.lexical(retrieval.terms("cornell cue column"))
    assert full[0] == pytest.approx(1.0, abs=0.15) and full[1] == 0 and full[2] == 0
    half = index.lexical(retrieval.terms("cornell photosynthesis"))
    assert 0.3 < half[0] < 0.7  # one of two equally rare words is present
    assert index.lexical([]).sum() == 0


def test_search_returns_one_passage_per_resource_and_respects_the_allowed_mask():
    passages = [
        IndexedPassage(
            1, 10, "A", "Fractions need a common denominator.", tuple(retrieval.terms("fraction common denominator"))
        ),
        IndexedPassage(
            2, 10, "A", "More on fractions and denominators.", tuple(retrieval.terms("fraction denominator"))
        ),
        IndexedPassage(3, 20, "B", "Fractions in recipes.", tuple(retrieval.terms("fraction recipe"))),
    ]
    index = CourseIndex(passages, None)
    hits = index.search("fraction denominator", None)
    assert [index.passages[i].resource_id for i, *_ in hits] == [10, 20]
    masked = index.search("fraction denominator", None, allowed=np.array([False, False, True]))
    assert [index.passages[i].resource_id for i, *_ in masked] == [20]


def test_semantic_and_lexical_are_fused_when_vectors_exist():
    vectors = np.array([[1, 0], [0, 1]], dtype=np.float32)
    index = _index(["alpha beta", "gamma delta"], vectors)
    hits = index.search("gamma", np.array([1.0, 0.0], dtype=np.float32))
    # passage 0: semantic 1, lexical 0 -> 0.6; passage 1: semantic 0, lexical 1 -> 0.4
    assert hits[0][0] == 0 and hits[0][1] == pytest.approx(retrieval.SEMANTIC_WEIGHT)
    assert hits[1][1] == pytest.approx(1 - retrieval.SEMANTIC_WEIGHT)


def test_best_sentence_picks_the_one_with_the_question_terms():
    text = "Fractions are parts of a whole. To add fractions find a common denominator. Then simplify."
    q = retrieval.terms("how to add fractions")
    a, b = retrieval.best_sentence(text, q, idf={t: 1.0 for t in q}, query_vector=None, sentence_vectors=None)
    assert text[a:b] == "To add fractions find a common denominator."
