"""The ONE place where the recommender reads other apps' knowledge: mastery and predicted
success (assessment), weak rubric traits of graded essays (grading), and text embeddings
(eduai.inference).

Contract: every function here answers with the recommender's own frozen data (``data.py``)
and never raises because a lower app is missing or still being built; it then falls back to a
plain estimate made from the LMS core's activity events, and says so in ``source_names()``.
Tests replace these functions with ``monkeypatch`` to feed known states.
"""

from __future__ import annotations

import importlib
import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from eduai.courses.models import ActivityEvent, ObjectType, PracticeItem, Skill

from .data import MasteryData

log = logging.getLogger(__name__)

# Prior mastery of a skill nobody has evidence for (the BKT p(L0) of the knowledge tracer's
# default parameters; the ASSISTments 2009 fits of the assessment app sit between 0.2 and 0.4).
DEFAULT_PRIOR = 0.3


def _optional(module: str, name: str) -> Any | None:
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
    except Exception:  # a half-written module of a colleague must not break recommendations
        log.exception("could not import %s.%s; using the recommender's fallback", module, name)
        return None


def _as_mastery(raw: object) -> MasteryData:
    if isinstance(raw, MasteryData):
        return raw
    if isinstance(raw, int | float):
        return MasteryData(p=float(raw))
    p = float(getattr(raw, "p", DEFAULT_PRIOR))
    return MasteryData(
        p=min(1.0, max(0.0, p)) if math.isfinite(p) else DEFAULT_PRIOR,
        trend=float(getattr(raw, "trend", 0.0) or 0.0),
        updated_at=getattr(raw, "updated_at", None),
        n_evidence=int(getattr(raw, "n_evidence", 0) or 0),
    )


# --- Mastery (assessment) ------------------------------------------------------------------


def mastery_for_student(*, student_id: int, course_id: int) -> dict[int, MasteryData]:
    fn = _optional("assessment.api", "mastery_for_student")
    if fn is not None:
        try:
            raw = fn(student_id=student_id, course_id=course_id)
        except ObjectDoesNotExist:  # assessment's lookup error: unknown student or course
            return {}
        return {int(k): _as_mastery(v) for k, v in raw.items()}
    return _fallback_mastery([student_id], course_id).get(student_id, {})


def mastery_for_students(*, student_ids: Sequence[int], course_id: int) -> dict[int, dict[int, MasteryData]]:
    """Bulk form for the batch refresh; uses assessment's bulk reader when it has one."""
    bulk = _optional("assessment.api", "mastery_for_students")
    if bulk is not None:
        raw = bulk(student_ids=list(student_ids), course_id=course_id)
        return {int(s): {int(k): _as_mastery(v) for k, v in per.items()} for s, per in raw.items()}
    one = _optional("assessment.api", "mastery_for_student")
    if one is not None:
        return {s: mastery_for_student(student_id=s, course_id=course_id) for s in student_ids}
    return _fallback_mastery(list(student_ids), course_id)


def predicted_success(*, student_id: int, course_id: int, item_ids: Sequence[int]) -> dict[int, float]:
    fn = _optional("assessment.api", "predicted_success")
    if fn is not None and item_ids:
        try:
            raw = fn(student_id=student_id, item_ids=list(item_ids))
        except ObjectDoesNotExist:
            return {}
        return {int(k): float(v) for k, v in raw.items() if v is not None and math.isfinite(float(v))}
    return {}


def predicted_success_for_students(
    *, student_ids: Sequence[int], course_id: int, item_ids: Sequence[int], skip: Iterable[int] = ()
) -> dict[int, dict[int, float]]:
    """Bulk form for the batch refresh: the tracer's bulk reader when it has one, else one
    ``predicted_success`` call per student (students in ``skip`` get none: no evidence yet, so
    the ranking uses mastery and difficulty, which is all the tracer would know either)."""
    bulk = _optional("assessment.api", "predicted_success_for_students")
    if bulk is not None and item_ids:
        try:
            raw = bulk(student_ids=list(student_ids), item_ids=list(item_ids))
        except ObjectDoesNotExist:
            raw = {}
        return {int(s): {int(i): float(p) for i, p in per.items()} for s, per in raw.items()}
    skipped = set(skip)
    return {
        s: predicted_success(student_id=s, course_id=course_id, item_ids=item_ids)
        for s in student_ids
        if s not in skipped
    }


