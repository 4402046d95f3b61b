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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, ManyToManyField, Model, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from eduai.courses import api as courses
from eduai.courses.models import ActivityEvent, Course, ObjectType, PracticeItem, Skill, Submission

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
    except loader.ArtefactRefused as exc:  # logged when it first failed
        log.debug("knowledge-tracing artefact of %s still unusable (%s); using default BKT", version, exc)
        return loader.default_model(), None
    except (OSError, ValueError, KeyError):
        # a missing or unreadable artefact must not stop mastery: fall back to cold start
        log.exception("knowledge-tracing artefact of %s unreadable; using default BKT", version)
        return loader.default_model(), None


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
    except loader.ArtefactRefused as exc:  # logged when it first failed
        log.debug("knowledge-tracing artefact of version %s still unusable (%s); using default BKT", version_id, exc)
        return loader.default_model(), None
    except (OSError, ValueError, KeyError):
        log.exception("knowledge-tracing artefact of version %s unreadable; using default BKT", version_id)
        return loader.default_model(), None


# ---------------------------------------------------------------------------------------------
# Evidence in
# ---------------------------------------------------------------------------------------------


def _response(e: Evidence) -> Response:
    return Response(item=e.item_key, skills=tuple(str(s) for s in e.skill_ids), correct=float(e.credit))


class _Event(NamedTuple):
    """The columns of an ``ActivityEvent`` the fold needs (a tuple: cheaper than a model
    instance on the online path)."""

    pk: int
    course_id: int
    actor_id: int
    object_type: str
    practice_item_id: int | None
    result_success: bool | None
    timestamp: datetime
    voided: bool
    stored_at: datetime


def evidence_from_events(*, event_ids: Iterable[int]) -> int:
    """Turn activity events into evidence and fold them in. Returns the number of students touched.

    Safe to run twice with the same ids: evidence is keyed by event, a second run finds it.
    """
    ids = sorted({int(i) for i in event_ids})
    if not ids:
        return 0
    # events, their items' skills and whether they already have evidence, in one query
    by_id: dict[int, _Event] = {}
    item_skills: dict[int, list[int]] = defaultdict(list)
    seen: set[int] = set()
    for *fields, skill_id, evidence_id in _read_events(ids):
        e = by_id.get(fields[0])
        if e is None:
            e = by_id[fields[0]] = _Event(*fields)
        if skill_id is not None and skill_id not in item_skills[e.practice_item_id or 0]:
            item_skills[e.practice_item_id or 0].append(skill_id)
        if evidence_id is not None:
            seen.add(e.pk)
    events = [by_id[pk] for pk in ids if pk in by_id]
    groups: dict[tuple[int, int], list[_Event]] = defaultdict(list)
    for e in events:
        if e.voided or (
            e.object_type == ObjectType.PRACTICE_ITEM and e.practice_item_id and e.result_success is not None
        ):
            groups[(e.actor_id, e.course_id)].append(e)
    for (student_id, course_id), evs in groups.items():
        _fold_events(student_id=student_id, course_id=course_id, events=evs, item_skills=item_skills, seen=seen)
    return len(groups)


def _fold_events(
    *,
    student_id: int,
    course_id: int,
    events: list[_Event],
    item_skills: dict[int, list[int]],
    seen: set[int],
) -> None:
    if not any(e.voided or e.pk in seen for e in events):
        # The usual case, new answers: skip the duplicate check under the lock. The unique
        # evidence-per-event key still guards it: if a second delivery of one of these events
        # committed its evidence after the read above, the insert fails, everything of this
        # attempt rolls back and the careful path below finds the evidence and does nothing.
        try:
            with transaction.atomic():
                row = _lock_state(student_id=student_id, course_id=course_id, derived_from_events=_resweepable(events))
                _fold(row, _insert_evidence(student_id, course_id, events, item_skills), changed_since=None)
            return
        except IntegrityError:
            log.info("evidence of events %s was written concurrently; folding again", [e.pk for e in events])
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
        fresh = [e for e in events if not e.voided and e.pk not in existing]
        _fold(row, _insert_evidence(student_id, course_id, fresh, item_skills), changed_since=removed_at)


