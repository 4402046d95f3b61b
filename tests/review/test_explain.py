"""Evidence: sentence splitting, occlusion attribution, similar essays, rubric feedback."""

from __future__ import annotations

import numpy as np
import pytest
from django.utils import translation

from grading.review import explain
from grading.review.data import FeedbackItem


def test_sentences_of_english_and_chinese_essays():
    text = "I live by a river. It floods (sometimes!) in spring.\nWe pay 3.5 dollars, e.g. for sand. Done"
    spans = explain.sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "I live by a river.",
        "It floods (sometimes!) in spring.",
        "We pay 3.5 dollars, e.g. for sand.",
        "Done",
    ]
    zh = "首先，阅读开阔视野。其次，书中有智慧！我们应当坚持"
    assert [zh[s:e] for s, e in explain.sentence_spans(zh)] == [
        "首先，阅读开阔视野。",
        "其次，书中有智慧！",
        "我们应当坚持",
    ]
    assert explain.sentence_spans("   \n  ") == []


def test_occlusion_credits_the_sentences_the_model_counts():
    # a "model" that scores the number of times "river" appears: removing a river sentence costs 1
    text = "The river is wide. I like bread. The river floods."
    spans = explain.sentence_spans(text)

    def predict(texts):
        return np.array([[t.count("river")] for t in texts], dtype=float)

    base, deltas = explain.occlusion(text, spans, predict)
    assert base == 2.0
    assert deltas == [1.0, 0.0, 1.0]


def test_long_essays_are_attributed_in_bounded_chunks(settings):
    settings.EDUAI_REVIEW_MAX_SENTENCES = "4"
    text = " ".join(f"Sentence {i} here." for i in range(10))
    spans = explain.sentence_spans(text)
    calls = []

    def predict(texts):
        calls.append(len(texts))
        return np.array([[len(t)] for t in texts], dtype=float)

    _base, deltas = explain.occlusion(text, spans, predict)
    assert calls == [1 + 4]  # the whole essay plus four chunks of (at most) three sentences
    assert len(deltas) == 10 and deltas[0] == deltas[1] == deltas[2]


def test_stored_spans_that_no_longer_fit_the_text_are_dropped():
    sentences = explain.sentences_from("Short.", [{"start": 0, "end": 6, "delta": 0.5}, {"start": 3, "end": 99}])
    assert [(s.text, s.direction) for s in sentences] == [("Short.", "up")]


def test_feedback_comments_follow_the_rubric_bands():
    items = explain.feedback_items(
        score=5, min_score=0, max_score=6,
        traits=[("Ideas", "Clear ideas.", 0, 4, 4), ("Voice", "", 0, 4, 2), ("Conventions", "Spelling.", 0, 4, 1),
                ("Style", "", 0, 4, None)],
    )  # fmt: skip
    assert [(i.key, i.code) for i in items] == [
        ("overall", "overall-high"),
        ("trait:Ideas", "trait-strength"),
        ("trait:Voice", "trait-developing"),
        ("trait:Conventions", "trait-focus"),
    ]
    with translation.override("en"):  # an earlier request in this thread may have left another active
        assert explain.feedback_text(items[3]) == "Focus on Conventions next (1 of 4). What it asks for: Spelling."
    stored = explain.feedback_to_stored(items)
    assert explain.feedback_from_stored([*stored, {"code": "x"}]) == items


def test_feedback_is_rendered_in_the_readers_language():
    item = FeedbackItem(code="trait-strength", trait="Ideas", score=4, min_score=0, max_score=4)
    with translation.override("zh-hans"):
        text = explain.feedback_text(item)
    assert "Ideas" in text and "strength" not in text


@pytest.mark.django_db
def test_similar_graded_essays_come_from_stored_embeddings(rw, make_sub):
    from grading import api as grading
    from grading.models import SubmissionEmbedding

    def store(sub, vector):
        v = np.asarray(vector, dtype="<f4")
        SubmissionEmbedding.objects.create(submission=sub, encoder_key="k", dim=len(v), vector=v.tobytes())

    query = make_sub(text="Query essay.")
    store(query, [1, 0, 0])
    near, far, ungraded = make_sub(text="Near essay."), make_sub(text="Far essay."), make_sub(text="Ungraded.")
    store(near, [0.9, 0.1, 0])
    store(far, [0, 0, 1])
    store(ungraded, [1, 0, 0])
    grading.teacher_grade_set(submission_id=near.pk, score=5, grader_id=rw.world.teacher.pk, trigger_training=False)
    grading.teacher_grade_set(submission_id=far.pk, score=1, grader_id=rw.world.teacher.pk, trigger_training=False)
    found = explain.similar_graded(submission_id=query.pk, assignment_id=rw.assignment.pk, k=3)
    assert [(n.submission_id, n.score) for n in found] == [(near.pk, 5), (far.pk, 1)]
    assert found[0].similarity == pytest.approx(0.9 / np.sqrt(0.82), abs=1e-4) and found[0].excerpt == "Near essay."