def source_names() -> dict[str, str]:
    """Which implementation each signal comes from (shown in the admin and the bench output)."""
    return {
        "mastery": "assessment.api" if _optional("assessment.api", "mastery_for_student") else "fallback(events)",
        "predicted_success": "assessment.api"
        if _optional("assessment.api", "predicted_success")
        else "fallback(mastery-difficulty)",
        "weak_traits": "grading.api" if _optional("grading.api", "trait_scores_for_student") else "none",
        "encoder": encoder_name("en") or "none",
    }


def _fallback_mastery(student_ids: list[int], course_id: int) -> dict[int, dict[int, MasteryData]]:
    """Beta-smoothed, recency-weighted share of right answers per skill, from practice events.

    Used only until assessment's knowledge tracing is installed. Each response counts
    0.9^(k) where k is how many newer responses on the same skill follow it, so an old streak
    fades; the prior is DEFAULT_PRIOR with the weight of 2 responses. Trend is the change of
    this estimate over the student's last 5 responses on the skill.
    """
    item_skills: dict[int, list[int]] = defaultdict(list)
    for item_id, skill_id in PracticeItem.skills.through.objects.filter(practiceitem__course_id=course_id).values_list(
        "practiceitem_id", "skill_id"
    ):
        item_skills[item_id].append(skill_id)
    rows = (
        ActivityEvent.objects.filter(
            course_id=course_id,
            actor_id__in=student_ids,
            voided=False,
            object_type=ObjectType.PRACTICE_ITEM,
            result_success__isnull=False,
            practice_item_id__isnull=False,
        )
        .order_by("actor_id", "timestamp", "id")
        .values_list("actor_id", "practice_item_id", "result_success", "timestamp")
    )
    seqs: dict[int, dict[int, list[tuple[float, datetime]]]] = defaultdict(lambda: defaultdict(list))
    for actor, item, ok, ts in rows.iterator(chunk_size=5000):
        for skill in item_skills.get(item, ()):
            seqs[actor][skill].append((1.0 if ok else 0.0, ts))
    out: dict[int, dict[int, MasteryData]] = {}
    for student, per_skill in seqs.items():
        out[student] = {skill: _beta_estimate(obs) for skill, obs in per_skill.items()}
    return out


def _beta_estimate(obs: list[tuple[float, datetime]]) -> MasteryData:
    def estimate(values: list[float]) -> float:
        n = len(values)
        weights = [0.9 ** (n - 1 - i) for i in range(n)]
        right = sum(w * v for w, v in zip(weights, values, strict=True))
        return (right + 2 * DEFAULT_PRIOR) / (sum(weights) + 2)

    values = [v for v, _ in obs]
    now = estimate(values)
    before = estimate(values[:-5]) if len(values) > 5 else DEFAULT_PRIOR
    return MasteryData(p=now, trend=now - before, updated_at=obs[-1][1], n_evidence=len(values))


def fallback_predicted_success(mastery: float, difficulty: float) -> float:
    """P(right) from mastery and the author's difficulty: 4PL-like curve with guess 0.15 and
    slip 0.1 (typical BKT fits on ASSISTments 2009). Used when the tracer gives no prediction."""
    return 0.15 + 0.75 / (1.0 + math.exp(-6.0 * (mastery - difficulty)))


# --- Weak traits of graded essays (grading) ------------------------------------------------


