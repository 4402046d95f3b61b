"""Reads of grading, already scoped to what the asking user may see (``eduai.courses.access``).

- Teachers, TAs and admins of a course see every prediction of its submissions and its model
  registry.
- A student sees predictions of their own submissions only once the submission is
  ``released`` (a proposal is the teacher's to accept or change first), and never the registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import Q, QuerySet

from eduai.courses import api as courses
from eduai.courses.models import Assignment, Submission, SubmissionStatus

from . import conf
from .data import PredictionData
from .models import GradingModel, Prediction, TeacherGrade


def predictions_visible(*, user: object) -> QuerySet[Prediction]:
    if not getattr(user, "is_authenticated", False):
        return Prediction.objects.none()
    staff = courses.access.staff_course_ids(user)
    own_released = Q(submission__author=user, submission__status=SubmissionStatus.RELEASED)
    return Prediction.objects.filter(Q(submission__assignment__course_id__in=staff) | own_released).select_related(
        "model"
    )


def teacher_grades_visible(*, user: object) -> QuerySet[TeacherGrade]:
    if not getattr(user, "is_authenticated", False):
        return TeacherGrade.objects.none()
    staff = courses.access.staff_course_ids(user)
    own_released = Q(submission__author=user, submission__status=SubmissionStatus.RELEASED)
    return TeacherGrade.objects.filter(Q(assignment__course_id__in=staff) | own_released)


def models_for_assignment(*, assignment_id: int) -> QuerySet[GradingModel]:
    return GradingModel.objects.filter(assignment_id=assignment_id).order_by("-version")


@dataclass(frozen=True, slots=True)
class GradingModelData:
    """One registry record as other apps see it: its history, not its artefact or settings (nor
    where its files are: ``failure_reason`` names a file without its folders)."""

    id: int
    assignment_id: int
    course_id: int
    version: int
    method: str
    status: str
    is_active: bool
    n_train: int
    val_qwk: float | None
    train_seconds: float | None
    failure_reason: str
    created_at: datetime


def models_for_courses(*, course_ids: Iterable[int]) -> list[GradingModelData]:
    """The registry of every assignment of these courses, oldest first, in one query (school
    pages: training history and failures). No user check: callers have checked that the user
    may see these courses' registries (their staff), as for ``models_for_assignment``."""
    ids = sorted({int(c) for c in course_ids})
    if not ids:
        return []
    rows = (
        GradingModel.objects.filter(assignment__course_id__in=ids)
        .order_by("created_at", "id")
        .values_list(
            "id",
            "assignment_id",
            "assignment__course_id",
            "version",
            "method",
            "status",
            "is_active",
            "n_train",
            "val_qwk",
            "train_seconds",
            "failure_reason",
            "created_at",
        )
    )
    # School pages and their CSV show failure_reason; operators read it whole in the Django admin.
    records = (GradingModelData(*row) for row in rows)
    return [replace(m, failure_reason=courses.without_file_paths(m.failure_reason)) for m in records]


def serving_model_for(*, assignment_id: int) -> GradingModel | None:
    return GradingModel.objects.filter(assignment_id=assignment_id, is_active=True).first()


def latest_prediction(*, submission_id: int) -> PredictionData | None:
    """The newest proposal for a submission (any model version), as frozen data."""
    p = Prediction.objects.filter(submission_id=submission_id).select_related("model").order_by("-id").first()
    return None if p is None else prediction_data(p)


def prediction_data(p: Prediction) -> PredictionData:
    return PredictionData(
        id=p.pk,
        submission_id=p.submission_id,
        model_id=p.model_id,
        model_version=p.model.version,
        method=p.model.method,
        score=p.score,
        raw_score=p.raw_score,
        interval_low=p.interval_low,
        interval_high=p.interval_high,
        interval_coverage=p.interval_coverage,
        trait_scores=dict(p.trait_scores or {}),
        seconds=p.seconds,
    )


def teacher_graded_count(*, assignment_id: int) -> int:
    return TeacherGrade.objects.filter(assignment_id=assignment_id).count()


def training_shortfall(*, assignment_id: int) -> str | None:
    """Why training the assignment now would be refused (too few teacher-graded submissions), or
    None. The one check behind every "train now" (the REST API, the admin's actions): a queued
    run below the minimum would only fail in the worker (``training.model_train`` refuses it)."""
    count = teacher_graded_count(assignment_id=assignment_id)
    if count < conf.MIN_TRAINING_ESSAYS:
        return f"{count} teacher-graded submissions; at least {conf.MIN_TRAINING_ESSAYS} needed."
    return None


def trait_scores_for_student(*, student_id: int, course_id: int) -> list[dict[str, object]]:
    """Trait scores of the student's released essays in a course: the teacher's where given,
    else the released proposal's. Rows: name, description, min_score, max_score, score, submission_id."""
    subs = list(
        Submission.objects.filter(
            author_id=student_id, assignment__course_id=course_id, status=SubmissionStatus.RELEASED
        ).values_list("id", "assignment_id")
    )
    if not subs:
        return []
    traits = {}
    for a in Assignment.objects.filter(pk__in={a for _, a in subs}).prefetch_related("traits"):
        traits[a.pk] = {t.name: t for t in a.traits.all()}
    grades = dict(
        TeacherGrade.objects.filter(submission_id__in=[s for s, _ in subs]).values_list("submission_id", "trait_scores")
    )
    rows: list[dict[str, object]] = []
    for sid, aid in subs:
        scores = {k: v for k, v in (grades.get(sid) or {}).items()}
        if not scores:
            p = (
                Prediction.objects.filter(submission_id=sid)
                .order_by("-id")
                .values_list("trait_scores", flat=True)
                .first()
            )
            scores = {k: v.get("score") for k, v in (p or {}).items() if isinstance(v, dict)}
        for name, score in scores.items():
            t = traits.get(aid, {}).get(name)
            if t is None or score is None:
                continue
            rows.append(
                {
                    "name": name,
                    "description": t.description,
                    "min_score": t.min_score,
                    "max_score": t.max_score,
                    "score": score,
                    "submission_id": sid,
                }
            )
    return rows
