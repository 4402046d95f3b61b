"""Writes of the review loop: proposals, teacher decisions, releases, cached explanations.

The teacher's word is final, and no model run can change it. How that holds:

- A decision (``review_accept`` / ``review_override``) locks the submission row
  (``SELECT ... FOR UPDATE``), stores the grade of record through grading's own service
  (``grading.api.teacher_grade_set``: ``TeacherGrade`` + ``Submission.final_score``, status
  ``reviewed``/``released``, and the training-threshold count), and writes the audit event, in
  one transaction.
- Model runs only claim submissions in ``received``/``scored``/``failed`` (grading.serving) and
  finish a claim with a conditional UPDATE that requires their own ``scoring`` claim; a decided
  submission is ``reviewed`` or ``released``, so a later run can neither claim it nor finish over
  it (a run that claimed before the decision loses at its final UPDATE; its prediction row is
  stored, as history, but changes nothing the student or the gradebook sees).
- The auto-release policy releases with one conditional UPDATE that requires status ``scored``
  and no teacher grade, so it can never release over a decision, and a decision made after it
  simply replaces the released grade (and is released again).
- A stale form (opened before another teacher decided) carries an old ``revision`` and is
  refused with ``ReviewConflict`` instead of overwriting the newer decision.

Every proposal, acceptance, override and release is a ``ReviewEvent``; a release sends
``grading.signals.grade_released`` after commit with ids and the score (LTI pass-back,
assessment, recommender listen there).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from eduai.courses import api as courses
from eduai.courses.models import ReleasePolicy, Submission, SubmissionStatus
from grading import api as grading
from grading.models import Prediction, TeacherGrade

from . import conf, explain
from .data import DecisionResult
from .data import Explanation as ExplanationData
from .models import (
    DecisionKind,
    EventKind,
    Explanation,
    ExplanationStatus,
    GradeRelease,
    ReleaseKind,
    ReviewDecision,
    ReviewEvent,
)

log = logging.getLogger(__name__)


class ReviewConflict(Exception):
    """The submission changed since the form was opened (another decision, a release)."""


@dataclass(frozen=True)
class ReleaseChoice:
    """What the teacher releases with the grade. ``feedback_keys`` None: every comment."""

    release: bool = True
    feedback_keys: frozenset[str] | None = None
    evidence: bool = False
    comment: str | None = None  # None: the decision's comment


# ------------------------------------------------------------------------------ proposals
def proposal_process(*, prediction_id: int) -> str:
    """Record a new proposal in the audit trail and apply the assignment's release policy.

    Safe to run twice (a redelivered task): the proposal is recorded once, and the release is a
    conditional UPDATE. Returns what happened: "released", "waiting", "stale" or "gone".
    """
    p = Prediction.objects.select_related("model", "submission__assignment__course").filter(pk=prediction_id).first()
    if p is None:
        return "gone"
    sub = p.submission
    a = sub.assignment
    eligible, reason, figures = _policy_allows(p, a)
    with transaction.atomic():
        locked = Submission.objects.select_for_update().filter(pk=sub.pk).values_list("status", flat=True).first()
        if locked is None:
            return "gone"
        if not ReviewEvent.objects.filter(submission_id=sub.pk, kind=EventKind.PROPOSED, prediction_id=p.pk).exists():
            ReviewEvent.objects.create(
                submission_id=sub.pk, assignment_id=a.pk, course_id=a.course_id, kind=EventKind.PROPOSED,
                prediction=p, model_version=p.model.version, score=p.score,
                trait_scores={k: v.get("score") for k, v in (p.trait_scores or {}).items() if isinstance(v, dict)},
                detail={"interval": [p.interval_low, p.interval_high], "coverage": p.interval_coverage,
                        "auto_release": reason, **figures},
            )  # fmt: skip
        latest = Prediction.objects.filter(submission_id=sub.pk).order_by("-id").values_list("id", flat=True).first()
        if latest != p.pk:
            return "stale"  # a newer model's proposal supersedes this one; its own run decides
        released = eligible and _auto_release(p, a, reason=reason, figures=figures)
    if conf.explain_on_proposal():
        from .tasks import explain_predictions

        explain_predictions.delay_on_commit([p.pk])
    return "released" if released else "waiting"


def _policy_allows(p: Prediction, a) -> tuple[bool, str, dict]:
    width = float(p.interval_high) - float(p.interval_low)
    qwk = p.model.val_qwk
    figures = {"interval_width": round(width, 3), "model_qwk": qwk, "max_interval": a.auto_release_max_interval,
               "min_qwk": a.auto_release_min_qwk}  # fmt: skip
    if not a.course.is_active:
        # An archived course's grades change only by its school's admins (docs/courses.md); a
        # proposal for work handed in before the archiving waits for them, whatever the policy.
        return False, "the course is archived", figures
    if a.release_policy != ReleasePolicy.AUTO_RELEASE_CONFIDENT:
        return False, "policy: review all", figures
    if width > a.auto_release_max_interval:
        return False, f"interval {width:.2f} > {a.auto_release_max_interval:.2f}", figures
    if qwk is None:
        return False, "the model has no validated QWK", figures
    if qwk < a.auto_release_min_qwk:
        return False, f"model QWK {qwk:.2f} < {a.auto_release_min_qwk:.2f}", figures
    return (
        True,
        f"interval {width:.2f} <= {a.auto_release_max_interval:.2f}; model v{p.model.version} QWK {qwk:.2f} "
        f">= {a.auto_release_min_qwk:.2f}",
        figures,
    )


def _auto_release(p: Prediction, a, *, reason: str, figures: dict) -> bool:
    """Release the proposal if the submission still waits for it (caller holds a transaction)."""
    now = timezone.now()
    no_teacher = ~Exists(TeacherGrade.objects.filter(submission_id=OuterRef("pk")))
    moved = (
        Submission.objects.filter(pk=p.submission_id, status=SubmissionStatus.SCORED)
        .filter(no_teacher)
        .update(status=SubmissionStatus.RELEASED, final_score=p.score, status_reason="", updated_at=now)
    )
    if not moved:
        return False
    traits = {k: v.get("score") for k, v in (p.trait_scores or {}).items() if isinstance(v, dict)}
    items = _feedback_for(a, p.score, traits)
    GradeRelease.objects.update_or_create(
        submission_id=p.submission_id,
        defaults={
            "assignment_id": a.pk, "course_id": a.course_id, "score": p.score, "trait_scores": traits,
            "kind": ReleaseKind.POLICY, "released_by": None, "reason": reason[:500], "prediction": p,
            "feedback": explain.feedback_to_stored(items), "comment": "", "show_evidence": False, "evidence": [],
            "released_at": now,
        },
    )  # fmt: skip
    ReviewEvent.objects.create(
        submission_id=p.submission_id, assignment_id=a.pk, course_id=a.course_id, kind=EventKind.AUTO_RELEASED,
        prediction=p, model_version=p.model.version, score=p.score, trait_scores=traits,
        detail={"reason": reason, **figures},
    )  # fmt: skip
    _send_released(p.submission_id, a.pk, a.course_id, p.score, None, ReleaseKind.POLICY, traits, "")
    return True


# ------------------------------------------------------------------------------ decisions
def review_accept(
    *, submission_id: int, user_id: int, prediction_id: int, expected_revision: int | None = None,
    choice: ReleaseChoice | None = None, comment: str = "",
) -> DecisionResult:  # fmt: skip
    """The teacher accepts the model's proposal as the grade of record."""
    return _decide(
        submission_id=submission_id, user_id=user_id, prediction_id=prediction_id, accept=True, score=None,
        trait_scores=None, comment=comment, model_mistake=False, expected_revision=expected_revision, choice=choice,
    )  # fmt: skip


