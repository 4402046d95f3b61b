"""Writes of assessment: evidence in, mastery out, models trained and activated.

Every change to a student's mastery in a course happens with that student's ``StudentKTState``
row locked (``select_for_update``), inside ``transaction.atomic``; the state, the mastery rows
and the history are written together or not at all. Rules:

- A new piece of evidence that is later (by ``occurred_at``, then id) than everything already
  folded in updates the cached state online: one model update, O(1) in the history length.
- A late piece of evidence (earlier than the last one folded in), a voided event, a changed
  grade, or a new active model rebuilds the student's state by replaying their evidence in
  time order; history rows from the earliest changed time on are rewritten.
- A re-delivered event or grade (same statement / submission, same value) changes nothing.
- Events that are not practice responses with a ``result_success`` (a video watched, an item
  without a result) are not evidence; they still count as activity for ``risk``.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from eduai.courses import api as courses
from eduai.courses.models import ActivityEvent, ObjectType, Skill, Submission

from .kt import loader
from .kt.base import KnowledgeTracer, Response, replay
from .models import (
    Evidence,
    EvidenceKind,
    KTMethod,
    KTModelStatus,
    KTModelVersion,
    Mastery,
    MasteryHistory,
    StudentKTState,
)

log = logging.getLogger(__name__)

# Pieces of evidence a trend looks back over (the dashboards' "falling" is p now vs 5 ago).
TREND_WINDOW = 5
# A school needs at least this much history before a trained model is worth registering;
# below it the held-out AUC is noise (±0.05 at 20 students).
MIN_TRAIN_STUDENTS = 20
MIN_TRAIN_RESPONSES = 500


# ---------------------------------------------------------------------------------------------
# Which model serves a course
# ---------------------------------------------------------------------------------------------


def active_version(*, school_id: int) -> KTModelVersion | None:
    return KTModelVersion.objects.filter(school_id=school_id, status=KTModelStatus.ACTIVE).first()


def model_of_version(version: KTModelVersion | None) -> KnowledgeTracer:
    if version is None:
        return loader.default_model()
    return loader.model_for(version.method, Path(settings.EDUAI_MODEL_ROOT) / version.artefact_path)


def serving_model(*, course_id: int) -> tuple[KnowledgeTracer, KTModelVersion | None]:
    """The active model of the course's school (one query), or the cold-start BKT."""
    version = KTModelVersion.objects.filter(school__courses__id=course_id, status=KTModelStatus.ACTIVE).first()
    try:
        return model_of_version(version), version
    except (OSError, ValueError, KeyError):
        # a missing or unreadable artefact must not stop mastery: fall back to cold start
        log.exception("knowledge-tracing artefact of %s unreadable; using default BKT", version)
        return loader.default_model(), None


def _active_version_id() -> Subquery:
    """The active version of the school of the row's course: read together with the locked
    state row, which saves the online update a query (a third of its ORM time)."""
    return Subquery(
        KTModelVersion.objects.filter(school__courses=OuterRef("course_id"), status=KTModelStatus.ACTIVE)
        .order_by()
        .values("pk")[:1]
    )


def _serving_for_row(row: StudentKTState) -> tuple[KnowledgeTracer, int | None]:
    """``serving_model`` from the version id read with the locked row: (model, version id)."""
    version_id = getattr(row, "active_version_id", None)
    if version_id is None:
        return loader.default_model(), None
    known = loader.VERSIONS.get(version_id)
    if known is None:
        version = KTModelVersion.objects.filter(pk=version_id).only("method", "artefact_path").first()
        if version is None:  # deleted since the row was read
            return loader.default_model(), None
        known = (version.method, version.artefact_path)
        if version.artefact_path:
            loader.VERSIONS[version_id] = known
    try:
        return loader.model_for(known[0], Path(settings.EDUAI_MODEL_ROOT) / known[1]), version_id
    except (OSError, ValueError, KeyError):
        log.exception("knowledge-tracing artefact of version %s unreadable; using default BKT", version_id)
        return loader.default_model(), None


# ---------------------------------------------------------------------------------------------
# Evidence in
# ---------------------------------------------------------------------------------------------


def _response(e: Evidence) -> Response:
    return Response(item=e.item_key, skills=tuple(str(s) for s in e.skill_ids), correct=float(e.credit))