def _resweepable(events: list[_Event]) -> bool:
    """Whether the sweep would find these new answers again if the commit that folds them in
    were lost (``_async_commit``): stored well inside its look-back (an hour's margin). Voids
    (the careful path) are never folded asynchronously: the sweep finds a lost void only while
    the voided event itself is inside the look-back, whenever it was voided."""
    from .sweep import lookback_hours  # the sweep imports this module

    horizon = timezone.now() - timedelta(hours=lookback_hours() - 1)
    return all(e.stored_at > horizon for e in events)


def _insert_evidence(
    student_id: int, course_id: int, events: list[_Event], item_skills: dict[int, list[int]]
) -> list[Evidence]:
    """Evidence rows of ``events`` (none voided), inserted in one statement, in time order."""
    new = sorted(
        (
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
        ),
        key=lambda x: (x.occurred_at, x.event_id),
    )
    if new:
        _insert_evidence_rows(new)
    return sorted(new, key=lambda x: (x.occurred_at, x.pk))


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
    only_if_missing: bool = False,
) -> bool:
    """Record a released grade as evidence for the assignment's skills. True if mastery changed.

    ``only_if_missing``: leave a grade that already has evidence as it is (the sweep, whose
    payload may be older than the evidence a re-release's own task wrote meanwhile).

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
            if only_if_missing or (abs(old.credit - credit) < 1e-9 and old.skill_ids == fields["skill_ids"]):
                return False
            Evidence.objects.filter(pk=old.pk).update(credit=credit, skill_ids=fields["skill_ids"])
            _fold(row, [], changed_since=old.occurred_at)
            return True
        _fold(row, [Evidence.objects.create(**fields)], changed_since=None)
        return True


# ---------------------------------------------------------------------------------------------
# Folding evidence into the state
# ---------------------------------------------------------------------------------------------


def _lock_state(*, student_id: int, course_id: int, derived_from_events: bool = False) -> StudentKTState:
    """The student's state row, locked, with ``active_version_id`` (the serving version).
    ``derived_from_events``: all this transaction will write is derived from activity events
    that the sweep folds in again if it is lost (the commit need not wait for the disk)."""
    async_commit = derived_from_events and _async_commit()
    row = _select_state(student_id, course_id, async_commit)
    if row is None:
        StudentKTState.objects.get_or_create(student_id=student_id, course_id=course_id)
        row = _select_state(student_id, course_id, async_commit)
        assert row is not None
    return row


def _stamp(row: StudentKTState) -> tuple[Any, ...]:
    """What a cached live state is valid for. ``updated_at`` changes with every write of the
    row, also a replay that leaves the counters as they were (a changed grade): without it,
    another worker would keep using its cached state from before the replay."""
    return (row.model_version_id, row.n_evidence, row.last_evidence_id, row.updated_at)


def _fold(row: StudentKTState, new: list[Evidence], *, changed_since: datetime | None) -> None:
    model, version_id = _serving_for_row(row)
    # the method that wrote the state: a live state valid for this row's stamp knows it, so
    # the stored JSON is decoded only on a worker without it
    live = loader.STATES.get(row.pk, _stamp(row))
    written_by = live.method if isinstance(live, _Live) else _stored_state(row).get("method")
    stale = row.model_version_id != version_id or (row.n_evidence and written_by != model.method)
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
        _online(row, model, new, cached=live if isinstance(live, _Live) else None)


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
    stored = _stored_state(row)
    if not (row.n_evidence and stored):
        return model.new_state()
    if model.recent_needed and "recent" not in stored and recent is None:
        recent = _recent_responses(row, model.recent_needed)
    return model.state_load(stored, recent)


class _Tail(NamedTuple):
    """A ``Mastery`` row's values that its next write builds on (p, trend follow from them)."""

    p: float
    recent: list[float]
    n_evidence: int
    as_of: datetime


@dataclass(slots=True)
class _Live:
    """A student's live model state and the tails of all their ``Mastery`` rows in the course,
    cached together (``loader.STATES``) under the state row's stamp. Every write of those rows
    happens with the state row locked and rewrites it, so the stamp covers them: a worker that
    still has them in memory writes mastery without reading it first."""

    state: Any
    tails: dict[int, _Tail]
    method: str  # of the model that wrote ``state``