def weak_traits_for_student(*, student_id: int, course_id: int) -> list[tuple[str, str, float]]:
    """[(trait name, trait description, deficit in [0, 1])] from the student's released essays,
    weakest first; empty when grading offers no trait scores."""
    fn = _optional("grading.api", "trait_scores_for_student")
    if fn is None:
        return []
    try:
        raw = fn(student_id=student_id, course_id=course_id)
    except Exception:
        log.exception("grading.api.trait_scores_for_student failed; ranking without essay traits")
        return []
    acc: dict[str, list[float]] = defaultdict(list)
    desc: dict[str, str] = {}
    for row in raw or ():
        name = str(_get(row, "name", "") or _get(row, "trait", ""))
        lo, hi = _get(row, "min_score", 0), _get(row, "max_score", None)
        score = _get(row, "score", None)
        if not name or score is None or hi is None or float(hi) <= float(lo):
            continue
        acc[name].append(1.0 - (float(score) - float(lo)) / (float(hi) - float(lo)))
        desc[name] = str(_get(row, "description", "") or "")
    traits = [(n, desc[n], float(np.clip(np.mean(v), 0.0, 1.0))) for n, v in acc.items()]
    return sorted(traits, key=lambda t: -t[2])


def _get(row: object, key: str, default: Any) -> Any:
    if isinstance(row, dict):
        return row.get(key, default)
    return getattr(row, key, default)


# --- Embeddings (eduai.inference) ------------------------------------------------------------


def _spec(language: str) -> Any | None:
    """The encoder spec grading uses for ``language`` (so a resource is embedded by the same
    encoder as essays), or None when no encoder serves it: the bundled MiniLM has no Chinese
    vocabulary ([UNK] for most characters), so Chinese is lexical-only unless
    ``EDUAI_ZH_ENCODER_PATH`` is set."""
    lang = "zh" if language.startswith("zh") else "en"
    has_encoder_for = _optional("eduai.inference.spec", "has_encoder_for")
    encoder_spec = _optional("eduai.inference", "encoder_spec")
    if has_encoder_for is None or encoder_spec is None or not has_encoder_for(lang):
        return None
    return encoder_spec(language=lang)


_encoder_names: dict[tuple[str, ...], str] = {}


def encoder_name(language: str) -> str:
    """The stable key of the embeddings for ``language`` ("" when none): stored next to every
    vector so that vectors of two encoders are never compared. Cached per process and
    settings, because making the key fingerprints the model folder and imports torch."""
    cache_key = (
        "zh" if language.startswith("zh") else "en",
        str(getattr(settings, "EDUAI_ENCODER_PATH", "")),
        str(getattr(settings, "EDUAI_ZH_ENCODER_PATH", "")),
        str(getattr(settings, "EDUAI_EMBED_PRECISION", "")),
        str(getattr(settings, "EDUAI_DEVICE", "")),
    )
    if cache_key not in _encoder_names:
        spec = _spec(language)
        _encoder_names[cache_key] = str(spec.key) if spec is not None else ""
    return _encoder_names[cache_key]


def embed_texts(texts: Iterable[str], *, language: str = "en") -> np.ndarray | None:
    """L2-normalised float32 vectors, one row per text, or None when no encoder serves ``language``."""
    texts = list(texts)
    spec = _spec(language)
    embed = _optional("eduai.inference", "embed")
    if spec is None or embed is None:
        return None
    try:
        vectors = np.asarray(embed(spec, texts), dtype=np.float32)
    except Exception:
        # An encoder that cannot load must not take "ask the course" down: it answers from
        # the lexical signal alone (and the log says why).
        log.exception("encoder %s failed; falling back to lexical retrieval", spec.key)
        return None
    if vectors.ndim != 2 or vectors.shape[0] != len(texts):
        return None
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def now() -> datetime:
    return timezone.now()


def skill_ids_of_course(course_id: int) -> list[int]:
    return list(Skill.objects.filter(course_id=course_id).values_list("id", flat=True))