def evidence_from_events(*, event_ids: Iterable[int]) -> int:
    """Turn activity events into evidence and fold them in. Returns the number of students touched.

    Safe to run twice with the same ids: evidence is keyed by event, a second run finds it.
    """
    ids = sorted({int(i) for i in event_ids})
    if not ids:
        return 0
    # events and their items' skills in one query (a LEFT JOIN: one row per skill, or one
    # with None): a query less on the online path
    by_id: dict[int, ActivityEvent] = {}
    item_skills: dict[int, list[int]] = defaultdict(list)
    for pk, course_id, actor_id, object_type, item_id, success, timestamp, voided, skill_id in (
        ActivityEvent.objects.filter(pk__in=ids)
        .order_by()
        .values_list(
            "id",
            "course_id",
            "actor_id",
            "object_type",
            "practice_item_id",
            "result_success",
            "timestamp",
            "voided",
            "practice_item__skills",
        )
    ):
        if pk not in by_id:
            by_id[pk] = ActivityEvent(
                id=pk,
                course_id=course_id,
                actor_id=actor_id,
                object_type=object_type,
                practice_item_id=item_id,
                result_success=success,
                timestamp=timestamp,
                voided=voided,
            )
        if skill_id is not None and skill_id not in item_skills[item_id]:
            item_skills[item_id].append(skill_id)
    events = [by_id[pk] for pk in ids if pk in by_id]
    groups: dict[tuple[int, int], list[ActivityEvent]] = defaultdict(list)
    for e in events:
        if e.voided or (
            e.object_type == ObjectType.PRACTICE_ITEM and e.practice_item_id and e.result_success is not None
        ):
            groups[(e.actor_id, e.course_id)].append(e)
    for (student_id, course_id), evs in groups.items():
        _fold_events(student_id=student_id, course_id=course_id, events=evs, item_skills=item_skills)
    return len(groups)


def _fold_events(
    *, student_id: int, course_id: int, events: list[ActivityEvent], item_skills: dict[int, list[int]]
) -> None:
    with transaction.atomic():
        row = _lock_state(student_id=student_id, course_id=course_id)
        event_ids = [e.pk for e in events]
        existing = dict(Evidence.objects.filter(event_id__in=event_ids).values_list("event_id", "id"))
        removed = [e for e in events if e.voided and e.pk in existing]
        removed_at = None
        if removed:
            removed_rows = list(Evidence.objects.filter(event_id__in=[e.pk for e in removed]))
            removed_at = min(r.occurred_at for r in removed_rows)
            Evidence.objects.filter(pk__in=[r.pk for r in removed_rows]).delete()
        new = [
            Evidence(
                student_id=student_id,
                course_id=course_id,
                kind=EvidenceKind.RESPONSE,
                event_id=e.pk,
                item_key=str(e.practice_item_id),
                skill_ids=sorted(item_skills.get(e.practice_item_id or 0, [])),
                credit=1.0 if e.result_success else 0.0,
                occurred_at=e.timestamp,
            )
            for e in events
            if not e.voided and e.pk not in existing
        ]
        created = [
            Evidence.objects.create(**_fields(ev)) for ev in sorted(new, key=lambda x: (x.occurred_at, x.event_id))
        ]
        _fold(row, created, changed_since=removed_at)


def _fields(ev: Evidence) -> dict[str, Any]:
    return {
        f: getattr(ev, f)
        for f in (
            "student_id",
            "course_id",
            "kind",
            "event_id",
            "submission_id",
            "assignment_id",
            "item_key",
            "skill_ids",
            "credit",
            "occurred_at",
        )
    }


