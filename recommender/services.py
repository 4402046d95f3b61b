"""Writes of the recommender. Keyword-only arguments; database writes under ``transaction.atomic``
(model inference, which takes seconds, always runs outside a transaction).

Callers have checked WHO asks (views, api.py); these functions check WHAT is asked (the
resource belongs to the course, the question is text of a sane length, the student is
enrolled) and raise ``ValidationError`` with a message per field otherwise.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from eduai.courses import api as courses
from eduai.courses.models import ActivityEvent, Course, LearningResource, ObjectType, PracticeItem

from . import cf, ranking, retrieval, selectors, sources
from .data import AnswerData, PassageHit
from .models import (
    CourseProfile,
    OverrideAction,
    Passage,
    Question,
    QuestionStatus,
    RecommendationSet,
    ResourceIndex,
    ResourceOverride,
)

log = logging.getLogger(__name__)

# How many ranked activities are cached per student: more than a page (10) so that hiding or
# deleting a few resources never leaves the served list short.
RECOMMENDATIONS_KEPT = 20
# Students ranked per database round trip in the batch refresh (memory: ~20 KiB per student).
REFRESH_CHUNK = 500
# Longest question accepted (characters): a question, not an essay.
QUESTION_MAX_CHARS = int(getattr(settings, "EDUAI_MAX_QUESTION_CHARS", 1000))
# Resources embedded per encoder call while indexing (memory: passages x 1.5 KiB).
INDEX_CHUNK = 50

VERB_ASKED = "http://adlnet.gov/expapi/verbs/asked"
_WORDLIKE = re.compile(r"[A-Za-z0-9\u00c0-\u024f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


# --- Indexing the course's resources ---------------------------------------------------------


def _resource_language(declared: str, course_language: str, text: str) -> str:
    if declared:
        return "zh" if declared.lower().startswith("zh") else "en"
    detected = courses.detect_language(text) if text.strip() else course_language
    return "zh" if detected.startswith("zh") else "en"


def course_index(*, course_id: int, resource_ids: Iterable[int] | None = None, force: bool = False) -> int:
    """(Re)build passages and vectors of the course's resources that need it; returns how many
    were indexed. Unchanged resources (same text and encoder) are skipped unless ``force``."""
    if resource_ids is None:
        ids = (
            list(LearningResource.objects.filter(course_id=course_id).values_list("id", flat=True))
            if force
            else selectors.resources_needing_index(course_id=course_id)
        )
    else:
        ids = list(
            LearningResource.objects.filter(course_id=course_id, id__in=list(resource_ids)).values_list("id", flat=True)
        )
    done = 0
    for start in range(0, len(ids), INDEX_CHUNK):
        done += _index_chunk(ids[start : start + INDEX_CHUNK], force=force)
    return done


def _index_chunk(ids: list[int], *, force: bool) -> int:
    rows = list(
        LearningResource.objects.filter(id__in=ids).values(
            "id", "course_id", "title", "body", "language", "course__language"
        )
    )
    existing = {
        r["resource_id"]: r
        for r in ResourceIndex.objects.filter(resource_id__in=ids).values("resource_id", "content_hash", "encoder")
    }
    plans: list[_Plan] = []
    for r in rows:
        lang = _resource_language(r["language"], r["course__language"], f"{r['title']}\n{r['body']}")
        digest = selectors.content_hash(r["title"], r["body"], lang)
        encoder = sources.encoder_name(lang)
        old = existing.get(r["id"])
        if not force and old and old["content_hash"] == digest and old["encoder"] == encoder:
            continue
        passages = retrieval.split_passages(r["body"]) or [r["title"]]
        title_terms = retrieval.terms(r["title"])
        plans.append(
            _Plan(
                id=r["id"],
                course_id=r["course_id"],
                title=r["title"],
                lang=lang,
                digest=digest,
                encoder=encoder,
                passages=passages,
                terms=[retrieval.terms(p) + title_terms for p in passages],
            )
        )
    # Embed per language, outside any transaction (seconds on CPU): each passage (with its
    # resource's title, which often names the topic) and each of its sentences (highlighting).
    by_lang: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    texts_by_lang: dict[str, list[str]] = defaultdict(list)
    for pi, plan in enumerate(plans):
        for j, passage in enumerate(plan.passages):
            by_lang[plan.lang].append((pi, j, -1))
            texts_by_lang[plan.lang].append(f"{plan.title}. {passage}")
            for k, (a, b) in enumerate(retrieval.sentence_spans(passage)):
                by_lang[plan.lang].append((pi, j, k))
                texts_by_lang[plan.lang].append(passage[a:b])
    vectors: dict[tuple[int, int, int], np.ndarray] = {}
    for lang, keys in by_lang.items():
        embedded = sources.embed_texts(texts_by_lang[lang], language=lang)
        if embedded is None:
            for plan in plans:
                if plan.lang == lang:
                    plan.encoder = ""
            continue
        for key, vec in zip(keys, embedded, strict=True):
            vectors[key] = vec
    written = 0
    for pi, plan in enumerate(plans):
        with transaction.atomic():
            current = LearningResource.objects.select_for_update().filter(pk=plan.id).values("title", "body").first()
            if current is None or selectors.content_hash(current["title"], current["body"], plan.lang) != plan.digest:
                continue  # deleted or edited meanwhile: the next indexing run picks the new text up
            Passage.objects.filter(resource_id=plan.id).delete()
            pvecs = [vectors.get((pi, j, -1)) for j in range(len(plan.passages))]
            svecs = [
                [vectors.get((pi, j, k)) for k in range(len(retrieval.sentence_spans(text)))]
                for j, text in enumerate(plan.passages)
            ]
            Passage.objects.bulk_create(
                [
                    Passage(
                        resource_id=plan.id,
                        course_id=plan.course_id,
                        position=j,
                        text=text[:20000],
                        language=plan.lang,
                        terms=plan.terms[j],
                        vector=_stack([pvecs[j]]),
                        sentence_vectors=_stack(svecs[j]),
                    )
                    for j, text in enumerate(plan.passages)
                ]
            )
            present = [v for v in pvecs if v is not None]
            mean_bytes = b""
            if present:
                mean = np.mean(present, axis=0)
                mean_bytes = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32).tobytes()
            ResourceIndex.objects.update_or_create(
                resource_id=plan.id,
                defaults={
                    "course_id": plan.course_id,
                    "content_hash": plan.digest,
                    "vector": mean_bytes,
                    "encoder": plan.encoder if present else "",
                    "language": plan.lang,
                    "passage_count": len(plan.passages),
                },
            )
            written += 1
    return written


@dataclass
class _Plan:
    """One resource to (re)index: its text cut into passages, before embedding."""

    id: int
    course_id: int
    title: str
    lang: str
    digest: str
    encoder: str
    passages: list[str]
    terms: list[list[str]]


def _stack(vectors: list[np.ndarray | None]) -> bytes:
    """Rows as float32 bytes; b"" unless every row has a vector."""
    present = [v for v in vectors if v is not None]
    if not vectors or len(present) != len(vectors):
        return b""
    return np.stack(present).astype(np.float32).tobytes()


def resource_index_invalidate(*, resource_id: int) -> None:
    """Mark a resource's index stale (its text may have changed); the next indexing rebuilds it.
    Cheap: no model, one UPDATE; the old passages keep answering until then."""
    ResourceIndex.objects.filter(resource_id=resource_id).update(content_hash="")


# --- Recommendations -------------------------------------------------------------------------


def recommendations_refresh(
    *,
    course_id: int,
    student_ids: Sequence[int] | None = None,
    now: datetime | None = None,
    rebuild_profile: bool | None = None,
) -> tuple[int, list[int]]:
    """Rank and cache the recommendations of students of one course (all active students when
    ``student_ids`` is None; others given are ignored). Returns (refreshed count, students who
    had an event while this ran and need another refresh)."""
    started = now or timezone.now()
    everyone = student_ids is None
    active = set(selectors.active_student_ids(course_id=course_id))
    ids = sorted(active if everyone else active.intersection(int(s) for s in student_ids or ()))
    if not ids:
        return 0, []
    if rebuild_profile if rebuild_profile is not None else everyone:
        course_profile_rebuild(course_id=course_id)
    language = Course.objects.filter(pk=course_id).values_list("language", flat=True).first() or "en"
    catalog = selectors.catalog_for_course(course_id=course_id, now=started, language=language)
    hidden = frozenset(
        f"resource:{rid}"
        for rid, action in selectors.overrides_for_course(course_id=course_id).items()
        if action == OverrideAction.HIDE
    )
    prepared = ranking.prepare(catalog)
    computed_at = timezone.now()
    refreshed = 0
    for start in range(0, len(ids), REFRESH_CHUNK):
        chunk = ids[start : start + REFRESH_CHUNK]
        states = selectors.learner_states(course_id=course_id, student_ids=chunk, catalog=catalog, now=started)
        rows = []
        for sid in chunk:
            state = states[sid]
            recs = ranking.rank(prepared, state, now=started, limit=RECOMMENDATIONS_KEPT, exclude=hidden)
            rows.append(
                RecommendationSet(
                    student_id=sid,
                    course_id=course_id,
                    items=[r.to_json() for r in recs],
                    cold_start=not state.has_history,
                    computed_at=computed_at,
                )
            )
        with transaction.atomic():
            RecommendationSet.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["student", "course"],
                update_fields=["items", "cold_start", "computed_at"],
                batch_size=500,
            )
            # Fresh only if no event arrived after we started reading (see RecommendationSet).
            RecommendationSet.objects.filter(course_id=course_id, student_id__in=chunk).exclude(
                dirty_at__gt=started
            ).update(stale_since=None)
        refreshed += len(chunk)
    again = list(
        RecommendationSet.objects.filter(
            course_id=course_id, student_id__in=ids, stale_since__isnull=False, dirty_at__gt=started
        ).values_list("student_id", flat=True)
    )
    return refreshed, sorted(again)


def recommendations_mark_stale(*, pairs: Iterable[tuple[int, int]]) -> dict[int, list[int]]:
    """Note that (course, student) pairs had new evidence. Returns {course: [students]} whose
    lists were fresh until now: only those need a refresh scheduled (the debounce)."""
    by_course: dict[int, set[int]] = defaultdict(set)
    for course_id, student_id in pairs:
        by_course[int(course_id)].add(int(student_id))
    at = timezone.now()
    schedule: dict[int, list[int]] = {}
    for course_id, students in by_course.items():
        with transaction.atomic():
            RecommendationSet.objects.bulk_create(
                [RecommendationSet(student_id=s, course_id=course_id) for s in students], ignore_conflicts=True
            )
            rows = RecommendationSet.objects.filter(course_id=course_id, student_id__in=students)
            rows.update(dirty_at=at)
            fresh = list(rows.filter(stale_since__isnull=True).values_list("student_id", flat=True))
            rows.filter(stale_since__isnull=True).update(stale_since=at)
        if fresh:
            schedule[course_id] = sorted(fresh)
    return schedule


def course_profile_rebuild(*, course_id: int) -> dict:
    """Recompute 'what helped similar students' and popularity from the course's whole log."""
    students = selectors.active_student_ids(course_id=course_id)
    skills_of: dict[str, list[int]] = defaultdict(list)
    for iid, sid in PracticeItem.skills.through.objects.filter(practiceitem__course_id=course_id).values_list(
        "practiceitem_id", "skill_id"
    ):
        skills_of[f"practice:{iid}"].append(sid)
    for rid, sid in LearningResource.skills.through.objects.filter(learningresource__course_id=course_id).values_list(
        "learningresource_id", "skill_id"
    ):
        skills_of[f"resource:{rid}"].append(sid)
    histories: dict[int, list[cf.Touch]] = defaultdict(list)
    rows = (
        ActivityEvent.objects.filter(course_id=course_id, actor_id__in=students, voided=False)
        .filter(object_type__in=[ObjectType.PRACTICE_ITEM, ObjectType.RESOURCE])
        .order_by("actor_id", "timestamp", "id")
        .values_list("actor_id", "practice_item_id", "resource_id", "result_success")
    )
    for actor, item, resource, ok in rows.iterator(chunk_size=5000):
        if item is not None and ok is not None:
            histories[actor].append(cf.Touch(f"practice:{item}", 1.0 if ok else 0.0))
        elif resource is not None:
            histories[actor].append(cf.Touch(f"resource:{resource}"))
    mastery = sources.mastery_for_students(student_ids=students, course_id=course_id) if students else {}
    skill_ids = sorted(sources.skill_ids_of_course(course_id))
    profile = cf.build_profile(
        histories=histories,
        mastery={s: {k: v.p for k, v in m.items()} for s, m in mastery.items()},
        skill_ids=skill_ids,
        skills_of=skills_of,
        seed=course_id,
    )
    with transaction.atomic():
        CourseProfile.objects.update_or_create(course_id=course_id, defaults={"data": profile})
    return profile


