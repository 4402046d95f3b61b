"""'Ask the course': passages, lexical terms, BM25, semantic scores, fusion and highlighting.
No database access here (services.py and selectors.py feed it), so the evaluation in
bench/recommend.py runs the very same code.

Contract:
- ``split_passages(text)`` cuts a resource into passages of whole sentences, about
  ``PASSAGE_WORDS`` words (two Chinese characters count as one word).
- ``terms(text)`` gives the lexical terms of any text, by script: Latin runs are lower-cased
  words (English stop words and question words dropped, Snowball stems), digits and single
  letters kept (formulas: "x^2 + y^2 = r^2" -> x 2 y 2 r 2); CJK runs are jieba search-mode
  words plus character bigrams (so a word jieba cuts differently still matches).
- ``CourseIndex.search(query, query_vector)`` scores every passage with
  ``fused = w * semantic + (1 - w) * lexical`` where ``lexical`` is BM25 divided by the sum
  of the question terms' IDF, capped at 1 (so: the IDF-weighted share of the question's
  terms that the passage contains) and ``semantic`` is the cosine of MiniLM vectors rescaled so
  that unrelated text sits near 0. ``w = SEMANTIC_WEIGHT`` when both sides have vectors, else 0
  (Chinese with the bundled encoder). Questions whose best fused score is under the
  mode's threshold are answered "not found".
"""

from __future__ import annotations

import functools
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

# Passage size: ~80 English words (MiniLM was trained on sentence pairs up to 128 word pieces;
# a passage longer than its 256-piece window would be cut) or ~160 Chinese characters.
PASSAGE_WORDS = 80
# BM25 constants (Robertson & Zaragoza 2009 defaults).
BM25_K1 = 1.2
BM25_B = 0.75
# Fusion weight of the semantic score when both question and passage have vectors.
SEMANTIC_WEIGHT = 0.6
# MiniLM cosines of unrelated English course texts sit around 0.0-0.2 and answers around
# 0.4-0.8 (measured on recommender/eval_questions.py); rescale so 0.15 -> 0 and 0.75 -> 1.
SEMANTIC_FLOOR = 0.15
SEMANTIC_SPAN = 0.6
# "Not found" thresholds on the fused score, chosen on the development half of
# recommender/eval_questions.py (bench/recommend.py prints the held-out half). See docs.
THRESHOLD_FUSED = 0.30
THRESHOLD_LEXICAL = 0.30
TOP_K = 3

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_CJK}]+|[A-Za-z\u00c0-\u024f]+|[0-9]+")
_IS_CJK = re.compile(rf"[{_CJK}]")
_SENTENCE_END = re.compile(r"(?<=[.!?;])[\"'”’)\]]*\s+|(?<=[。！？；])[”’」』）]*\s*|\n\s*\n")
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
# Question words carry no topic ("what does X mean" is about X): stop words for retrieval.
_QUESTION_WORDS = {"does", "do", "did", "doing", "explain", "tell", "know", "want", "need", "please", "mean", "means"}
_STOP_EN = (frozenset(ENGLISH_STOP_WORDS) | _QUESTION_WORDS) - {
    "not",
    "no",
    "first",
    "second",
    "third",
    "one",
    "two",
    "three",
}
_STOP_ZH = frozenset(
    "的 了 和 是 在 有 与 及 或 就 都 而 也 这 那 之 其 为 把 被 吗 呢 吧 啊 么 "
    "什么 怎么 如何 哪 哪些 多少 我 你 他 她 它 们".split()
)

_jieba_lock = threading.Lock()
_jieba_ready = False


def _jieba() -> object:
    """jieba loads its 20 MB dictionary on first use (about 1-2 s): once per process, lazily."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(60)
                jieba.initialize()
                _jieba_ready = True
    return jieba


_stemmer_lock = threading.Lock()
_stemmer: Any = None


@functools.lru_cache(maxsize=200_000)
def _fold(word: str) -> str:
    """Snowball (Porter2) English stem: 'fractions' -> 'fraction', 'adding' -> 'add'. Cached:
    a course's vocabulary is small and the pure-Python stemmer costs ~60 us a word."""
    global _stemmer
    if _stemmer is None:
        import snowballstemmer

        with _stemmer_lock:
            _stemmer = _stemmer or snowballstemmer.stemmer("english")
    return str(_stemmer.stemWord(word))