def _load_live(row: StudentKTState, model: KnowledgeTracer, cached: _Live | None) -> _Live:
    """``cached``: the live state ``_fold`` found for this row's stamp (one cache lookup per
    answer), or None on a worker without it."""
    live = cached
    if live is not None:
        # A cached state is never changed once published: readers in other threads may be
        # computing with it (``live_states`` shares it). The update works on a fork, published
        # after the commit; if this transaction rolls back, the cached one is still right for
        # the unchanged row (the stamp says so).
        return _Live(model.state_fork(live.state), dict(live.tails), live.method)
    tails = {
        sid: _Tail(p, list(recent), n, as_of)
        for sid, p, recent, n, as_of in Mastery.objects.filter(
            student_id=row.student_id, course_id=row.course_id
        ).values_list("skill_id", "p", "recent", "n_evidence", "as_of")
    }
    return _Live(_state_from_row(row, model), tails, model.method)


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
        live = loader.STATES.get(row.pk, _stamp(row)) if row.model_version_id == version_id else None
        if isinstance(live, _Live):
            out[row.student_id] = live.state
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


def _online(row: StudentKTState, model: KnowledgeTracer, new: list[Evidence], *, cached: _Live | None) -> None:
    live = _load_live(row, model, cached)
    history: list[tuple[Any, ...]] = []
    changed: set[int] = set()
    for e in new:
        model.update(live.state, _response(e))
        # new evidence's skills were read from the item / assignment in this same task: they
        # exist (a replay re-checks, since old evidence may name a skill deleted since)
        for skill_key, p in model.mastery(live.state, [str(s) for s in e.skill_ids]).items():
            sid = int(skill_key)
            live.tails[sid] = _advance(live.tails.get(sid), p, e.occurred_at)
            changed.add(sid)
            history.append(_history_row(row, sid, p, e, model.method))
    last = new[-1]
    # compact: a windowed model's last responses are the evidence rows themselves; writing them
    # again as JSON on every update cost more than the update (docs/assessment.md)
    row.state = model.state_dump(live.state, compact=True)
    row.n_evidence += len(new)
    row.last_occurred_at, row.last_evidence_id = last.occurred_at, last.pk
    _write_online(row, model.method, {sid: live.tails[sid] for sid in changed}, history)
    stamp, key = _stamp(row), row.pk
    transaction.on_commit(lambda: loader.STATES.put(key, stamp, live))


def _replay(row: StudentKTState, model: KnowledgeTracer, version_id: int | None, *, since: datetime | None) -> None:
    """Rebuild the state from all the student's evidence in time order; rewrite history from ``since``."""
    loader.STATES.discard(row.pk)
    evidence = list(
        Evidence.objects.filter(student_id=row.student_id, course_id=row.course_id).order_by("occurred_at", "id")
    )
    valid_skills = _existing_skills(evidence)
    state = model.new_state()
    per_skill: dict[int, list[tuple[float, datetime]]] = defaultdict(list)
    history: list[tuple[Any, ...]] = []
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
    _insert_history(history)
    Mastery.objects.filter(student_id=row.student_id, course_id=row.course_id).exclude(
        skill_id__in=list(per_skill)
    ).delete()
    tails: dict[int, _Tail] = {}
    for sid, points in per_skill.items():
        tail = None
        for p, at in points[-(TREND_WINDOW + 1) :]:
            tail = _advance(tail, p, at)
        assert tail is not None
        # evidence is in time order; an old later as_of may be voided
        tails[sid] = tail._replace(n_evidence=len(points), as_of=points[-1][1])
    _save_masteries(row, model.method, tails)
    row.model_version_id = version_id
    row.state = model.state_dump(state, compact=True) if evidence else {}
    row.n_evidence = len(evidence)
    row.last_occurred_at = evidence[-1].occurred_at if evidence else None
    row.last_evidence_id = evidence[-1].pk if evidence else None
    row.save()
    stamp, key, live = _stamp(row), row.pk, _Live(state, tails, model.method)
    if evidence:
        transaction.on_commit(lambda: loader.STATES.put(key, stamp, live))


def _existing_skills(evidence: Iterable[Evidence]) -> set[int]:
    wanted = {int(s) for e in evidence for s in e.skill_ids}
    return set(Skill.objects.filter(pk__in=wanted).values_list("pk", flat=True)) if wanted else set()


def _history_row(row: StudentKTState, sid: int, p: float, e: Evidence, method: str) -> tuple[Any, ...]:
    """A ``MasteryHistory`` row, in the order of ``_HISTORY_COLUMNS``."""
    return (row.student_id, row.course_id, sid, min(1.0, max(0.0, float(p))), method, e.occurred_at, e.pk)