# --- Teachers' pins and hides ----------------------------------------------------------------


@transaction.atomic
def resource_override_set(*, course_id: int, resource_id: object, action: str, user_id: int, note: str = "") -> str:
    """Pin, hide or clear (action "") one resource of the course. Returns the new state."""
    if action not in {OverrideAction.PIN, OverrideAction.HIDE, ""}:
        raise ValidationError({"action": _("Choose 'pin', 'hide' or '' (clear).")})
    try:
        rid = int(resource_id)  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise ValidationError({"resource": _("Expected a resource id.")}) from exc
    if not LearningResource.objects.filter(pk=rid, course_id=course_id).exists():
        raise ValidationError({"resource": _("This course has no such resource.")})
    note = courses.clean_text(note, field="note", max_chars=300, allow_empty=True)
    if action == "":
        ResourceOverride.objects.filter(course_id=course_id, resource_id=rid).delete()
        return ""
    ResourceOverride.objects.update_or_create(
        course_id=course_id, resource_id=rid, defaults={"action": action, "note": note, "created_by_id": user_id}
    )
    return action


# --- Ask the course --------------------------------------------------------------------------


def question_clean(value: object) -> str:
    text = courses.clean_text(value, field="question", max_chars=QUESTION_MAX_CHARS)
    text = " ".join(text.split())
    if not _WORDLIKE.search(text):
        raise ValidationError({"question": _("Type your question in words.")})
    return text