def review_override(
    *, submission_id: int, user_id: int, score: object, trait_scores: Mapping[str, object] | None = None,
    comment: str = "", model_mistake: bool = False, prediction_id: int | None = None,
    expected_revision: int | None = None, choice: ReleaseChoice | None = None,
) -> DecisionResult:  # fmt: skip
    """The teacher sets their own score (and trait scores); it replaces the proposal for good.

    An "override" that repeats the proposal exactly is recorded as an acceptance, so agreement
    counts what the teacher decided, not which button they pressed.
    """
    return _decide(
        submission_id=submission_id, user_id=user_id, prediction_id=prediction_id, accept=False, score=score,
        trait_scores=trait_scores, comment=comment, model_mistake=model_mistake,
        expected_revision=expected_revision, choice=choice,
    )  # fmt: skip


def _proposed_traits(p: Prediction | None, trait_names: Iterable[str]) -> dict[str, int]:
    if p is None:
        return {}
    names = set(trait_names)
    return {
        k: int(v["score"])
        for k, v in (p.trait_scores or {}).items()
        if k in names and isinstance(v, dict) and v.get("score") is not None
    }


def _decide(
    *, submission_id: int, user_id: int, prediction_id: int | None, accept: bool, score: object,
    trait_scores: Mapping[str, object] | None, comment: str, model_mistake: bool, expected_revision: int | None,
    choice: ReleaseChoice | None,
) -> DecisionResult:  # fmt: skip
    choice = choice or ReleaseChoice()
    comment = (comment or "").strip()[:5000]
    with transaction.atomic():
        sub = Submission.objects.select_for_update().select_related("assignment").filter(pk=submission_id).first()
        if sub is None:
            raise ValidationError({"submission": f"Submission {submission_id} does not exist."})
        a = sub.assignment
        decision = ReviewDecision.objects.select_for_update().filter(submission_id=sub.pk).first()
        revision = decision.revision if decision else 0
        if expected_revision is not None and int(expected_revision) != revision:
            raise ReviewConflict(
                f"This submission was decided by someone else since you opened it (revision {revision}, "
                f"you saw {expected_revision}); reload to see the current grade."
            )
        p = None
        if prediction_id is not None:
            p = Prediction.objects.select_related("model").filter(pk=prediction_id, submission_id=sub.pk).first()
            if p is None:
                raise ValidationError(
                    {"prediction": f"Proposal {prediction_id} is not a proposal for this submission."}
                )
        trait_names = [t.name for t in a.traits.all()]
        if accept:
            if p is None:
                raise ValidationError({"prediction": "There is no proposal to accept."})
            score, trait_scores = p.score, _proposed_traits(p, trait_names)
        had_grade = TeacherGrade.objects.filter(submission_id=sub.pk).values_list("score", flat=True).first()
        previous = sub.final_score if (had_grade is not None or sub.status == SubmissionStatus.RELEASED) else None
        # Only the teacher's own traits are stored: a blank trait in the form is "not graded".
        clean_traits = {k: v for k, v in (trait_scores or {}).items() if v not in (None, "")}
        source = "teacher" if p is None else "accepted"
        grade = grading.teacher_grade_set(
            submission_id=sub.pk, score=score, trait_scores=clean_traits, grader_id=user_id, source=source,
            prediction_id=p.pk if p else None, comment=comment,
        )  # fmt: skip
        agrees = (
            p is not None
            and grade.score == p.score
            and all(grade.trait_scores.get(k) == v for k, v in _proposed_traits(p, grade.trait_scores).items())
        )
        kind = DecisionKind.ACCEPTED if agrees else DecisionKind.OVERRIDDEN
        if p is not None and kind == DecisionKind.OVERRIDDEN:
            TeacherGrade.objects.filter(pk=grade.pk).update(source="overridden")
        mistake = bool(model_mistake) and kind == DecisionKind.OVERRIDDEN
        now = timezone.now()
        decision, _ = ReviewDecision.objects.update_or_create(
            submission_id=sub.pk,
            defaults={
                "assignment_id": a.pk, "course_id": a.course_id, "kind": kind, "prediction": p,
                "proposed_score": p.score if p else None, "score": grade.score, "model_mistake": mistake,
                "weight": conf.mistake_weight() if mistake else 1.0, "decided_by_id": user_id, "decided_at": now,
                "revision": revision + 1,
            },
        )  # fmt: skip
        ReviewEvent.objects.create(
            submission_id=sub.pk, assignment_id=a.pk, course_id=a.course_id,
            kind=EventKind.ACCEPTED if kind == DecisionKind.ACCEPTED else EventKind.OVERRIDDEN,
            actor_id=user_id, prediction=p, model_version=p.model.version if p else None, score=grade.score,
            previous_score=previous, trait_scores=grade.trait_scores, comment=comment, model_mistake=mistake,
            detail={"proposed": p.score if p else None, "revision": revision + 1},
        )  # fmt: skip
        # A grade the student already sees must not go stale: re-release the new one.
        released = False
        if choice.release or sub.status == SubmissionStatus.RELEASED:
            _release_locked(sub, grade, user_id=user_id, prediction=p, choice=choice, comment=comment, now=now)
            released = True
    return DecisionResult(submission_id=sub.pk, kind=str(kind), score=grade.score, revision=revision + 1,
                          released=released)  # fmt: skip