def grade_credit(
    *, score: object, min_score: int, max_score: int, traits: Sequence[tuple[object, int, int]] = ()
) -> float:
    """Partial credit in [0, 1] of a grade: the normalised score, averaged half-and-half with
    the mean normalised trait score when the rubric has traits that were scored.

    ``traits`` holds (score, min, max) per scored trait. A score outside its range, or not a
    number, raises ``ValueError`` (the grade is refused, no state is touched).
    """

    def norm(value: object, lo: int, hi: int, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{what} must be a number, got {value!r}")
        v = float(value)
        if not math.isfinite(v) or v < lo or v > hi:
            raise ValueError(f"{what} {value!r} is outside the rubric range [{lo}, {hi}]")
        return (v - lo) / (hi - lo)

    overall = norm(score, min_score, max_score, "score")
    if not traits:
        return overall
    trait_mean = sum(norm(s, lo, hi, "trait score") for s, lo, hi in traits) / len(traits)
    return 0.5 * overall + 0.5 * trait_mean


def _trait_value(trait_scores: dict[Any, object], trait_id: int, name: str) -> float | None:
    """A trait's score from the payload, keyed by id or name; the value may be a number or the
    grading engine's ``{"score": n, ...}``. Anything else counts as not scored."""
    for key in (trait_id, str(trait_id), name):
        if key in trait_scores:
            value = trait_scores[key]
            if isinstance(value, dict):
                value = value.get("score")
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                return float(value)
            return None
    return None


def evidence_from_grade(
    *,
    submission_id: int,
    assignment_id: int,
    course_id: int,
    score: object,
    trait_scores: dict[Any, object] | None = None,
) -> bool:
    """Record a released grade as evidence for the assignment's skills. True if mastery changed.

    ``trait_scores`` maps trait id (or name) to its score (or ``{"score": n, ...}``), when the
    grading engine sends them; a trait score that is missing, not a number or out of its range
    is left out (the overall score alone still counts).
    The grade counts at the submission's time (when the work was done), so it is usually
    "late" and triggers a replay. A re-released grade with the same credit changes nothing; a
    changed grade replaces the old evidence.
    """
    a = courses.assignment_data(assignment_id=assignment_id)
    if a.course_id != course_id:
        raise ValueError(f"assignment {assignment_id} is not in course {course_id}")
    sub = Submission.objects.only("id", "author_id", "assignment_id", "submitted_at").get(pk=submission_id)
    if sub.assignment_id != assignment_id:
        raise ValueError(f"submission {submission_id} is not for assignment {assignment_id}")
    traits: list[tuple[object, int, int]] = []
    for t in a.traits:
        value = _trait_value(trait_scores or {}, t.id, t.name)
        if value is None:
            continue
        if not (t.min_score <= value <= t.max_score):
            # the overall score is the grade of record; a stray trait score is dropped, not fatal
            log.warning("trait %s score %r outside [%s, %s]; ignored", t.name, value, t.min_score, t.max_score)
            continue
        traits.append((value, t.min_score, t.max_score))
    credit = grade_credit(score=score, min_score=a.min_score, max_score=a.max_score, traits=traits)
    if not a.skill_ids:
        return False
    with transaction.atomic():
        row = _lock_state(student_id=sub.author_id, course_id=course_id)
        old = Evidence.objects.filter(submission_id=submission_id).first()
        fields = {
            "student_id": sub.author_id,
            "course_id": course_id,
            "kind": EvidenceKind.GRADE,
            "submission_id": submission_id,
            "assignment_id": assignment_id,
            "item_key": f"assignment:{assignment_id}",
            "skill_ids": sorted(a.skill_ids),
            "credit": credit,
            "occurred_at": sub.submitted_at,
        }
        if old is not None:
            if abs(old.credit - credit) < 1e-9 and old.skill_ids == fields["skill_ids"]:
                return False
            Evidence.objects.filter(pk=old.pk).update(credit=credit, skill_ids=fields["skill_ids"])
            _fold(row, [], changed_since=old.occurred_at)
            return True
        _fold(row, [Evidence.objects.create(**fields)], changed_since=None)
        return True


# ---------------------------------------------------------------------------------------------
# Folding evidence into the state
# ---------------------------------------------------------------------------------------------


def _lock_state(*, student_id: int, course_id: int) -> StudentKTState:
    """The student's state row, locked, with ``active_version_id`` (the serving version)."""
    locked = StudentKTState.objects.select_for_update().annotate(active_version_id=_active_version_id())
    row = locked.filter(student_id=student_id, course_id=course_id).first()
    if row is not None:
        return row
    created, _ = StudentKTState.objects.get_or_create(student_id=student_id, course_id=course_id)
    return locked.get(pk=created.pk)


def _stamp(row: StudentKTState) -> tuple[Any, ...]:
    return (row.model_version_id, row.n_evidence, row.last_evidence_id)


def _fold(row: StudentKTState, new: list[Evidence], *, changed_since: datetime | None) -> None:
    model, version_id = _serving_for_row(row)
    stale = row.model_version_id != version_id or (row.n_evidence and row.state.get("method") != model.method)
    late = [
        e
        for e in new
        if row.last_occurred_at is not None
        and (e.occurred_at, e.pk) < (row.last_occurred_at, row.last_evidence_id or 0)
    ]
    if stale:
        _replay(row, model, version_id, since=None)
    elif changed_since is not None or late:
        since = min([t for t in [changed_since, *(e.occurred_at for e in late)] if t is not None])
        _replay(row, model, version_id, since=since)
    elif new:
        _online(row, model, new)


def _folded(row: StudentKTState) -> Q:
    """Evidence already folded into ``row``'s state: up to its (occurred_at, id) mark. Newer
    rows may exist inside the transaction that is about to fold them."""
    return Q(occurred_at__lt=row.last_occurred_at) | Q(occurred_at=row.last_occurred_at, id__lte=row.last_evidence_id)


def _recent_responses(row: StudentKTState, n: int) -> list[Response]:
    """The last ``n`` responses folded into ``row``'s state, oldest first (one indexed query)."""
    if n <= 0 or row.last_occurred_at is None:
        return []
    rows = list(
        Evidence.objects.filter(_folded(row), student_id=row.student_id, course_id=row.course_id)
        .order_by("-occurred_at", "-id")
        .values_list("item_key", "skill_ids", "credit")[:n]
    )
    rows.reverse()
    return [Response(item, tuple(str(k) for k in skills), float(credit)) for item, skills, credit in rows]


def _state_from_row(row: StudentKTState, model: KnowledgeTracer, recent: list[Response] | None = None) -> Any:
    """Rebuild the state from the stored (compact) dump plus, for a windowed model, the last
    responses read back from the evidence: what a worker without it in memory does."""
    if not (row.n_evidence and row.state):
        return model.new_state()
    if model.recent_needed and "recent" not in row.state and recent is None:
        recent = _recent_responses(row, model.recent_needed)
    return model.state_load(row.state, recent)


def _load_live_state(row: StudentKTState, model: KnowledgeTracer) -> Any:
    state = loader.STATES.get(row.pk, _stamp(row))
    if state is None:
        state = _state_from_row(row, model)
    # the live object is about to change: nobody may reuse it unless this transaction commits
    loader.STATES.discard(row.pk)
    return state


def live_states(
    *, student_ids: Iterable[int], course_id: int, model: KnowledgeTracer, version: KTModelVersion | None
) -> dict[int, Any]:
    """Read-only states of many students in a course under the serving ``model`` / ``version``,
    for predictions and priors (one query).

    Students without evidence, or whose state was written by another method, are left out
    (callers use ``model.new_state()``). A state still cached in this process is shared, not
    copied: callers must not change it.
    """
    version_id = version.pk if version else None
    out: dict[int, Any] = {}
    missing: list[StudentKTState] = []
    for row in StudentKTState.objects.filter(student_id__in=list(student_ids), course_id=course_id, n_evidence__gt=0):
        state = loader.STATES.get(row.pk, _stamp(row)) if row.model_version_id == version_id else None
        if state is not None:
            out[row.student_id] = state
        elif row.state.get("method") == model.method:
            missing.append(row)
    recent = _recent_responses_bulk(missing, model.recent_needed)
    for row in missing:
        out[row.student_id] = _state_from_row(row, model, recent.get(row.pk))
    return out


def _recent_responses_bulk(rows: list[StudentKTState], n: int) -> dict[int, list[Response]]:
    """``_recent_responses`` of many state rows in one query (a window function), for the rows
    whose dump is compact. A row whose evidence does not end at its mark is left out (its
    reader falls back to its own query)."""
    rows = [r for r in rows if n > 0 and "recent" not in r.state and r.last_occurred_at is not None]
    if not rows:
        return {}
    by_student = {r.student_id: r for r in rows}
    ranked = (
        Evidence.objects.filter(student_id__in=list(by_student), course_id=rows[0].course_id)
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("student_id")], order_by=[F("occurred_at").desc(), F("id").desc()])
        )
        .filter(rank__lte=n)
        .order_by("student_id", "occurred_at", "id")
        .values_list("student_id", "id", "item_key", "skill_ids", "credit")
    )
    got: dict[int, list[tuple[int, Response]]] = defaultdict(list)
    for student_id, evidence_id, item, skills, credit in ranked:
        got[student_id].append((evidence_id, Response(item, tuple(str(k) for k in skills), float(credit))))
    out: dict[int, list[Response]] = {}
    for student_id, row in by_student.items():
        mine = got.get(student_id, [])
        if len(mine) == min(n, row.n_evidence) and mine[-1][0] == row.last_evidence_id:
            out[row.pk] = [r for _, r in mine]
    return out