def terms(text: str) -> list[str]:
    text = text.translate(_SUPERSCRIPT)
    out: list[str] = []
    for run in _RUN.findall(text):
        if _IS_CJK.match(run):
            jb = _jieba()
            for w in jb.lcut_for_search(run):  # type: ignore[attr-defined]
                if w.strip() and w not in _STOP_ZH and len(w) >= 1:
                    out.append(w)
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            w = run.lower()
            if w in _STOP_EN:
                continue
            out.append(_fold(w) if w.isalpha() else w)
    return out


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace trimmed; keeps '3.5' and 'e.g.' whole."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        # the lookbehind leaves the punctuation in the sentence; closing quotes stay with it
        end = m.start() + len(m.group(0).rstrip())
        if text[start:end].strip():
            spans.append(_trim(text, start, end))
        start = m.end()
    if text[start:].strip():
        spans.append(_trim(text, start, len(text)))
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _size(text: str) -> int:
    cjk = len(_IS_CJK.findall(text))
    words = len(re.findall(r"[A-Za-z0-9]+", text))
    # One English word carries about as much as two Chinese characters.
    return words + cjk // 2


def split_passages(text: str) -> list[str]:
    """Whole sentences grouped into passages of about PASSAGE_WORDS words (80 words = 160 CJK chars)."""
    passages: list[str] = []
    current: list[str] = []
    size = 0
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        for s, e in sentence_spans(paragraph):
            sentence = paragraph[s:e]
            n = _size(sentence)
            if current and size + n > PASSAGE_WORDS:
                passages.append(_join(current))
                current, size = [], 0
            current.append(sentence)
            size += n
        # A paragraph break is a natural passage break once a passage has some substance.
        if current and size >= PASSAGE_WORDS // 3:
            passages.append(_join(current))
            current, size = [], 0
    if current:
        passages.append(_join(current))
    return [p for p in passages if p.strip()]


def _join(sentences: list[str]) -> str:
    out = sentences[0]
    for s in sentences[1:]:
        cjk_boundary = _IS_CJK.match(out[-1:] or " ") and _IS_CJK.match(s[:1] or " ")
        out += s if cjk_boundary else " " + s
    return out