# ------------------------------------------------------------------------------- releases
def grade_release(*, submission_id: int, user_id: int, choice: ReleaseChoice | None = None) -> DecisionResult:
    """Release a teacher's grade of record that was decided without releasing (or imported)."""
    choice = choice or ReleaseChoice()
    with transaction.atomic():
        sub = Submission.objects.select_for_update().select_related("assignment").filter(pk=submission_id).first()
        if sub is None:
            raise ValidationError({"submission": f"Submission {submission_id} does not exist."})
        grade = TeacherGrade.objects.filter(submission_id=sub.pk).first()
        if grade is None:
            raise ValidationError({"submission": "There is no teacher grade to release yet: accept or override first."})
        p = (
            Prediction.objects.select_related("model").filter(pk=grade.prediction_id).first()
            if grade.prediction_id
            else None
        )
        _release_locked(
            sub, grade, user_id=user_id, prediction=p, choice=choice, comment=grade.comment, now=timezone.now()
        )
        revision = ReviewDecision.objects.filter(submission_id=sub.pk).values_list("revision", flat=True).first() or 0
    return DecisionResult(submission_id=sub.pk, kind="released", score=grade.score, revision=revision, released=True)


def _int_or_none(value: object) -> int | None:
    try:
        return None if value is None else int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _feedback_for(a, score: int | None, traits: Mapping[str, object]):
    rows = [(t.name, t.description, t.min_score, t.max_score, _int_or_none(traits.get(t.name))) for t in a.traits.all()]
    return explain.feedback_items(score=score, min_score=a.min_score, max_score=a.max_score, traits=rows)