def _online(row: StudentKTState, model: KnowledgeTracer, new: list[Evidence]) -> None:
    state = _load_live_state(row, model)
    # new evidence's skills were read from the item / assignment in this same task: they exist
    # (a replay re-checks, since old evidence may name a skill deleted since)
    valid_skills = {int(s) for e in new for s in e.skill_ids}
    masteries = {
        m.skill_id: m
        for m in Mastery.objects.filter(student_id=row.student_id, skill_id__in=valid_skills).select_for_update()
    }
    history: list[MasteryHistory] = []
    for e in new:
        model.update(state, _response(e))
        estimates = model.mastery(state, [str(s) for s in e.skill_ids if s in valid_skills])
        for skill_key, p in estimates.items():
            sid = int(skill_key)
            m = masteries.get(sid)
            if m is None:
                m = Mastery(student_id=row.student_id, course_id=row.course_id, skill_id=sid, recent=[], n_evidence=0)
                masteries[sid] = m
            _set_mastery(m, p, e.occurred_at, model.method)
            history.append(_history_row(row, sid, p, e, model.method))
    _save_masteries(masteries.values())
    MasteryHistory.objects.bulk_create(history)
    last = new[-1]
    # compact: a windowed model's last responses are the evidence rows themselves; writing them
    # again as JSON on every update cost more than the update (docs/assessment.md)
    row.state = model.state_dump(state, compact=True)
    row.n_evidence += len(new)
    row.last_occurred_at, row.last_evidence_id = last.occurred_at, last.pk
    row.save(update_fields=["state", "n_evidence", "last_occurred_at", "last_evidence_id", "updated_at"])
    stamp, key = _stamp(row), row.pk
    transaction.on_commit(lambda: loader.STATES.put(key, stamp, state))