def course_answer(*, course_id: int, text: str) -> AnswerData:
    """Search the course for ``text`` (already clean); no writes except lazy indexing."""
    if selectors.resources_needing_index(course_id=course_id):
        course_index(course_id=course_id)
    language = courses.detect_language(text)
    index = selectors.course_search_index(course_id=course_id, language=language)
    allowed_ids = selectors.askable_resource_ids(course_id=course_id)
    allowed = np.array([p.resource_id in allowed_ids for p in index.passages], dtype=bool)
    qvec = None
    if index.vectors is not None and index.has_vector.any():
        embedded = sources.embed_texts([text], language=language)
        qvec = embedded[0] if embedded is not None and len(embedded) else None
    found_rows = index.search(text, qvec, allowed=allowed)
    hits: list[PassageHit] = []
    qterms = retrieval.terms(text)
    idf = {t: float(index.idf[index.vocab[t]]) if t in index.vocab else index.oov_idf for t in qterms}
    for i, fused, sem, lex in found_rows:
        p = index.passages[i]
        sentence_vectors = index.sentence_vectors(i) if qvec is not None and index.has_vector[i] else None
        span = retrieval.best_sentence(
            p.text,
            qterms,
            idf=idf,
            query_vector=qvec if sentence_vectors is not None else None,
            sentence_vectors=sentence_vectors,
        )
        hits.append(PassageHit(p.id, p.resource_id, p.resource_title, p.text, span, fused, sem, lex))
    semantic_mode = bool(found_rows) and qvec is not None and bool(index.has_vector[found_rows[0][0]])
    top = hits[0].score if hits else 0.0
    found = bool(hits) and top >= index.threshold(semantic_mode)
    return AnswerData(
        question_id=None,
        found=found,
        language=language,
        hits=tuple(hits),
        top_score=top,
        status=QuestionStatus.ANSWERED if found else QuestionStatus.NOT_FOUND,
    )