def _release_locked(sub, grade, *, user_id, prediction, choice: ReleaseChoice, comment: str, now) -> None:
    a = sub.assignment
    Submission.objects.filter(pk=sub.pk).update(
        status=SubmissionStatus.RELEASED, final_score=grade.score, status_reason="", updated_at=now
    )
    items = _feedback_for(a, grade.score, grade.trait_scores or {})
    if choice.feedback_keys is not None:
        items = [i for i in items if i.key in choice.feedback_keys]
    evidence: list[dict] = []
    if choice.evidence and prediction is not None:
        cached = Explanation.objects.filter(prediction_id=prediction.pk, status=ExplanationStatus.READY).first()
        evidence = list(cached.sentences) if cached else []
    released_comment = comment if choice.comment is None else choice.comment.strip()[:5000]
    GradeRelease.objects.update_or_create(
        submission_id=sub.pk,
        defaults={
            "assignment_id": a.pk, "course_id": a.course_id, "score": grade.score,
            "trait_scores": dict(grade.trait_scores or {}), "kind": ReleaseKind.TEACHER, "released_by_id": user_id,
            "reason": "", "prediction": prediction, "feedback": explain.feedback_to_stored(items),
            "comment": released_comment, "show_evidence": bool(evidence), "evidence": evidence, "released_at": now,
        },
    )  # fmt: skip
    ReviewEvent.objects.create(
        submission_id=sub.pk, assignment_id=a.pk, course_id=a.course_id, kind=EventKind.RELEASED, actor_id=user_id,
        prediction=prediction, model_version=prediction.model.version if prediction else None, score=grade.score,
        trait_scores=dict(grade.trait_scores or {}), comment=released_comment,
        detail={"feedback": [i.key for i in items], "evidence": bool(evidence)},
    )  # fmt: skip
    _send_released(sub.pk, a.pk, a.course_id, grade.score, user_id, ReleaseKind.TEACHER,
                   dict(grade.trait_scores or {}), released_comment)  # fmt: skip