def _advance(tail: _Tail | None, p: float, at: datetime) -> _Tail:
    """The mastery row's tail after one more estimate ``p`` from evidence at ``at``."""
    p = min(1.0, max(0.0, float(p)))
    if tail is None:
        return _Tail(p, [round(p, 6)], 1, at)
    recent = [*tail.recent, round(p, 6)][-(TREND_WINDOW + 1) :]
    return _Tail(p, recent, tail.n_evidence + 1, max(at, tail.as_of))


# ---------------------------------------------------------------------------------------------
# The online update's statements
# ---------------------------------------------------------------------------------------------
# One new answer is six statements: read the event, lock the state row, insert the evidence,
# upsert the mastery rows, insert the history rows, update the state row. Through the ORM each
# cost 1.2-2.6 CPU ms on the loaded 2-core dev box, ~95% of it building and compiling the query
# in Python (running it: ~0.1 ms; bench/mastery.py --service, docs/assessment.md), which kept
# the update above its 5 ms budget. Here the SQL is written once per process from the models'
# metadata, and values go in and come out through the model fields' own conversions
# (``get_db_prep_save``, the backend's and the field's db converters): what the ORM would store
# and read. The rest of the service (replays, the careful duplicate path) uses the ORM.

_SQL: dict[tuple[str, str, int], str] = {}
_FIELDS: dict[tuple[str, str, type[Model], tuple[str, ...]], list[Any]] = {}
# rows per multi-row INSERT (7-10 parameters each) and ids per event read: far under SQLite's
# 32,766 variables
_BATCH = 500


def _db() -> BaseDatabaseWrapper:
    """The connection itself, looked up once per statement. ``django.db.connection`` is a proxy
    that finds the connection of the current thread (asgiref ``Local``) on every attribute
    access, and each value's ``get_db_prep_save`` and each converter reads it several times:
    ~1 us per access, ~40 per answer on the loaded dev box."""
    return connections[DEFAULT_DB_ALIAS]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model: type[Model]) -> str:
    return _q(model._meta.db_table)


def _column(model: type[Model], name: str) -> str:
    column = model._meta.get_field(name).column  # type: ignore[union-attr]
    assert column is not None
    return _q(column)


def _prep(conn: BaseDatabaseWrapper, model: type[Model], names: tuple[str, ...]) -> list[Any]:
    """Per column of ``model`` the field's ``get_db_prep_save``: what the ORM sends."""
    key = (conn.vendor, "prep", model, names)
    if key not in _FIELDS:
        _FIELDS[key] = [model._meta.get_field(n).get_db_prep_save for n in names]  # type: ignore[union-attr]
    return _FIELDS[key]


def _reader(conn: BaseDatabaseWrapper, model: type[Model], names: tuple[str, ...]) -> list[Any]:
    """Per column of ``model`` the conversions the ORM applies to what the driver returns
    (the backend's, e.g. SQLite text to an aware datetime, then the field's ``from_db_value``)."""
    key = (conn.vendor, "read", model, names)
    if key not in _FIELDS:
        out = []
        for name in names:
            col = model._meta.get_field(name).get_col(model._meta.db_table)  # type: ignore[union-attr]
            out.append((col, conn.ops.get_db_converters(col) + col.get_db_converters(conn)))
        _FIELDS[key] = out
    return _FIELDS[key]


def _convert(conn: BaseDatabaseWrapper, readers: list[Any], values: Sequence[Any]) -> list[Any]:
    out = []
    for (col, convs), value in zip(readers, values, strict=True):
        for conv in convs:
            value = conv(value, col, conn)
        out.append(value)
    return out


def _sql(conn: BaseDatabaseWrapper, name: str, n: int, build: Any) -> str:
    key = (conn.vendor, name, n)
    sql = _SQL.get(key)
    if sql is None:
        sql = _SQL[key] = build(n)
    return sql


_EVENT_COLUMNS = (
    "id",
    "course",
    "actor",
    "object_type",
    "practice_item",
    "result_success",
    "timestamp",
    "voided",
    "stored_at",
)