def semantic_scale(cos: np.ndarray | float) -> np.ndarray | float:
    return np.clip((np.asarray(cos) - SEMANTIC_FLOOR) / SEMANTIC_SPAN, 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class IndexedPassage:
    id: int
    resource_id: int
    resource_title: str
    text: str
    terms: tuple[str, ...]
    # float32 (sentences x dim) as stored, or b"" (no encoder for this passage's language)
    sentence_vectors: bytes = b""


class CourseIndex:
    """In-memory BM25 matrix and vector matrix of one course's passages (built once per
    process and course version by selectors.course_search_index)."""

    def __init__(self, passages: Sequence[IndexedPassage], vectors: np.ndarray | None) -> None:
        self.passages = list(passages)
        self.vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        lengths = np.zeros(len(self.passages), dtype=np.float64)
        for i, p in enumerate(self.passages):
            counts = Counter(p.terms)
            lengths[i] = sum(counts.values())
            for term, c in counts.items():
                j = self.vocab.setdefault(term, len(self.vocab))
                rows.append(i)
                cols.append(j)
                vals.append(c)
        n = len(self.passages)
        self.tf = sparse.csc_matrix((vals, (rows, cols)), shape=(n, len(self.vocab)), dtype=np.float64)
        df = np.diff(self.tf.indptr).astype(np.float64)
        self.n = n
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5))
        # A word the course never uses weighs like the rarest word it does use (df = 1): it
        # makes a question look unanswerable without drowning the words that do match.
        self.oov_idf = math.log1p((n - 1 + 0.5) / 1.5) if n else 1.0
        avg = float(lengths.mean()) if n else 1.0
        self.norm = BM25_K1 * (1.0 - BM25_B + BM25_B * lengths / max(avg, 1e-9))
        # vectors: (n, d) L2-normalised, rows of zeros for passages without a vector
        self.vectors = vectors
        self.has_vector = (
            np.linalg.norm(vectors, axis=1) > 0 if vectors is not None and vectors.size else np.zeros(n, dtype=bool)
        )

    def sentence_vectors(self, i: int) -> np.ndarray | None:
        raw = self.passages[i].sentence_vectors
        if not raw or self.vectors is None or not self.has_vector[i]:
            return None
        dim = self.vectors.shape[1]
        flat = np.frombuffer(raw, dtype=np.float32)
        return flat.reshape(-1, dim) if flat.size % dim == 0 else None

    def lexical(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 of each passage divided by the query's maximum attainable BM25, in [0, 1]."""
        unique = list(dict.fromkeys(query_terms))
        if not unique or not self.n:
            return np.zeros(self.n)
        scores = np.zeros(self.n)
        best = 0.0
        for t in unique:
            j = self.vocab.get(t)
            if j is None:
                best += self.oov_idf
                continue
            idf = self.idf[j]
            best += idf
            col = self.tf.getcol(j)
            idx, tf = col.indices, col.data
            scores[idx] += idf * tf * (BM25_K1 + 1) / (tf + self.norm[idx])
        # A term present once in a passage of average length scores exactly its idf, so the
        # ratio reads "IDF-weighted share of the question's terms in the passage"; repeats can
        # push it past 1, which we cap.
        return np.minimum(1.0, scores / best) if best > 0 else scores

    def search(
        self,
        query: str,
        query_vector: np.ndarray | None,
        *,
        allowed: np.ndarray | None = None,
        k: int = TOP_K,
    ) -> list[tuple[int, float, float, float]]:
        """[(passage row, fused, semantic, lexical)] best first, at most one passage per resource."""
        if not self.n:
            return []
        lex = self.lexical(terms(query))
        sem = np.zeros(self.n)
        if query_vector is not None and self.vectors is not None and self.vectors.size:
            sem = np.asarray(semantic_scale(self.vectors @ query_vector), dtype=np.float64)
            sem[~self.has_vector] = 0.0
            fused = np.where(self.has_vector, SEMANTIC_WEIGHT * sem + (1 - SEMANTIC_WEIGHT) * lex, lex)
        else:
            fused = lex
        if allowed is not None:
            fused = np.where(allowed, fused, -1.0)
        order = np.argsort(-fused, kind="stable")
        out: list[tuple[int, float, float, float]] = []
        seen: set[int] = set()
        for i in order:
            if fused[i] < 0:
                break
            rid = self.passages[i].resource_id
            if rid in seen:
                continue
            seen.add(rid)
            out.append((int(i), float(fused[i]), float(sem[i]), float(lex[i])))
            if len(out) >= k:
                break
        return out

    def threshold(self, semantic: bool) -> float:
        return THRESHOLD_FUSED if semantic else THRESHOLD_LEXICAL


def best_sentence(
    text: str,
    query_terms: Sequence[str],
    *,
    idf: dict[str, float],
    query_vector: np.ndarray | None,
    sentence_vectors: np.ndarray | None,
) -> tuple[int, int]:
    """The span of the sentence of ``text`` that answers best: same fusion as passages, at
    sentence level (IDF-weighted share of the question's terms; cosine when vectors exist)."""
    spans = sentence_spans(text)
    if not spans:
        return (0, len(text))
    q = list(dict.fromkeys(query_terms))
    total = sum(idf.get(t, 1.0) for t in q) or 1.0
    best, best_score = spans[0], -1.0
    for i, (s, e) in enumerate(spans):
        st = set(terms(text[s:e]))
        lex = sum(idf.get(t, 1.0) for t in q if t in st) / total
        score = lex
        if query_vector is not None and sentence_vectors is not None and i < len(sentence_vectors):
            sem = float(semantic_scale(float(sentence_vectors[i] @ query_vector)))
            score = SEMANTIC_WEIGHT * sem + (1 - SEMANTIC_WEIGHT) * lex
        if score > best_score:
            best, best_score = (s, e), score
    return best
