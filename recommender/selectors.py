"""Reads of the recommender. Callers have checked who asks (views, api.py); these functions
take ids and return frozen data.

- ``cached_recommendations``: the serve path (4 indexed queries, no model, no ranking): the
  cached list minus hidden, deactivated and deleted activities, with the teacher's pins first.
- ``catalog_for_course`` / ``learner_states``: the inputs of the ranking, in bulk.
- ``course_search_index``: the in-memory BM25 + vector index of a course, rebuilt only when
  its passages change (one aggregate query per question to know).
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db.models import Case, Count, IntegerField, Max, Q, QuerySet, When

from eduai.courses.models import (
    ActivityEvent,
    Assignment,
    Enrollment,
    LearningResource,
    PracticeItem,
    Role,
    Skill,
    Submission,
    SubmissionStatus,
)

from . import cf, sources
from .data import (
    Activity,
    AnswerData,
    Catalog,
    DueInfo,
    LearnerState,
    PassageHit,
    Reason,
    Recommendation,
    RecommendationList,
    SkillInfo,
    WeakTrait,
)
from .models import CourseProfile, OverrideAction, Passage, Question, RecommendationSet, ResourceIndex, ResourceOverride
from .retrieval import CourseIndex, IndexedPassage

# Novelty looks this far back (days): older activity counts as "not done recently".
NOVELTY_WINDOW_DAYS = 60
# Due dates further than this (days) do not move the ranking (ranking.DUE_HORIZON_DAYS).
DUE_LOOKAHEAD_DAYS = 14


def vector_from_bytes(raw: bytes | memoryview | None) -> np.ndarray | None:
    if not raw:
        return None
    vec = np.frombuffer(bytes(raw), dtype=np.float32)
    return vec if vec.size else None


# --- Serving ---------------------------------------------------------------------------------


def student_course_ids(*, student_id: int) -> list[int]:
    return list(
        Enrollment.objects.filter(user_id=student_id, role=Role.STUDENT, is_active=True)
        .order_by("course_id")
        .values_list("course_id", flat=True)
    )


def is_active_student(*, student_id: int, course_id: int) -> bool:
    return Enrollment.objects.filter(
        user_id=student_id, course_id=course_id, role=Role.STUDENT, is_active=True
    ).exists()


def cached_recommendations(*, student_id: int, course_id: int, limit: int = 10) -> RecommendationList | None:
    """The cached list as the student may see it now, or None if it was never computed."""
    row = (
        RecommendationSet.objects.filter(student_id=student_id, course_id=course_id)
        .values("items", "computed_at", "cold_start", "stale_since")
        .first()
    )
    if row is None or row["computed_at"] is None:
        return None
    items = [Recommendation.from_json(raw) for raw in row["items"]]
    overrides = dict(ResourceOverride.objects.filter(course_id=course_id).values_list("resource_id", "action"))
    pinned_ids = [rid for rid, action in overrides.items() if action == OverrideAction.PIN]
    resource_ids = {i.id for i in items if i.kind == "resource"} | set(pinned_ids)
    live_resources = {
        r["id"]: r
        for r in LearningResource.objects.filter(course_id=course_id, is_active=True, id__in=resource_ids).values(
            "id", "title", "kind", "url"
        )
    }
    item_ids = {i.id for i in items if i.kind == "practice"}
    live_items = (
        dict(PracticeItem.objects.filter(course_id=course_id, id__in=item_ids).values_list("id", "title"))
        if item_ids
        else {}
    )
    out: list[Recommendation] = []
    for rid in sorted(pinned_ids):
        r = live_resources.get(rid)
        if r is not None:
            out.append(
                Recommendation(
                    kind="resource",
                    id=rid,
                    title=r["title"],
                    score=1.0,
                    reasons=(Reason("pinned", {}),),
                    pinned=True,
                    resource_kind=r["kind"],
                    url=r["url"],
                )
            )
    pinned_set = set(pinned_ids)
    for rec in items:
        if rec.kind == "resource":
            live = live_resources.get(rec.id)
            if live is None or rec.id in pinned_set or overrides.get(rec.id) == OverrideAction.HIDE:
                continue
            rec = replace(rec, title=live["title"], url=live["url"], resource_kind=live["kind"])
        else:
            title = live_items.get(rec.id)
            if title is None:
                continue
            rec = replace(rec, title=title)
        out.append(rec)
    return RecommendationList(
        course_id=course_id,
        student_id=student_id,
        items=tuple(out[:limit]),
        computed_at=row["computed_at"],
        cold_start=row["cold_start"],
        stale=row["stale_since"] is not None,
    )


def course_lists(*, course_id: int) -> dict[int, tuple[Recommendation, ...]]:
    rows = RecommendationSet.objects.filter(course_id=course_id, computed_at__isnull=False).values_list(
        "student_id", "items"
    )
    return {sid: tuple(Recommendation.from_json(raw) for raw in items or []) for sid, items in rows}


@dataclass(frozen=True, slots=True)
class RecommendedActivity:
    """How widely the course's cached lists recommend one activity."""

    kind: str
    id: int
    title: str  # as cached when the list was computed
    students: int  # students whose current list holds it
    in_top_3: int  # of those, the students who have it among their first three