def _events_sql(n: int) -> str:
    """Events with their items' skills and the id of their evidence (LEFT JOINs: one row per
    skill, or one with NULL; NULL evidence: none yet)."""
    links = PracticeItem._meta.get_field("skills")
    assert isinstance(links, ManyToManyField)
    event, evidence = ActivityEvent, Evidence
    columns = ", ".join(f"e.{_column(event, c)}" for c in _EVENT_COLUMNS)
    skill, item = _q(links.m2m_reverse_name()), _q(links.m2m_column_name())
    placeholders = ", ".join(["%s"] * n)
    # identifiers from the models' metadata, values as parameters
    return (
        f"SELECT {columns}, s.{skill}, v.{_column(evidence, 'id')} FROM {_table(event)} e"  # noqa: S608
        f" LEFT JOIN {_q(links.m2m_db_table())} s ON s.{item} = e.{_column(event, 'practice_item')}"
        f" LEFT JOIN {_table(evidence)} v ON v.{_column(evidence, 'event')} = e.{_column(event, 'id')}"
        f" WHERE e.{_column(event, 'id')} IN ({placeholders})"
    )


def _read_events(ids: list[int]) -> list[tuple[Any, ...]]:
    """(event columns..., skill id or None, evidence id or None) rows of the events ``ids``."""
    conn = _db()
    readers = _reader(conn, ActivityEvent, _EVENT_COLUMNS)
    out = []
    with conn.cursor() as cur:
        for start in range(0, len(ids), _BATCH):
            batch = ids[start : start + _BATCH]
            cur.execute(_sql(conn, "events", len(batch), _events_sql), batch)
            out += [(*_convert(conn, readers, r[:-2]), r[-2], r[-1]) for r in cur.fetchall()]
    return out


def _state_columns() -> tuple[str, ...]:
    # every column but the state, in the model's order (``Model.from_db`` takes a subset in
    # order), then the state: read with the row, decoded only when needed (``_stored_state``)
    fields = StudentKTState._meta.concrete_fields
    return (*(f.name for f in fields if f.name != "state"), "state")


def _lock_sql(_: int, async_commit: bool) -> str:
    """The state row of (student, course), locked, and the version serving its course."""
    st, v, c = StudentKTState, KTModelVersion, Course
    active = (
        f"(SELECT v.{_column(v, 'id')} FROM {_table(v)} v"  # noqa: S608 (identifiers from the models)
        f" INNER JOIN {_table(c)} c ON c.{_column(c, 'school')} = v.{_column(v, 'school')}"
        f" WHERE c.{_column(c, 'id')} = st.{_column(st, 'course')} AND v.{_column(v, 'status')} = %s LIMIT 1)"
    )
    columns = ", ".join(f"st.{_column(st, c)}" for c in _state_columns())
    sql = (
        f"SELECT {columns}, {active}{_ASYNC_COMMIT_COLUMN if async_commit else ''}"  # noqa: S608 (identifiers from the models)
        f" FROM {_table(st)} st WHERE st.{_column(st, 'student')} = %s AND st.{_column(st, 'course')} = %s"
    )
    # SQLite has no row locks (a writer holds the whole database); PostgreSQL: this row only
    return sql + (" FOR UPDATE" if connection.features.has_select_for_update else "")


# Every transaction that changes a student's mastery locks their state row first
# (``_lock_state``). One that folds in activity events writes nothing but what is derived from
# those stored events. On PostgreSQL (``EDUAI_KT_ASYNC_COMMIT``, default on) its lock statement
# also turns ``synchronous_commit`` off for the rest of that transaction (``set_config(...,
# true)``: this transaction only, no extra round trip): its COMMIT returns without waiting for
# the WAL flush, the largest part of an answer's wall time on a slow disk (~4 ms a flush on the
# dev VM while other jobs write). A server crash may then lose the last such commits, each
# whole; the events are committed as usual, and the sweep (``assessment/sweep.py``) finds each
# event without evidence, or voided with evidence, and folds it in again. Not for grades (the
# sweep finds a grade without evidence, not a re-grade whose new credit was lost) nor rebuilds.
# Only when that transaction is the outermost one: inside a caller's transaction (a savepoint)
# the setting would last to the caller's COMMIT, whose writes may not be derived data.
_ASYNC_COMMIT_COLUMN = ", set_config('synchronous_commit', 'off', true)"


def _async_commit() -> bool:
    # no broker: tasks run in-process and no Celery beat runs the sweep that would repair a loss
    conn = _db()
    return (
        conn.vendor == "postgresql"
        and bool(settings.EDUAI_KT_ASYNC_COMMIT)
        and not settings.CELERY_TASK_ALWAYS_EAGER
        and len(conn.atomic_blocks) == 1
    )


