"""Writes of grading that a request or a task makes: teacher grades, settings, training triggers.

Keyword-only arguments, each under ``transaction.atomic``; work for the inference worker is
enqueued after commit. Training and scoring themselves live in ``training.py`` and
``serving.py`` (they are long and run in tasks); ``api.py`` is the public face of all three.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from eduai.courses.models import Assignment, RubricTrait, Submission, SubmissionStatus

from . import conf
from .models import GraderSettings, GradeSource, Method, ServingChoice, TeacherGrade

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GradeInput:
    submission_id: int
    score: object
    trait_scores: Mapping[str, object] | None = None


def _as_int(value: object, field: str) -> int:
    if isinstance(value, bool):
        raise ValidationError({field: "Expected a whole number."})
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().removeprefix("-").isdigit():
        try:  # isdigit() is also true of '²', which int() refuses
            return int(value.strip())
        except ValueError:
            pass
    raise ValidationError({field: f"Expected a whole number on the rubric scale, got {value!r}."})


def _validate(assignment: Assignment, traits: list[RubricTrait], score: object, trait_scores) -> tuple[int, dict]:
    value = _as_int(score, "score")
    if not assignment.min_score <= value <= assignment.max_score:
        raise ValidationError(
            {"score": f"Score {value} is outside the rubric range {assignment.min_score}-{assignment.max_score}."}
        )
    clean: dict[str, int] = {}
    if trait_scores is None:
        return value, clean
    if not isinstance(trait_scores, Mapping):
        raise ValidationError({"trait_scores": "Expected an object of trait name to score."})
    by_name = {t.name: t for t in traits}
    for name, raw in trait_scores.items():
        trait = by_name.get(str(name))
        if trait is None:
            known = ", ".join(sorted(by_name)) or "none"
            raise ValidationError({"trait_scores": f"Unknown trait {name!r}; this rubric's traits: {known}."})
        if raw is None:
            continue
        v = _as_int(raw, f"trait_scores.{name}")
        if not trait.min_score <= v <= trait.max_score:
            raise ValidationError(
                {"trait_scores": f"{name}: {v} is outside its range {trait.min_score}-{trait.max_score}."}
            )
        clean[trait.name] = v
    return value, clean


def teacher_grade_set(
    *,
    submission_id: int,
    score: object,
    trait_scores: Mapping[str, object] | None = None,
    grader_id: int | None,
    source: str = GradeSource.TEACHER,
    prediction_id: int | None = None,
    comment: str = "",
    trigger_training: bool = True,
) -> TeacherGrade:
    """Store the human grade of record for a submission (create or replace) and count it for training.

    Validates the score (and trait scores) against the rubric; sets the submission's
    ``final_score`` and moves it to ``reviewed`` (a ``released`` submission stays released: its
    grade of record changes, and releasing again is the review loop's decision). After commit,
    checks the assignment's training thresholds.
    """
    if source not in GradeSource.values:
        raise ValidationError({"source": f"Unknown grade source {source!r}."})
    with transaction.atomic():
        submission = Submission.objects.select_for_update().select_related("assignment").get(pk=submission_id)
        assignment = submission.assignment
        value, traits = _validate(assignment, list(assignment.traits.all()), score, trait_scores)
        grade, _ = TeacherGrade.objects.update_or_create(
            submission=submission,
            defaults={
                "assignment": assignment,
                "score": value,
                "trait_scores": traits,
                "grader_id": grader_id,
                "source": source,
                "prediction_id": prediction_id,
                "comment": (comment or "")[:5000],
            },
        )
        status = submission.status if submission.status == SubmissionStatus.RELEASED else SubmissionStatus.REVIEWED
        Submission.objects.filter(pk=submission.pk).update(
            final_score=value, status=status, status_reason="", updated_at=timezone.now()
        )
        if trigger_training:
            aid = assignment.pk
            transaction.on_commit(lambda: training_thresholds_check(assignment_id=aid))
    return grade


def teacher_grades_import(*, grades: Sequence[GradeInput], grader_id: int | None, trigger_training: bool = True) -> int:
    """Store many grades of record at once (an LMS gradebook import, an evaluation set).

    All-or-nothing: one invalid grade rejects the whole import with its submission id named.
    Thresholds are checked once, after commit.
    """
    if not grades:
        return 0
    with transaction.atomic():
        subs = {
            s.pk: s
            for s in Submission.objects.select_for_update()
            .select_related("assignment")
            .filter(pk__in=[g.submission_id for g in grades])
        }
        traits_by_assignment: dict[int, list[RubricTrait]] = {}
        rows: list[TeacherGrade] = []
        for g in grades:
            sub = subs.get(g.submission_id)
            if sub is None:
                raise ValidationError({"submission": f"Submission {g.submission_id} does not exist."})
            traits = traits_by_assignment.setdefault(sub.assignment_id, list(sub.assignment.traits.all()))
            try:
                value, clean = _validate(sub.assignment, traits, g.score, g.trait_scores)
            except ValidationError as exc:
                raise ValidationError({"submission": f"Submission {g.submission_id}: {exc.messages[0]}"}) from exc
            rows.append(
                TeacherGrade(
                    submission_id=sub.pk,
                    assignment_id=sub.assignment_id,
                    score=value,
                    trait_scores=clean,
                    grader_id=grader_id,
                    source=GradeSource.IMPORT,
                )
            )
        TeacherGrade.objects.bulk_create(
            rows,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["submission"],
            update_fields=["score", "trait_scores", "grader", "source", "updated_at"],
        )
        now = timezone.now()
        for g_row in rows:
            Submission.objects.filter(pk=g_row.submission_id).exclude(status=SubmissionStatus.RELEASED).update(
                final_score=g_row.score, status=SubmissionStatus.REVIEWED, status_reason="", updated_at=now
            )
        Submission.objects.filter(pk__in=[r.submission_id for r in rows], status=SubmissionStatus.RELEASED).update(
            updated_at=now
        )
        if trigger_training:
            assignment_ids = sorted({r.assignment_id for r in rows})
            transaction.on_commit(lambda: [training_thresholds_check(assignment_id=a) for a in assignment_ids])
    return len(rows)


class _Unchanged(enum.Enum):
    UNCHANGED = "unchanged"


UNCHANGED = _Unchanged.UNCHANGED


def grader_settings_set(
    *,
    assignment_id: int,
    serving: str | None = None,
    auto_finetune: bool | _Unchanged | None = UNCHANGED,
) -> GraderSettings:
    """Change an assignment's serving knob and fine-tuning switch (``auto_finetune=None``: back to
    the deployment's ``EDUAI_GRADER_AUTO_FINETUNE``; left out: unchanged); the serving model
    follows the knob at once when it must."""
    if serving is not None and serving not in ServingChoice.values:
        raise ValidationError(
            {"serving": f"Unknown choice {serving!r}; expected one of {', '.join(ServingChoice.values)}."}
        )
    with transaction.atomic():
        row, _ = GraderSettings.objects.select_for_update().get_or_create(assignment_id=assignment_id)
        if serving is not None:
            row.serving = serving
        if auto_finetune is not UNCHANGED:
            row.auto_finetune = auto_finetune
        row.save()
        if serving is not None:
            _follow_knob(assignment_id, serving)
    return row


def _follow_knob(assignment_id: int, serving: str) -> None:
    """With a method-only knob, the best ready model of that method serves (if there is one)."""
    from .models import GradingModel, ModelStatus
    from .training import model_activate

    active = GradingModel.objects.filter(assignment_id=assignment_id, is_active=True).first()
    if serving == ServingChoice.BEST or (active is not None and active.method == serving):
        return
    best = (
        GradingModel.objects.filter(assignment_id=assignment_id, method=serving, status=ModelStatus.READY)
        .order_by("-val_qwk", "-version")
        .first()
    )
    if best is not None:
        model_activate(model_id=best.pk, check_expected=False, decision=f"serving: the serving setting is '{serving}'")


def training_thresholds_check(*, assignment_id: int) -> list[str]:
    """Enqueue training when the assignment's teacher-grade count reached a new threshold.

    Thresholds: 10, 30, 60, 120, 250, then every 250. The conditional UPDATE of
    ``last_threshold`` is the claim: of two grades committing together, one enqueues.
    Returns the methods enqueued.
    """
    if not conf.auto_train():
        return []
    count = TeacherGrade.objects.filter(assignment_id=assignment_id).count()
    reached = conf.threshold_for(count)
    if reached == 0:
        return []
    row, _ = GraderSettings.objects.get_or_create(assignment_id=assignment_id)
    won = GraderSettings.objects.filter(pk=row.pk, last_threshold__lt=reached).update(last_threshold=reached)
    if not won:
        return []
    methods = [Method.FAST.value]
    finetune = row.auto_finetune if row.auto_finetune is not None else conf.auto_finetune()
    if finetune and reached >= 60:  # below ~60 essays fine-tuning loses to the fast scorer
        methods.append(Method.FINETUNE.value)
    for method in methods:
        training_enqueue(assignment_id=assignment_id, method=method, trigger=f"threshold:{reached}")
    return methods


def training_enqueue(
    *,
    assignment_id: int,
    method: str,
    trigger: str,
    requested_by_id: int | None = None,
    hyperparameters: Mapping[str, object] | None = None,
) -> None:
    """Enqueue training after commit; without a broker, in a background thread (see conf)."""
    from celery import current_app

    from .tasks import train_assignment_model

    if method not in Method.values:
        raise ValidationError({"method": f"Unknown method {method!r}; expected one of {', '.join(Method.values)}."})
    kwargs = {
        "assignment_id": assignment_id,
        "method": method,
        "trigger": trigger,
        "requested_by_id": requested_by_id,
        "hyperparameters": dict(hyperparameters or {}),
    }
    if current_app.conf.task_always_eager and conf.train_eager_in_thread():
        # No broker (the demo server): training would run inside the web request. A daemon
        # thread keeps the request fast; the task itself is the same.
        transaction.on_commit(
            lambda: threading.Thread(
                target=train_assignment_model.apply, kwargs={"kwargs": kwargs}, daemon=True
            ).start()
        )
        return
    train_assignment_model.delay_on_commit(**kwargs)