def recommended_activity_counts(*, course_id: int) -> list[RecommendedActivity]:
    """Per activity in any computed list of the course: how many lists hold it, and how many in
    their top three. One query; the lists as cached (hides and deletions not re-checked).

    Counts straight from the cached JSON rather than through ``Recommendation.from_json``: a
    course of 500 students holds 5,000 items, and building each one doubled the dashboard
    panel's CPU time (bench/dashboards.py). An entry without a kind and an id is skipped."""
    counts: dict[tuple[str, int], list[Any]] = {}
    rows = RecommendationSet.objects.filter(course_id=course_id, computed_at__isnull=False).values_list(
        "items", flat=True
    )
    for items in rows:
        for rank, raw in enumerate(items or ()):
            try:
                key = (str(raw["kind"]), int(raw["id"]))
            except (KeyError, TypeError, ValueError):
                continue
            c = counts.get(key)
            if c is None:
                c = counts[key] = [str(raw.get("title", "")), 0, 0]
            c[1] += 1
            c[2] += rank < 3
    return [RecommendedActivity(k, i, t, n, top) for (k, i), (t, n, top) in counts.items()]


# --- Inputs of the ranking -------------------------------------------------------------------

_vector_cache: dict[tuple[str, str], np.ndarray] = {}
_vector_lock = threading.Lock()


def _cached_vectors(texts: Sequence[str], *, language: str) -> list[np.ndarray | None]:
    """Embeddings of short texts (skill and trait names) cached per process by text and encoder."""
    key_name = sources.encoder_name(language)
    if not key_name:
        return [None] * len(texts)
    missing = [t for t in dict.fromkeys(texts) if (key_name, t) not in _vector_cache]
    if missing:
        vectors = sources.embed_texts(missing, language=language)
        if vectors is None:
            return [None] * len(texts)
        with _vector_lock:
            if len(_vector_cache) > 20000:  # bounded: 20k x 1.5 KiB = 30 MiB
                _vector_cache.clear()
            for t, v in zip(missing, vectors, strict=True):
                _vector_cache[(key_name, t)] = v
    return [_vector_cache.get((key_name, t)) for t in texts]