def _select_state(student_id: int, course_id: int, async_commit: bool) -> StudentKTState | None:
    """The locked state row with ``active_version_id``; its ``state`` is left undecoded (a
    deferred field, read through ``_stored_state``): a worker that has the live state in
    memory never needs it, and decoding a deep state's JSON cost ~10% of the update."""
    conn = _db()
    columns = _state_columns()
    readers = _reader(conn, StudentKTState, columns[:-1])
    with conn.cursor() as cur:
        cur.execute(
            _sql(conn, "lock-async" if async_commit else "lock", 0, lambda n: _lock_sql(n, async_commit)),
            [KTModelStatus.ACTIVE.value, student_id, course_id],
        )
        got = cur.fetchone()
    if got is None:
        return None
    if async_commit:
        got = got[:-1]  # set_config's answer
    names = [StudentKTState._meta.get_field(c).attname for c in columns[:-1]]  # type: ignore[union-attr]
    row = StudentKTState.from_db(conn.alias, names, _convert(conn, readers, got[:-2]))
    row._raw_state = got[-2]  # type: ignore[attr-defined]
    row.active_version_id = got[-1]  # type: ignore[attr-defined]
    return row


def _stored_state(row: StudentKTState) -> dict[str, Any]:
    """``row.state``, decoding the column ``_select_state`` read on first use (as the ORM
    would have: the backend's and the field's converters). A row from the ORM has it already."""
    if "state" not in row.__dict__ and hasattr(row, "_raw_state"):
        conn = _db()
        (state,) = _convert(conn, _reader(conn, StudentKTState, ("state",)), [row._raw_state])
        row.state = state
    return row.state


def _insert_sql(model: type[Model], names: tuple[str, ...], n: int, suffix: str) -> str:
    columns = ", ".join(_column(model, c) for c in names)
    values = ", ".join([f"({', '.join(['%s'] * len(names))})"] * n)
    return f"INSERT INTO {_table(model)} ({columns}) VALUES {values}{suffix}"  # noqa: S608


def _insert(
    name: str,
    model: type[Model],
    names: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
    suffix: Callable[[], str] = str,
    *,
    returning: bool = False,
) -> list[tuple[Any, ...]]:
    """Multi-row INSERT of ``rows`` (values in the order of ``names``) in batches, what
    ``suffix()`` gives after the VALUES (built with the SQL, once); with ``returning`` the rows
    its RETURNING clause gives."""
    conn = _db()
    preps = _prep(conn, model, names)
    out: list[tuple[Any, ...]] = []
    with conn.cursor() as cur:
        for start in range(0, len(rows), _BATCH):
            batch = rows[start : start + _BATCH]
            params = [prep(v, conn) for r in batch for prep, v in zip(preps, r, strict=True)]
            cur.execute(_sql(conn, name, len(batch), lambda n: _insert_sql(model, names, n, suffix())), params)
            if returning:
                out.extend(cur.fetchall())
    return out


_EVIDENCE_COLUMNS = (
    "student",
    "course",
    "kind",
    "event",
    "item_key",
    "skill_ids",
    "credit",
    "occurred_at",
    "created_at",
)


def _evidence_returning() -> str:
    return f" RETURNING {_column(Evidence, 'id')}, {_column(Evidence, 'event')}"


def _insert_evidence_rows(new: list[Evidence]) -> None:
    """Insert response evidence and set each object's pk (SQLite >= 3.35 and PostgreSQL
    return it; matched back by event, so the order the ids come back in does not matter)."""
    now = timezone.now()
    rows = [
        (e.student_id, e.course_id, e.kind, e.event_id, e.item_key, e.skill_ids, e.credit, e.occurred_at, now)
        for e in new
    ]
    ids = {
        event_id: pk
        for pk, event_id in _insert("evidence", Evidence, _EVIDENCE_COLUMNS, rows, _evidence_returning, returning=True)
    }
    for e in new:
        e.pk, e.created_at = ids[e.event_id], now


_MASTERY_COLUMNS = ("student", "course", "skill", "p", "trend", "recent", "n_evidence", "method", "as_of", "updated_at")
_MASTERY_UPDATE = ("p", "trend", "recent", "n_evidence", "method", "as_of", "updated_at")


def _mastery_upsert() -> str:
    update = ", ".join(f"{_column(Mastery, c)} = EXCLUDED.{_column(Mastery, c)}" for c in _MASTERY_UPDATE)
    return f" ON CONFLICT ({_column(Mastery, 'student')}, {_column(Mastery, 'skill')}) DO UPDATE SET {update}"