def question_ask(*, course_id: int, student_id: int, text: object) -> AnswerData:
    """Answer a student's question from the course's resources, store it and log it as activity."""
    clean = question_clean(text)
    if not Course.objects.filter(pk=course_id).exists():
        raise ValidationError({"course": _("No such course.")})
    answer = course_answer(course_id=course_id, text=clean)
    with transaction.atomic():
        question = Question.objects.create(
            course_id=course_id,
            student_id=student_id,
            text=clean,
            language=answer.language,
            status=answer.status,
            top_score=round(answer.top_score, 4),
            answer=[h.to_json() for h in answer.hits] if answer.found else [],
        )
        courses.activity_events_record(
            events=[
                courses.EventInput(
                    course_id=course_id,
                    actor_id=student_id,
                    verb=VERB_ASKED,
                    timestamp=question.created_at,
                    object_type=ObjectType.QUESTION,
                    object_iri=f"urn:eduai:question:{question.pk}",
                    result_success=answer.found,
                    result_response=clean,
                    statement_id=uuid.uuid4(),
                    raw={
                        "question_id": question.pk,
                        "found": answer.found,
                        "top_score": round(answer.top_score, 4),
                        "passages": [h.passage_id for h in answer.hits],
                        "resources": [h.resource_id for h in answer.hits],
                        "answer": answer.hits[0].highlighted if answer.found and answer.hits else "",
                    },
                )
            ]
        )
    return AnswerData(
        question_id=question.pk,
        found=answer.found,
        language=answer.language,
        hits=answer.hits,
        top_score=answer.top_score,
        status=answer.status,
    )


@transaction.atomic
def question_send_to_teacher(*, question_id: int, student_id: int) -> Question:
    """Put the student's own question on the teacher's list (idempotent)."""
    question = Question.objects.select_for_update().filter(pk=question_id, student_id=student_id).first()
    if question is None:
        raise ValidationError({"question": _("No such question of yours.")})
    if question.status in {QuestionStatus.ANSWERED, QuestionStatus.NOT_FOUND}:
        question.status = QuestionStatus.SENT
        question.sent_at = timezone.now()
        question.save(update_fields=["status", "sent_at"])
    return question


@transaction.atomic
def question_resolve(*, question_id: int, course_id: int, user_id: int, reply: object = "") -> Question:
    question = Question.objects.select_for_update().filter(pk=question_id, course_id=course_id).first()
    if question is None:
        raise ValidationError({"question": _("No such question in this course.")})
    question.teacher_reply = courses.clean_text(reply, field="reply", max_chars=5000, allow_empty=True).strip()
    question.status = QuestionStatus.RESOLVED
    question.resolved_by_id = user_id
    question.resolved_at = timezone.now()
    question.save(update_fields=["teacher_reply", "status", "resolved_by", "resolved_at"])
    return question