def catalog_for_course(*, course_id: int, now: datetime, language: str = "en") -> Catalog:
    skills_qs = Skill.objects.filter(course_id=course_id).order_by("id")
    skill_rows = list(skills_qs.values_list("id", "name", "description"))
    prereqs: dict[int, list[int]] = defaultdict(list)
    for from_id, to_id in Skill.prerequisites.through.objects.filter(from_skill__course_id=course_id).values_list(
        "from_skill_id", "to_skill_id"
    ):
        prereqs[from_id].append(to_id)
    skills = {sid: SkillInfo(sid, name, tuple(sorted(prereqs.get(sid, ())))) for sid, name, _ in skill_rows}

    item_skills: dict[int, list[int]] = defaultdict(list)
    for iid, sid in PracticeItem.skills.through.objects.filter(practiceitem__course_id=course_id).values_list(
        "practiceitem_id", "skill_id"
    ):
        item_skills[iid].append(sid)
    res_skills: dict[int, list[int]] = defaultdict(list)
    for rid, sid in LearningResource.skills.through.objects.filter(learningresource__course_id=course_id).values_list(
        "learningresource_id", "skill_id"
    ):
        res_skills[rid].append(sid)

    vectors: dict[int, np.ndarray] = {}
    indexed = list(
        ResourceIndex.objects.filter(course_id=course_id)
        .exclude(encoder="")
        .values_list("resource_id", "vector", "encoder")
    )
    # Only a course whose resources were embedded asks for the encoder's name (which loads torch).
    encoder = sources.encoder_name(language) if indexed else ""
    for rid, raw, enc in indexed:
        vec = vector_from_bytes(raw) if enc == encoder else None
        if vec is not None:
            vectors[rid] = vec

    activities: list[Activity] = []
    for r in (
        LearningResource.objects.filter(course_id=course_id, is_active=True)
        .order_by("id")
        .values("id", "title", "kind", "url", "difficulty")
    ):
        activities.append(
            Activity(
                kind="resource",
                id=r["id"],
                title=r["title"],
                skill_ids=tuple(sorted(res_skills.get(r["id"], ()))),
                difficulty=float(r["difficulty"]),
                resource_kind=r["kind"],
                url=r["url"],
                vector=vectors.get(r["id"]),
            )
        )
    for i in PracticeItem.objects.filter(course_id=course_id).order_by("id").values("id", "title", "difficulty"):
        activities.append(
            Activity(
                kind="practice",
                id=i["id"],
                title=i["title"],
                skill_ids=tuple(sorted(item_skills.get(i["id"], ()))),
                difficulty=float(i["difficulty"]),
            )
        )

    # Only when the course's resources have vectors is it worth embedding the skills.
    skill_vectors: dict[int, np.ndarray] = {}
    if vectors and skill_rows:
        texts = [f"{name}. {desc}".strip() for _, name, desc in skill_rows]
        for (sid, _, _), vec in zip(skill_rows, _cached_vectors(texts, language=language), strict=True):
            if vec is not None:
                skill_vectors[sid] = vec

    profile_row = CourseProfile.objects.filter(course_id=course_id).values_list("data", flat=True).first()
    return Catalog(
        course_id=course_id,
        skills=skills,
        activities=tuple(activities),
        due=_due_by_skill(course_id, skills, now),
        skill_vectors=skill_vectors,
        profile=profile_row or {},
    )


def _due_by_skill(course_id: int, skills: dict[int, SkillInfo], now: datetime) -> dict[int, DueInfo]:
    """Nearest upcoming published assignment per skill; a prerequisite inherits the due dates
    of the skills built on it (Ratios is due when Percentages, which needs it, is due)."""
    direct: dict[int, DueInfo] = {}
    rows = Assignment.skills.through.objects.filter(
        assignment__course_id=course_id,
        assignment__is_published=True,
        assignment__due_at__gte=now,
        assignment__due_at__lte=now + timedelta(days=DUE_LOOKAHEAD_DAYS),
    ).values_list("skill_id", "assignment_id", "assignment__title", "assignment__due_at")
    for sid, aid, title, due_at in rows:
        if due_at is None:  # excluded by the filter; keeps the type checker honest
            continue
        info = DueInfo(aid, title, due_at)
        if sid not in direct or due_at < direct[sid].due_at:
            direct[sid] = info
    out = dict(direct)
    # Walk down the graph: each skill's due info flows to its prerequisites (nearest wins).
    for sid, info in sorted(direct.items(), key=lambda kv: kv[1].due_at):
        stack, seen = list(skills.get(sid, SkillInfo(sid, "")).prerequisites), {sid}
        while stack:
            pre = stack.pop()
            if pre in seen or pre not in skills:
                continue
            seen.add(pre)
            if pre not in out or info.due_at < out[pre].due_at:
                out[pre] = info
            stack.extend(skills[pre].prerequisites)
    return out


