"""Public face of assessment: what dashboards and the recommender call. Frozen data out.

Mastery (knowledge tracing):

- ``mastery_for_student(*, student_id, course_id) -> dict[skill_id, MasteryData]``: every skill
  of the course. ``MasteryData(p, trend, updated_at, n_evidence, method)``; a skill without
  evidence has ``n_evidence == 0``, ``updated_at is None`` and the serving model's estimate for
  this student (the cold-start prior for a new student).
- ``mastery_for_students(*, student_ids, course_id) -> dict[student_id, dict[skill_id, MasteryData]]``:
  the same for many students in a constant number of queries (unknown ids left out).
- ``predicted_success(*, student_id, item_ids) -> dict[item_id, float]``: P(correct) now.
  Ids of practice items that do not exist are left out of the result.
- ``mastery_history(*, student_id, course_id, skill_id=None) -> MasteryTrajectory``: the
  estimate after every piece of evidence, per skill, and overall (mean over skills so far).
- ``course_mastery_distribution(*, course_id, period_days=7, max_periods=26)``:
  ``dict[skill_id, list[SkillDistribution]]`` (mean, quartiles, 5-bin histogram per period).
- ``assignment_learning_gain(*, assignment_id) -> list[LearningGain]``: first vs latest graded
  attempt per student with at least two.
- ``students_at_risk(*, course_id, threshold=0.5) -> list[RiskData]``: students whose
  probability of failing or dropping is at least ``threshold``, highest first, each with
  plain-word reasons; ``course_risk`` gives everyone.

Unknown students, courses, skills and assignments raise ``AssessmentLookupError`` (a
``django.core.exceptions.ObjectDoesNotExist``). None of these check permissions: callers are
trusted code; the REST API checks with ``eduai.courses.access`` first.

Writes (``record_*``, training) go through ``services``; tasks and signal receivers call them.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from . import risk as _risk
from . import services
from .data import (
    AssessmentLookupError,
    KTModelData,
    LearningGain,
    MasteryData,
    MasteryPoint,
    MasteryRow,
    MasteryTrajectory,
    RiskData,
    SkillDistribution,
    WeeklyMastery,
)
from .selectors import (
    assignment_learning_gain,
    course_mastery_distribution,
    kt_models,
    latest_mastery,
    mastery_for_student,
    mastery_for_students,
    mastery_history,
    predicted_success,
    predicted_success_for_students,
    weekly_mastery,
)


def course_risk(
    *, course_id: int, now: datetime | None = None, threshold: float = _risk.DEFAULT_THRESHOLD
) -> list[RiskData]:
    """Every active student of the course with their risk, highest first; everyone at or above
    ``threshold`` has at least one reason."""
    from eduai.courses.models import Course

    if not Course.objects.filter(pk=course_id).exists():
        raise AssessmentLookupError(f"no course {course_id}")
    return _risk.course_risk(course_id=course_id, now=now or timezone.now(), threshold=threshold)


def students_at_risk(*, course_id: int, threshold: float = _risk.DEFAULT_THRESHOLD) -> list[RiskData]:
    """Students at or above ``threshold`` (default 0.5), highest first; every one has reasons."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError("threshold must be between 0 and 1")
    return [r for r in course_risk(course_id=course_id, threshold=threshold) if r.probability >= threshold]


record_events = services.evidence_from_events
record_grade = services.evidence_from_grade
train_model = services.kt_model_train
activate_model = services.kt_model_activate

__all__ = [
    "AssessmentLookupError",
    "KTModelData",
    "LearningGain",
    "MasteryData",
    "MasteryPoint",
    "MasteryRow",
    "MasteryTrajectory",
    "RiskData",
    "SkillDistribution",
    "WeeklyMastery",
    "activate_model",
    "assignment_learning_gain",
    "course_mastery_distribution",
    "course_risk",
    "kt_models",
    "latest_mastery",
    "mastery_for_student",
    "mastery_for_students",
    "mastery_history",
    "predicted_success",
    "predicted_success_for_students",
    "record_events",
    "record_grade",
    "students_at_risk",
    "train_model",
    "weekly_mastery",
]