def _replay(row: StudentKTState, model: KnowledgeTracer, version_id: int | None, *, since: datetime | None) -> None:
    """Rebuild the state from all the student's evidence in time order; rewrite history from ``since``."""
    loader.STATES.discard(row.pk)
    evidence = list(
        Evidence.objects.filter(student_id=row.student_id, course_id=row.course_id).order_by("occurred_at", "id")
    )
    valid_skills = _existing_skills(evidence)
    state = model.new_state()
    per_skill: dict[int, list[tuple[float, datetime]]] = defaultdict(list)
    history: list[MasteryHistory] = []
    for e in evidence:
        model.update(state, _response(e))
        for skill_key, p in model.mastery(state, [str(s) for s in e.skill_ids if s in valid_skills]).items():
            sid = int(skill_key)
            per_skill[sid].append((p, e.occurred_at))
            if since is None or e.occurred_at >= since:
                history.append(_history_row(row, sid, p, e, model.method))
    old_history = MasteryHistory.objects.filter(student_id=row.student_id, course_id=row.course_id)
    if since is not None:
        old_history = old_history.filter(at__gte=since)
    old_history.delete()
    MasteryHistory.objects.bulk_create(history)
    existing = {
        m.skill_id: m
        for m in Mastery.objects.filter(student_id=row.student_id, course_id=row.course_id).select_for_update()
    }
    gone = [sid for sid in existing if sid not in per_skill]
    Mastery.objects.filter(student_id=row.student_id, course_id=row.course_id, skill_id__in=gone).delete()
    masteries = []
    for sid, points in per_skill.items():
        m = existing.get(sid) or Mastery(student_id=row.student_id, course_id=row.course_id, skill_id=sid)
        m.recent, m.n_evidence = [], 0
        for p, at in points[-(TREND_WINDOW + 1) :]:
            _set_mastery(m, p, at, model.method)
        m.n_evidence = len(points)
        m.as_of = points[-1][1]  # evidence is in time order; an old later as_of may be voided
        masteries.append(m)
    _save_masteries(masteries)
    row.model_version_id = version_id
    row.state = model.state_dump(state, compact=True) if evidence else {}
    row.n_evidence = len(evidence)
    row.last_occurred_at = evidence[-1].occurred_at if evidence else None
    row.last_evidence_id = evidence[-1].pk if evidence else None
    row.save()
    stamp, key = _stamp(row), row.pk
    if evidence:
        transaction.on_commit(lambda: loader.STATES.put(key, stamp, state))