def learner_states(
    *, course_id: int, student_ids: Sequence[int], catalog: Catalog, now: datetime
) -> dict[int, LearnerState]:
    """States of many students of one course with a fixed number of queries, plus (until the
    tracer offers a bulk reader) one ``predicted_success`` call per student with evidence."""
    student_ids = list(student_ids)
    mastery = sources.mastery_for_students(student_ids=student_ids, course_id=course_id)
    since = now - timedelta(days=NOVELTY_WINDOW_DAYS)
    done_expr = Case(
        When(Q(result_completion=True) | Q(result_success=True) | Q(verb__endswith="/completed"), then=1),
        default=0,
        output_field=IntegerField(),
    )
    touched: dict[int, dict[str, float]] = defaultdict(dict)
    completed: dict[int, set[str]] = defaultdict(set)
    rows = (
        ActivityEvent.objects.filter(course_id=course_id, actor_id__in=student_ids, voided=False)
        .filter(Q(resource_id__isnull=False) | Q(practice_item_id__isnull=False))
        .values("actor_id", "resource_id", "practice_item_id")
        .annotate(last=Max("timestamp"), done=Max(done_expr))
        .order_by()
    )
    for row in rows:
        key = f"resource:{row['resource_id']}" if row["resource_id"] else f"practice:{row['practice_item_id']}"
        if row["last"] >= since:
            touched[row["actor_id"]][key] = max(0.0, (now - row["last"]).total_seconds() / 86400.0)
        if row["done"]:
            completed[row["actor_id"]].add(key)
    item_ids = [a.id for a in catalog.activities if a.kind == "practice"]
    trait_language = "en"
    # Essay traits matter only through resource embeddings, and only students with a released
    # essay have trait scores: ask grading for those students only (one query to know who).
    graded: set[int] = set()
    if any(a.vector is not None for a in catalog.activities):
        graded = set(
            Submission.objects.filter(
                assignment__course_id=course_id, author_id__in=student_ids, status=SubmissionStatus.RELEASED
            )
            .values_list("author_id", flat=True)
            .distinct()
        )
    no_evidence = [s for s in student_ids if not any(v.n_evidence for v in mastery.get(s, {}).values())]
    predictions = sources.predicted_success_for_students(
        student_ids=student_ids, course_id=course_id, item_ids=item_ids, skip=no_evidence
    )
    states: dict[int, LearnerState] = {}
    for sid in student_ids:
        m = mastery.get(sid, {})
        predicted = predictions.get(sid, {})
        traits = sources.weak_traits_for_student(student_id=sid, course_id=course_id) if sid in graded else []
        weak: tuple[WeakTrait, ...] = ()
        if traits and catalog.skill_vectors:
            vecs = _cached_vectors([f"{n}. {d}".strip() for n, d, _ in traits], language=trait_language)
            weak = tuple(WeakTrait(n, deficit, v) for (n, _, deficit), v in zip(traits, vecs, strict=True))
        elif traits:
            weak = tuple(WeakTrait(n, deficit) for n, _, deficit in traits)
        cluster = cf.assign_cluster(catalog.profile, {k: v.p for k, v in m.items()}) if m else None
        states[sid] = LearnerState(
            mastery=m,
            predicted=predicted,
            days_since=touched.get(sid, {}),
            completed=frozenset(completed.get(sid, set())),
            weak_traits=weak,
            cluster=cluster,
        )
    return states


def active_student_ids(*, course_id: int) -> list[int]:
    return list(
        Enrollment.objects.filter(course_id=course_id, role=Role.STUDENT, is_active=True)
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )


# --- Ask the course --------------------------------------------------------------------------

_index_cache: dict[tuple[int, str], tuple[tuple, CourseIndex]] = {}
_index_lock = threading.Lock()


def _index_stamp(course_id: int) -> tuple:
    agg = ResourceIndex.objects.filter(course_id=course_id).aggregate(n=Count("id"), last=Max("indexed_at"))
    return (agg["n"], agg["last"])


