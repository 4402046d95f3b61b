"""Frozen data that leaves the assessment app (api.py, tasks, REST). Never querysets or models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist


class AssessmentLookupError(ObjectDoesNotExist):
    """An unknown student, course, skill or assignment was asked about (REST maps it to 404)."""


@dataclass(frozen=True)
class MasteryData:
    """Mastery of one skill by one student.

    ``p`` in [0, 1]: BKT's P(known), or the deep model's P(correct) on an item of average
    difficulty for the skill. ``trend``: ``p`` now minus ``p`` five pieces of evidence ago
    (negative = falling). ``updated_at``: time of the latest evidence for the skill, None when
    there is none yet (then ``p`` is the model's prior for a student with this history).
    """

    p: float
    trend: float
    updated_at: datetime | None
    n_evidence: int
    method: str = "bkt"


@dataclass(frozen=True, slots=True)
class MasteryRow:
    """One stored estimate backed by evidence (``latest_mastery``): a cell of a class matrix.

    ``updated_at`` is the time of the latest evidence on the skill (``MasteryData.updated_at``);
    None when the caller asked for the estimates without their times.
    """

    student_id: int
    skill_id: int
    p: float
    n_evidence: int
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class WeeklyMastery:
    """Class mastery of one skill in one week (``weekly_mastery``): the mean of the estimates
    made that week and how many distinct students they came from."""

    skill_id: int
    week: datetime  # start of the week (Monday 00:00, current time zone; Django's TruncWeek)
    n_students: int
    mean: float


@dataclass(frozen=True)
class MasteryPoint:
    at: datetime
    p: float


@dataclass(frozen=True)
class MasteryTrajectory:
    """Mastery over time: per skill (each point the estimate after a piece of evidence) and
    overall (the mean over the skills seen so far, after each piece of evidence)."""

    student_id: int
    course_id: int
    skills: dict[int, tuple[MasteryPoint, ...]]
    overall: tuple[MasteryPoint, ...]


@dataclass(frozen=True)
class SkillDistribution:
    """Distribution of the course's students' mastery of one skill at one time (period end)."""

    skill_id: int
    at: datetime
    n_students: int
    mean: float
    quartiles: tuple[float, float, float]
    histogram: tuple[int, ...]  # counts in [0, .2), [.2, .4), [.4, .6), [.6, .8), [.8, 1]


@dataclass(frozen=True)
class LearningGain:
    """Normalised score change between a student's first and latest graded attempt."""

    student_id: int
    assignment_id: int
    first_attempt: int
    last_attempt: int
    first_score: float  # normalised to [0, 1]
    last_score: float
    gain: float  # last - first
    normalised_gain: float | None  # Hake's g = gain / (1 - first); None when first == 1


@dataclass(frozen=True)
class RiskData:
    student_id: int
    probability: float
    reasons: list[str]


@dataclass(frozen=True)
class KTModelData:
    id: int
    school_id: int
    method: str
    version: int
    status: str
    hyperparameters: dict[str, object]
    n_train_students: int
    n_train_responses: int
    valid_auc: float | None
    baseline_auc: float | None
    train_seconds: float
    artefact_path: str
    created_at: datetime