def _existing_skills(evidence: Iterable[Evidence]) -> set[int]:
    wanted = {int(s) for e in evidence for s in e.skill_ids}
    return set(Skill.objects.filter(pk__in=wanted).values_list("pk", flat=True)) if wanted else set()


def _set_mastery(m: Mastery, p: float, at: datetime, method: str) -> None:
    p = min(1.0, max(0.0, float(p)))
    m.recent = ([*m.recent, round(p, 6)])[-(TREND_WINDOW + 1) :]
    m.p = p
    m.trend = p - m.recent[0] if len(m.recent) > 1 else 0.0
    m.n_evidence = (m.n_evidence or 0) + 1
    m.as_of = max(at, m.as_of) if m.as_of else at
    m.method = method


_MASTERY_FIELDS = ["p", "trend", "recent", "n_evidence", "method", "as_of", "updated_at"]


def _save_masteries(masteries: Iterable[Mastery]) -> None:
    new: list[Mastery] = []
    for m in masteries:
        if m.pk is None:
            new.append(m)
        else:
            m.save(update_fields=_MASTERY_FIELDS)
    Mastery.objects.bulk_create(new)


def _history_row(row: StudentKTState, sid: int, p: float, e: Evidence, method: str) -> MasteryHistory:
    return MasteryHistory(
        student_id=row.student_id,
        course_id=row.course_id,
        skill_id=sid,
        p=min(1.0, max(0.0, p)),
        method=method,
        at=e.occurred_at,
        evidence_id=e.pk,
    )


def mastery_rebuild(*, student_id: int, course_id: int) -> None:
    """Replay a student's whole evidence in a course with the serving model."""
    with transaction.atomic():
        row = _lock_state(student_id=student_id, course_id=course_id)
        model, version_id = _serving_for_row(row)
        _replay(row, model, version_id, since=None)


# ---------------------------------------------------------------------------------------------
# Training and the registry
# ---------------------------------------------------------------------------------------------


def kt_histories(*, school_id: int) -> list[list[Response]]:
    """Every (student, course) evidence history of a school, in time order."""
    rows = (
        Evidence.objects.filter(course__school_id=school_id)
        .order_by("student_id", "course_id", "occurred_at", "id")
        .values_list("student_id", "course_id", "item_key", "skill_ids", "credit")
    )
    out: dict[tuple[int, int], list[Response]] = defaultdict(list)
    for student_id, course_id, item, skills, credit in rows.iterator(chunk_size=5000):
        out[(student_id, course_id)].append(Response(item, tuple(str(s) for s in skills), float(credit)))
    return list(out.values())


