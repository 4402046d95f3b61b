"""Why the model gave a score: occlusion by sentence, similar graded essays, rubric feedback.

Contracts:

- ``sentence_spans(text)``: character spans of the sentences of an English or Chinese essay
  (terminators . ! ? and 。！？；, line breaks; "3.5" and "e.g." do not end a sentence).
- ``occlusion(text, spans, predict)``: the attribution of each sentence is
  ``raw(whole essay) - raw(essay without the sentence)`` with the serving model itself
  (Zeiler & Fergus 2014's occlusion, applied to text units as in Li, Monroe & Jurafsky 2016
  "Understanding neural networks through representation erasure"). Positive: the sentence
  pushed the score up. One batch of ``len(spans) + 1`` model calls; above
  ``conf.max_sentences()`` sentences, consecutive sentences are removed together in chunks
  and share their chunk's effect equally, so the cost stays bounded.
- ``model_raw_scores(model_id, texts)``: raw scores (n, heads) of a stored model for arbitrary
  texts, computing embeddings in memory (nothing is stored: these texts are not submissions).
- ``similar_graded(submission_id, k)``: the ``k`` most similar teacher-graded essays of the same
  assignment by cosine similarity of grading's stored embeddings (same encoder key).
- ``feedback_items(...)`` / ``feedback_text(item)``: short comments from the trait scores and
  the rubric; stored as codes, rendered in the reader's language.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from django.utils.translation import gettext as _

from . import conf
from .data import FeedbackItem, Neighbour, Sentence

_TERMINATORS = set(".!?。！？；")
_CLOSERS = set("\"'”’」』)）]")
_CJK_TERMINATORS = set("。！？；")


# Words whose full stop does not end a sentence ("e.g. for", "Mr. Li"); compared lower-case.
_ABBREVIATIONS = {"e.g", "i.e", "etc", "mr", "mrs", "ms", "dr", "vs", "st", "no", "prof", "cf", "approx"}
_OPENERS = {"(": ")", "[": "]", "（": "）"}


def sentence_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    n = len(text)
    start = 0
    depth = 0  # inside brackets a "!" or "." does not end the sentence: "It floods (sometimes!) in spring."
    i = 0
    while i < n:
        ch = text[i]
        if ch in _OPENERS:
            depth += 1
        elif ch in _OPENERS.values():
            depth = max(0, depth - 1)
        if ch == "\n":
            _add_span(spans, text, start, i)
            start, depth = i + 1, 0
        elif ch in _TERMINATORS and depth == 0:
            j = i + 1
            while j < n and (text[j] in _TERMINATORS or text[j] in _CLOSERS):
                j += 1
            # A Latin full stop ends a sentence only before whitespace or the end ("3.5"), and not
            # after an abbreviation ("e.g. for").
            if ch in _CJK_TERMINATORS or ((j >= n or text[j].isspace()) and not _abbreviation(text, start, i)):
                _add_span(spans, text, start, j)
                start = j
            i = j
            continue
        i += 1
    _add_span(spans, text, start, n)
    return spans


def _abbreviation(text: str, start: int, dot: int) -> bool:
    if text[dot] != ".":
        return False
    k = dot
    while k > start and not text[k - 1].isspace():
        k -= 1
    word = text[k:dot].lower().lstrip("\"'(")
    return word in _ABBREVIATIONS


def _add_span(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def _chunks(n: int, limit: int) -> list[list[int]]:
    """Consecutive groups of sentence indexes, at most ``limit`` groups."""
    if n <= limit:
        return [[i] for i in range(n)]
    size = math.ceil(n / limit)
    return [list(range(i, min(n, i + size))) for i in range(0, n, size)]


def without(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """The essay with the given spans removed (one space kept where text met text)."""
    parts = []
    last = 0
    for s, e in sorted(spans):
        parts.append(text[last:s])
        last = e
    parts.append(text[last:])
    return " ".join(p.strip() for p in parts if p.strip())


def occlusion(
    text: str, spans: Sequence[tuple[int, int]], predict: Callable[[list[str]], np.ndarray]
) -> tuple[float, list[float]]:
    """(raw score of the whole essay, one delta per span). ``predict`` returns (n, heads)."""
    groups = _chunks(len(spans), conf.max_sentences())
    variants = [without(text, [spans[i] for i in g]) for g in groups]
    raw = np.asarray(predict([text, *variants]), dtype=float)
    base = float(raw[0, 0])
    deltas = [0.0] * len(spans)
    for g, value in zip(groups, raw[1:, 0], strict=True):
        share = (base - float(value)) / len(g)
        for i in g:
            deltas[i] = share
    return base, deltas


def sentences_from(text: str, stored: Sequence[dict]) -> tuple[Sentence, ...]:
    """Rebuild sentences from stored spans, dropping any that no longer fit the text."""
    out = []
    for row in stored:
        try:
            s, e = int(row["start"]), int(row["end"])
        except (KeyError, TypeError, ValueError):
            continue
        if 0 <= s < e <= len(text):
            delta = row.get("delta")
            out.append(Sentence(start=s, end=e, text=text[s:e], delta=None if delta is None else float(delta)))
    return tuple(out)


# ------------------------------------------------------------------------------ the model
def model_raw_scores(model_id: int, texts: Sequence[str]) -> np.ndarray:
    """Raw scores of stored model ``model_id`` for ``texts`` (loaded once per process)."""
    from eduai import inference
    from grading.models import GradingModel, Method
    from grading.serving import _spec_from_key, loaded_model

    record = GradingModel.objects.get(pk=model_id)
    loaded = loaded_model(record)
    embeddings = None
    if record.method == Method.FAST and record.embedding_key:
        spec = _spec_from_key(record.embedding_key, record.language)
        # One text per batch: the int8 encoder quantises activations per batch, so batching the
        # variants together would shift every score a little and blur the differences we measure.
        embeddings = inference.embed(spec, list(texts), batch_size=1)
    return np.asarray(loaded.scorer.predict(list(texts), embeddings), dtype=float)


# ------------------------------------------------------------------------------ neighbours
def similar_graded(*, submission_id: int, assignment_id: int, k: int = 3, encoder_key: str = "") -> list[Neighbour]:
    """Most similar teacher-graded essays of the assignment (two queries, cosine on the rows)."""
    from grading.models import SubmissionEmbedding

    own = list(
        SubmissionEmbedding.objects.filter(submission_id=submission_id).values_list("encoder_key", "dim", "vector")
    )
    if not own:
        return []
    by_key = {key: (dim, blob) for key, dim, blob in own}
    key = encoder_key if encoder_key in by_key else sorted(by_key)[0]
    dim, blob = by_key[key]
    query = np.frombuffer(bytes(blob), dtype="<f4", count=dim).astype(np.float64)
    rows = list(
        SubmissionEmbedding.objects.filter(
            encoder_key=key,
            dim=dim,
            submission__assignment_id=assignment_id,
            submission__teacher_grade__isnull=False,
        )
        .exclude(submission_id=submission_id)
        .values_list("submission_id", "vector", "submission__teacher_grade__score", "submission__text")
    )
    if not rows:
        return []
    matrix = np.stack([np.frombuffer(bytes(r[1]), dtype="<f4", count=dim) for r in rows]).astype(np.float64)
    norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
    sims = matrix @ query / np.where(norms == 0, 1.0, norms)
    order = np.argsort(-sims, kind="stable")[:k]
    return [
        Neighbour(
            submission_id=rows[i][0], similarity=float(sims[i]), score=int(rows[i][2]), excerpt=_excerpt(rows[i][3])
        )
        for i in order
    ]


def _excerpt(text: str, limit: int = 220) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


# -------------------------------------------------------------------------------- feedback
# Share of a trait's range at or above which it reads as a strength, and at or below which it
# is the thing to work on next (quartiles of the range: a 0-4 trait -> 3+ strength, 0-1 focus).
STRENGTH_AT = 0.75
FOCUS_AT = 0.25


def _band(score: int, lo: int, hi: int) -> str:
    share = (score - lo) / (hi - lo) if hi > lo else 0.0
    if share >= STRENGTH_AT:
        return "strength"
    if share <= FOCUS_AT:
        return "focus"
    return "developing"


def feedback_items(
    *, score: int | None, min_score: int, max_score: int, traits: Sequence[tuple[str, str, int, int, int | None]]
) -> list[FeedbackItem]:
    """Comments from a holistic score and ``traits`` = (name, description, min, max, score)."""
    items: list[FeedbackItem] = []
    if score is not None:
        band = {"strength": "overall-high", "developing": "overall-mid", "focus": "overall-low"}[
            _band(score, min_score, max_score)
        ]
        items.append(FeedbackItem(code=band, trait="", score=score, min_score=min_score, max_score=max_score))
    for name, description, lo, hi, value in traits:
        if value is None:
            continue
        items.append(
            FeedbackItem(
                code=f"trait-{_band(value, lo, hi)}", trait=name, score=int(value), min_score=lo, max_score=hi,
                description=description or "",
            )
        )  # fmt: skip
    return items


def feedback_text(item: FeedbackItem) -> str:
    """The comment in the active language (teacher-written names and descriptions stay as written)."""
    p = {"trait": item.trait, "score": item.score, "max": item.max_score, "description": item.description}
    if item.code == "overall-high":
        return _("Overall a strong piece of work (%(score)s of %(max)s).") % p
    if item.code == "overall-mid":
        return _("A solid base to build on (%(score)s of %(max)s); the notes below say where to go next.") % p
    if item.code == "overall-low":
        return _("This needs more work (%(score)s of %(max)s); start with the point marked as the focus.") % p
    if item.code == "trait-strength":
        return _("%(trait)s is a strength (%(score)s of %(max)s).") % p
    if item.code == "trait-developing":
        if item.description:
            return _("%(trait)s is developing (%(score)s of %(max)s). Aim for: %(description)s") % p
        return _("%(trait)s is developing (%(score)s of %(max)s).") % p
    if item.description:
        return _("Focus on %(trait)s next (%(score)s of %(max)s). What it asks for: %(description)s") % p
    return _("Focus on %(trait)s next (%(score)s of %(max)s).") % p


def feedback_from_stored(rows: Sequence[dict]) -> list[FeedbackItem]:
    out = []
    for row in rows:
        try:
            out.append(
                FeedbackItem(
                    code=str(row["code"]), trait=str(row.get("trait", "")), score=int(row["score"]),
                    min_score=int(row["min"]), max_score=int(row["max"]), description=str(row.get("description", "")),
                )
            )  # fmt: skip
        except (KeyError, TypeError, ValueError):
            continue
    return out


def feedback_to_stored(items: Sequence[FeedbackItem]) -> list[dict]:
    return [
        {"code": i.code, "trait": i.trait, "score": i.score, "min": i.min_score, "max": i.max_score,
         "description": i.description}
        for i in items
    ]  # fmt: skip