def _mastery_rows(row: StudentKTState, method: str, tails: dict[int, _Tail]) -> list[tuple[Any, ...]]:
    """``Mastery`` rows of these skills, values in the order of ``_MASTERY_COLUMNS``. They come
    from the tails, not from the stored rows: no read before the write."""
    now = timezone.now()
    return [
        (
            row.student_id,
            row.course_id,
            sid,
            t.p,
            t.p - t.recent[0] if len(t.recent) > 1 else 0.0,
            t.recent,
            t.n_evidence,
            method,
            t.as_of,
            now,
        )
        for sid, t in tails.items()
    ]


def _save_masteries(row: StudentKTState, method: str, tails: dict[int, _Tail]) -> None:
    """Insert or update the ``Mastery`` rows of these skills in one statement (an upsert on the
    unique (student, skill); ``ON CONFLICT DO UPDATE``, SQLite and PostgreSQL)."""
    if tails:
        _insert("mastery", Mastery, _MASTERY_COLUMNS, _mastery_rows(row, method, tails), _mastery_upsert)


_HISTORY_COLUMNS = ("student", "course", "skill", "p", "method", "at", "evidence")


def _insert_history(rows: list[tuple[Any, ...]]) -> None:
    """``MasteryHistory`` rows, values in the order of ``_HISTORY_COLUMNS``."""
    if rows:
        _insert("history", MasteryHistory, _HISTORY_COLUMNS, rows)


_STATE_UPDATE = ("state", "n_evidence", "last_occurred_at", "last_evidence_id", "updated_at")


def _state_update_sql(_: int) -> str:
    sets = ", ".join(f"{_column(StudentKTState, c)} = %s" for c in _STATE_UPDATE)
    return f"UPDATE {_table(StudentKTState)} SET {sets} WHERE {_column(StudentKTState, 'id')} = %s"  # noqa: S608


def _state_params(conn: BaseDatabaseWrapper, row: StudentKTState) -> list[Any]:
    """The online update's columns of ``row`` and its id, for ``_state_update_sql``
    (``updated_at`` set to now, as ``save`` would)."""
    row.updated_at = timezone.now()
    names = (*_STATE_UPDATE, "id")
    return [prep(getattr(row, n), conn) for prep, n in zip(_prep(conn, StudentKTState, names), names, strict=True)]


def _update_state(row: StudentKTState) -> None:
    """Write the online update's columns of ``row``."""
    conn = _db()
    with conn.cursor() as cur:
        cur.execute(_sql(conn, "state", 0, _state_update_sql), _state_params(conn, row))


def _write_online(row: StudentKTState, method: str, tails: dict[int, _Tail], history: list[tuple[Any, ...]]) -> None:
    """The online update's three writes: the mastery upsert, the history rows, the state row.

    On PostgreSQL they go as one statement, the two inserts as data-modifying ``WITH`` parts of
    the state's UPDATE (each runs once, to completion, whether or not the UPDATE reads it; they
    touch different tables): one round trip to the server instead of three, each of which waits
    for the server's parse, plan and reply (docs/assessment.md, "Service path"). SQLite has no
    data-modifying ``WITH`` and no round trips (the database is in the process): three
    statements there, as for an online batch too big for one statement."""
    conn = _db()
    if conn.vendor != "postgresql" or len(tails) > _BATCH or len(history) > _BATCH:
        _save_masteries(row, method, tails)
        _insert_history(history)
        _update_state(row)
        return
    mastery = _mastery_rows(row, method, tails)
    params: list[Any] = []
    for model, names, rows in (
        (Mastery, _MASTERY_COLUMNS, mastery),
        (MasteryHistory, _HISTORY_COLUMNS, history),
    ):
        preps = _prep(conn, model, names)
        params += [prep(v, conn) for r in rows for prep, v in zip(preps, r, strict=True)]
    params += _state_params(conn, row)

    def build(_: int) -> str:
        parts = []
        if mastery:
            parts.append(f"m AS ({_insert_sql(Mastery, _MASTERY_COLUMNS, len(mastery), _mastery_upsert())})")
        if history:
            parts.append(f"h AS ({_insert_sql(MasteryHistory, _HISTORY_COLUMNS, len(history), '')})")
        return (f"WITH {', '.join(parts)} " if parts else "") + _state_update_sql(0)

    with conn.cursor() as cur:
        cur.execute(_sql(conn, f"online-{len(mastery)}", len(history), build), params)


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
