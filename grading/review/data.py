"""Frozen data the review loop hands to pages, the REST API and tasks (never querysets or models)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .fairness import Agreement, Drift, GroupDifference


@dataclass(frozen=True)
class TraitScore:
    name: str
    min_score: int
    max_score: int
    proposed: int | None  # the model's
    low: float | None
    high: float | None
    final: int | None  # the teacher's, once decided


@dataclass(frozen=True)
class QueueItem:
    submission_id: int
    assignment_id: int
    assignment_title: str
    author_id: int
    author_name: str
    status: str
    submitted_at: datetime
    min_score: int
    max_score: int
    prediction_id: int | None
    model_version: int | None
    proposed_score: int | None
    interval_low: float | None
    interval_high: float | None
    interval_coverage: float | None
    final_score: int | None
    decision: str  # "" (waiting), "accepted", "overridden", "graded" (outside the queue)
    released: bool
    released_by: str  # "teacher", "policy" or ""

    @property
    def interval_width(self) -> float | None:
        if self.interval_low is None or self.interval_high is None:
            return None
        return self.interval_high - self.interval_low


@dataclass(frozen=True)
class QueuePage:
    course_id: int
    status: str
    assignment_id: int | None
    items: tuple[QueueItem, ...]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str
    delta: float | None  # raw(whole essay) - raw(essay without this sentence), rubric points

    @property
    def direction(self) -> str:
        if self.delta is None or abs(self.delta) < 0.05:  # below a twentieth of a point: noise
            return "neutral"
        return "up" if self.delta > 0 else "down"


@dataclass(frozen=True)
class Explanation:
    status: str  # "ready", "failed", "unavailable" (no model to ask), "too_short"
    method: str
    base_raw: float | None
    sentences: tuple[Sentence, ...]
    reason: str = ""

    def top(self, direction: str, k: int = 3) -> tuple[Sentence, ...]:
        picked = [s for s in self.sentences if s.direction == direction]
        picked.sort(key=lambda s: -abs(s.delta or 0.0))
        return tuple(picked[:k])


@dataclass(frozen=True)
class Neighbour:
    submission_id: int
    similarity: float
    score: int
    excerpt: str


@dataclass(frozen=True)
class FeedbackItem:
    code: str  # "overall-high" ... "trait-strength", "trait-developing", "trait-focus"
    trait: str  # "" for the holistic comment
    score: int
    min_score: int
    max_score: int
    description: str = ""

    @property
    def key(self) -> str:
        """Stable id of the comment in a form (``overall`` or ``trait:<name>``)."""
        return f"trait:{self.trait}" if self.trait else "overall"


@dataclass(frozen=True)
class EventRow:
    id: int
    kind: str
    actor: str
    score: int | None
    previous_score: int | None
    model_version: int | None
    comment: str
    model_mistake: bool
    detail: dict
    created_at: datetime


@dataclass(frozen=True)
class ReviewItem:
    """Everything the review page of one submission shows."""

    queue: QueueItem
    course_id: int
    text: str
    language: str
    prompt: str
    traits: tuple[TraitScore, ...]
    explanation: Explanation | None
    neighbours: tuple[Neighbour, ...]
    feedback: tuple[FeedbackItem, ...]
    events: tuple[EventRow, ...]
    revision: int  # the decision revision the page was rendered at (0: undecided)
    model_mistake: bool
    teacher_comment: str
    interval_coverage: float | None
    release_feedback: tuple[str, ...] = ()  # keys of feedback already released
    release_evidence: bool = False


@dataclass(frozen=True)
class DecisionResult:
    submission_id: int
    kind: str  # "accepted" or "overridden"
    score: int
    revision: int
    released: bool
    next_submission_id: int | None = None


@dataclass(frozen=True)
class ReleasedGrade:
    """What a student may see of one of their submissions."""

    submission_id: int
    assignment_title: str
    course_id: int
    course_code: str
    text: str
    status: str
    released: bool
    score: int | None = None
    min_score: int | None = None
    max_score: int | None = None
    trait_scores: tuple[TraitScore, ...] = ()
    feedback: tuple[FeedbackItem, ...] = ()
    comment: str = ""
    evidence: tuple[Sentence, ...] = ()
    released_at: datetime | None = None
    released_by: str = ""  # "teacher" or "policy"


@dataclass(frozen=True)
class VersionDrift:
    assignment_id: int
    assignment_title: str
    from_version: int
    to_version: int
    drift: Drift
    # On essays both versions scored: mean (new - old) and how many.
    paired_n: int = 0
    paired_mean_change: float | None = None


@dataclass(frozen=True)
class AssignmentAgreement:
    assignment_id: int
    title: str
    min_score: int
    max_score: int
    overall: Agreement
    recent: Agreement
    floor: float  # the assignment's QWK floor (its auto_release_min_qwk)
    below_floor: bool  # recent QWK under the floor, on enough pairs to judge


@dataclass(frozen=True)
class AgreementReport:
    """Agreement of the model's proposals with teachers' final grades, for one scope."""

    scope: str  # "assignment" or "course"
    scope_id: int
    overall: Agreement
    recent: Agreement
    below_floor: bool  # any assignment's recent agreement is under its floor
    by_assignment: tuple[AssignmentAgreement, ...] = ()
    by_language_background: tuple[GroupDifference, ...] = ()
    by_length: tuple[GroupDifference, ...] = ()
    drift: tuple[VersionDrift, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