def _send_released(submission_id, assignment_id, course_id, score, released_by, kind, traits, comment) -> None:
    def send() -> None:
        grading.grade_released.send(
            sender=GradeRelease, submission_id=submission_id, assignment_id=assignment_id, course_id=course_id,
            score=score, released_by=released_by, release_kind=str(kind), trait_scores=traits, comment=comment,
        )  # fmt: skip

    transaction.on_commit(send)


# ---------------------------------------------------------------------------- explanations
def explanation_compute(*, prediction_id: int, force: bool = False) -> ExplanationData:
    """The occlusion explanation of a prediction: cached, else computed with its model and stored.

    A model that cannot be loaded (artefact gone) stores nothing and reports ``unavailable``, so
    a later view can try again; an essay of one sentence is ``too_short`` (nothing to compare).
    """
    p = Prediction.objects.select_related("model", "submission").filter(pk=prediction_id).first()
    if p is None:
        raise ValidationError({"prediction": f"Proposal {prediction_id} does not exist."})
    cached = None if force else Explanation.objects.filter(prediction_id=p.pk).first()
    text = p.submission.text
    if cached is not None:
        return _explanation_data(cached, text)
    spans = explain.sentence_spans(text)
    if len(spans) < 2:
        whole = explain.sentences_from(text, [{"start": s, "end": e} for s, e in spans])
        return ExplanationData(status="too_short", method="occlusion", base_raw=None, sentences=whole)
    started = time.perf_counter()
    try:
        base, deltas = explain.occlusion(text, spans, lambda texts: explain.model_raw_scores(p.model_id, texts))
    except Exception as exc:  # the model is an artefact on disk: it may be gone or broken
        log.warning("could not explain prediction %s: %s", p.pk, exc)  # operators: the full path
        reason = courses.without_file_paths(f"{type(exc).__name__}: {exc}")[:300]  # staff: no server paths
        return ExplanationData(status="unavailable", method="occlusion", base_raw=None, sentences=(), reason=reason)
    rows = [{"start": s, "end": e, "delta": round(d, 4)} for (s, e), d in zip(spans, deltas, strict=True)]
    try:
        with transaction.atomic():
            row, _ = Explanation.objects.update_or_create(
                prediction_id=p.pk,
                defaults={"submission_id": p.submission_id, "method": "occlusion", "status": ExplanationStatus.READY,
                          "base_raw": base, "sentences": rows, "seconds": time.perf_counter() - started},
            )  # fmt: skip
    except IntegrityError:  # computed twice at once: the other one is stored, same numbers
        row = Explanation.objects.get(prediction_id=p.pk)
    return _explanation_data(row, text)


def _explanation_data(row: Explanation, text: str) -> ExplanationData:
    return ExplanationData(
        status=row.status, method=row.method, base_raw=row.base_raw,
        sentences=explain.sentences_from(text, row.sentences or []),
        reason=courses.without_file_paths(row.failure_reason),
    )  # fmt: skip