def course_search_index(*, course_id: int, language: str = "en") -> CourseIndex:
    """The course's passages as a search index, cached per process until a resource is
    re-indexed. Vectors are those of ``language``'s encoder (others count as absent), so a
    question is only ever compared with vectors of the encoder that embedded it."""
    stamp = _index_stamp(course_id)
    cached = _index_cache.get((course_id, language))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    embedded = dict(
        ResourceIndex.objects.filter(course_id=course_id).exclude(encoder="").values_list("resource_id", "encoder")
    )
    encoder = sources.encoder_name(language) if embedded else ""
    encoder_ok = {rid for rid, enc in embedded.items() if enc == encoder}
    rows = list(
        Passage.objects.filter(course_id=course_id)
        .order_by("resource_id", "position")
        .values_list("id", "resource_id", "resource__title", "text", "terms", "vector", "sentence_vectors")
    )
    passages = [
        IndexedPassage(pid, rid, title, text, tuple(t), bytes(sv or b"")) for pid, rid, title, text, t, _, sv in rows
    ]
    vectors = None
    dims = {len(bytes(row[5])) // 4 for row in rows if row[5] and row[1] in encoder_ok}
    if encoder and len(dims) == 1:
        dim = dims.pop()
        vectors = np.zeros((len(rows), dim), dtype=np.float32)
        for i, row in enumerate(rows):
            if row[5] and row[1] in encoder_ok:
                vectors[i] = np.frombuffer(bytes(row[5]), dtype=np.float32)
    index = CourseIndex(passages, vectors)
    with _index_lock:
        if len(_index_cache) > 256:  # bounded: one entry per recently asked course
            _index_cache.clear()
        _index_cache[(course_id, language)] = (stamp, index)
    return index


def askable_resource_ids(*, course_id: int) -> set[int]:
    """Active resources the teacher has not hidden: the only ones an answer may quote."""
    hidden = ResourceOverride.objects.filter(course_id=course_id, action=OverrideAction.HIDE).values("resource_id")
    return set(
        LearningResource.objects.filter(course_id=course_id, is_active=True)
        .exclude(id__in=hidden)
        .values_list("id", flat=True)
    )


def resources_needing_index(*, course_id: int) -> list[int]:
    """Resources never indexed, or changed since (their index row's hash was cleared)."""
    return list(
        LearningResource.objects.filter(course_id=course_id)
        .filter(Q(recommender_index__isnull=True) | Q(recommender_index__content_hash=""))
        .values_list("id", flat=True)
    )


def content_hash(title: str, body: str, language: str) -> str:
    return hashlib.sha256(f"{language}\x00{title}\x00{body}".encode()).hexdigest()


# --- Questions and overrides -----------------------------------------------------------------


def questions_for_staff(*, course_id: int, status: str | None = None) -> QuerySet[Question]:
    qs = Question.objects.filter(course_id=course_id).select_related("student", "resolved_by")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def questions_of_student(*, student_id: int, course_id: int) -> QuerySet[Question]:
    return Question.objects.filter(student_id=student_id, course_id=course_id).order_by("-created_at", "-id")


def still_askable(passages: list[dict], askable: set[int]) -> list[dict]:
    """The stored passages whose resource a student may still see (``askable_resource_ids``)."""
    return [h for h in passages if h.get("resource_id") in askable]


def stored_answer(*, question: Question) -> AnswerData:
    """The answer as the student was shown it when they asked (the passages are stored with the
    question), not a new search: the resources' text may have changed since. Passages of a
    resource the teacher has hidden or deactivated since, or deleted, are left out, as a new
    answer would leave them out (``askable_resource_ids``)."""
    stored = question.answer or []
    askable = askable_resource_ids(course_id=question.course_id) if stored else set()
    hits = tuple(
        PassageHit(
            passage_id=h["passage_id"],
            resource_id=h["resource_id"],
            resource_title=h["resource_title"],
            text=h["text"],
            highlight=(h["highlight"][0], h["highlight"][1]),
            score=h["score"],
            semantic=h["semantic"],
            lexical=h["lexical"],
        )
        for h in still_askable(stored, askable)
    )
    return AnswerData(
        question_id=question.pk,
        found=bool(hits),  # passages are stored only for a question the course could answer
        language=question.language,
        hits=hits,
        top_score=question.top_score,
        status=question.status,
    )


def overrides_for_course(*, course_id: int) -> dict[int, str]:
    return dict(ResourceOverride.objects.filter(course_id=course_id).values_list("resource_id", "action"))


def resources_with_overrides(*, course_id: int) -> list[dict]:
    overrides = overrides_for_course(course_id=course_id)
    indexed = dict(ResourceIndex.objects.filter(course_id=course_id).values_list("resource_id", "passage_count"))
    return [
        {**r, "override": overrides.get(r["id"], ""), "passages": indexed.get(r["id"])}
        for r in LearningResource.objects.filter(course_id=course_id)
        .order_by("title", "id")
        .values("id", "title", "kind", "is_active")
    ]