def kt_model_train(
    *, school_id: int, method: str, hyperparameters: dict[str, Any] | None = None, seed: int = 0
) -> KTModelVersion:
    """Train a model on the school's history, register it, and activate it only if it beats the
    serving model on the same held-out students (10%, at least 2), replayed online.

    Raises ``ValueError`` when the school has too little history (see MIN_TRAIN_*).
    """
    from .kt.bkt import BKT
    from .kt.deep import DeepHyper, DeepKT

    if method not in KTMethod.values:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(KTMethod.values)}")
    histories = [h for h in kt_histories(school_id=school_id) if h]
    n_responses = sum(len(h) for h in histories)
    if len(histories) < MIN_TRAIN_STUDENTS or n_responses < MIN_TRAIN_RESPONSES:
        raise ValueError(
            f"school {school_id} has {len(histories)} student histories and {n_responses} responses; "
            f"training needs at least {MIN_TRAIN_STUDENTS} and {MIN_TRAIN_RESPONSES}"
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(histories))
    n_hold = max(2, len(histories) // 10)
    held = [histories[i] for i in order[:n_hold]]
    train = [histories[i] for i in order[n_hold:]]
    with transaction.atomic():
        last = KTModelVersion.objects.select_for_update().filter(school_id=school_id).order_by("-version").first()
        version = KTModelVersion.objects.create(
            school_id=school_id, method=method, version=(last.version + 1) if last else 1
        )
    model: KnowledgeTracer
    if method == KTMethod.DEEP:
        hp = DeepHyper(**(hyperparameters or {}))
        model = DeepKT(hp)
    else:
        model = BKT(**(hyperparameters or {}))
    t0 = time.perf_counter()
    try:
        info = model.fit(train, seed=seed)
    except Exception as exc:
        KTModelVersion.objects.filter(pk=version.pk).update(
            status=KTModelStatus.FAILED, info={"error": str(exc)[:2000]}
        )
        raise
    train_seconds = time.perf_counter() - t0
    relative = Path("assessment") / f"school-{school_id}" / f"{method}-v{version.version}"
    target = Path(settings.EDUAI_MODEL_ROOT) / relative
    if target.exists():
        shutil.rmtree(target)
    model.save(target)
    auc = replay(model, held).metrics()["auc"]
    current = active_version(school_id=school_id)
    try:
        baseline = model_of_version(current)
    except (OSError, ValueError, KeyError):
        baseline = loader.default_model()
    baseline_auc = replay(baseline, held).metrics()["auc"]
    better = not math.isnan(auc) and (math.isnan(baseline_auc) or auc > baseline_auc)
    info = {k: v for k, v in info.items() if k != "history"} | {"held_out_students": len(held)}
    with transaction.atomic():
        KTModelVersion.objects.filter(pk=version.pk).update(
            hyperparameters=model.hyperparameters(),
            n_train_students=len(train),
            n_train_responses=sum(len(h) for h in train),
            n_valid_students=len(held),
            valid_auc=None if math.isnan(auc) else auc,
            baseline_auc=None if math.isnan(baseline_auc) else baseline_auc,
            train_seconds=train_seconds,
            artefact_path=str(relative),
            info=_jsonable(info),
            status=KTModelStatus.REJECTED,
        )
        if better:
            kt_model_activate(version_id=version.pk)
    version.refresh_from_db()
    return version


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = None
        elif isinstance(v, int | float | str | bool) or v is None:
            out[k] = v
        else:
            out[k] = str(v)
    return out


def kt_model_activate(*, version_id: int) -> KTModelVersion:
    """Make a version the school's serving model and schedule every student's state rebuild."""
    with transaction.atomic():
        version = KTModelVersion.objects.select_for_update().get(pk=version_id)
        if version.status == KTModelStatus.FAILED or not version.artefact_path:
            raise ValueError(f"version {version_id} has no usable artefact")
        KTModelVersion.objects.filter(school_id=version.school_id, status=KTModelStatus.ACTIVE).exclude(
            pk=version.pk
        ).update(status=KTModelStatus.RETIRED)
        version.status = KTModelStatus.ACTIVE
        version.activated_at = timezone.now()
        version.save(update_fields=["status", "activated_at"])
        from . import tasks

        school_id = version.school_id
        transaction.on_commit(lambda: tasks.rebuild_school_mastery.delay(school_id))
    return version


def school_mastery_rebuild(*, school_id: int) -> int:
    """Replay every student state of a school whose model is not the active one. Returns count."""
    version = active_version(school_id=school_id)
    qs = StudentKTState.objects.filter(course__school_id=school_id)
    qs = qs.exclude(model_version=version) if version else qs.exclude(model_version__isnull=True)
    n = 0
    for student_id, course_id in qs.values_list("student_id", "course_id").iterator():
        mastery_rebuild(student_id=student_id, course_id=course_id)
        n += 1
    return n


__all__ = [
    "evidence_from_events",
    "evidence_from_grade",
    "grade_credit",
    "kt_histories",
    "kt_model_activate",
    "kt_model_train",
    "live_states",
    "mastery_rebuild",
    "school_mastery_rebuild",
    "serving_model",
]
