"""Frozen data of the recommender, passed between its layers, across task boundaries and to
other apps (never querysets or model instances).

The ranking (``ranking.py``) works only on these shapes, so the same code ranks real students
(fed from the database) and simulated learners (``simulate.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np

ActivityKind = Literal["resource", "practice"]


@dataclass(frozen=True, slots=True)
class MasteryData:
    """One skill's mastery estimate for one student (the knowledge-tracing contract).

    ``p`` in [0, 1]; ``trend`` is the recent change of ``p`` (mastery units, negative = slipping);
    ``n_evidence`` counts the responses behind it (0 = prior only).
    """

    p: float
    trend: float = 0.0
    updated_at: datetime | None = None
    n_evidence: int = 0


@dataclass(frozen=True, slots=True)
class SkillInfo:
    id: int
    name: str
    prerequisites: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Activity:
    """Something a student can do next: read/watch a resource or answer a practice item."""

    kind: ActivityKind
    id: int
    title: str
    skill_ids: tuple[int, ...]
    difficulty: float = 0.5
    resource_kind: str = ""
    url: str = ""
    # L2-normalised content vector (resources only, when the course is indexed).
    vector: np.ndarray | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True, slots=True)
class DueInfo:
    """The nearest upcoming assignment that needs a skill."""

    assignment_id: int
    title: str
    due_at: datetime


@dataclass(frozen=True, slots=True, eq=False)
class WeakTrait:
    """A rubric trait the student scored low on in released essays. ``deficit`` in [0, 1]
    is 1 - (score - min) / (max - min), averaged over their graded essays."""

    name: str
    deficit: float
    vector: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Catalog:
    """Everything about a course the ranking needs, shared by all of its students."""

    course_id: int
    skills: dict[int, SkillInfo]
    activities: tuple[Activity, ...]
    # skill id -> nearest upcoming assignment that needs it (directly or through a dependent skill).
    due: dict[int, DueInfo] = field(default_factory=dict)
    # skill id -> L2-normalised vector of "name. description" (when an encoder is available).
    skill_vectors: dict[int, np.ndarray] = field(default_factory=dict)
    # "what helped similar students": see cf.py for the shape.
    profile: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LearnerState:
    """One student's state as the ranking sees it."""

    mastery: dict[int, MasteryData]
    # practice item id -> predicted probability of answering it right (knowledge tracing).
    predicted: dict[int, float] = field(default_factory=dict)
    # activity key ("resource:12") -> days since the student last touched it.
    days_since: dict[str, float] = field(default_factory=dict)
    # activity keys the student completed (resources) or answered right (practice).
    completed: frozenset[str] = frozenset()
    weak_traits: tuple[WeakTrait, ...] = ()
    # index of the student's cluster in profile["centroids"], or None (no profile / no mastery).
    cluster: int | None = None

    @property
    def has_history(self) -> bool:
        return any(m.n_evidence > 0 for m in self.mastery.values()) or bool(self.days_since)


@dataclass(frozen=True, slots=True)
class Reason:
    """Why an activity is recommended: a code and its numbers; rendered in the reader's language
    by ``reasons.render``."""

    code: str
    params: dict[str, Any]


# The score's factors kept in the cache (for audit in the admin and the REST API's debugging).
_KEPT_COMPONENTS = frozenset({"need", "fit", "novelty", "content", "cf", "predicted_success", "diversified_score"})


@dataclass(frozen=True, slots=True)
class Recommendation:
    kind: ActivityKind
    id: int
    title: str
    score: float
    reasons: tuple[Reason, ...]
    skill_ids: tuple[int, ...] = ()
    # The named parts of the score, for audit and the design doc's explanation.
    components: dict[str, float] = field(default_factory=dict)
    pinned: bool = False
    resource_kind: str = ""
    url: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    def to_json(self) -> dict[str, Any]:
        """The cached form. Title, URL and kind of resource are re-read live when serving (a
        renamed resource shows its new title), so only the title is kept, for the admin."""
        return {
            "kind": self.kind,
            "id": self.id,
            "title": self.title,
            "score": round(self.score, 4),
            "reasons": [{"code": r.code, "params": r.params} for r in self.reasons],
            "skill_ids": list(self.skill_ids),
            "components": {k: round(v, 3) for k, v in self.components.items() if k in _KEPT_COMPONENTS},
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Recommendation:
        return cls(
            kind=raw["kind"],
            id=int(raw["id"]),
            title=str(raw.get("title", "")),
            score=float(raw.get("score", 0.0)),
            reasons=tuple(Reason(r["code"], dict(r.get("params", {}))) for r in raw.get("reasons", [])),
            skill_ids=tuple(int(s) for s in raw.get("skill_ids", [])),
            components=dict(raw.get("components", {})),
            pinned=bool(raw.get("pinned", False)),
            resource_kind=str(raw.get("resource_kind", "")),
            url=str(raw.get("url", "")),
        )


@dataclass(frozen=True, slots=True)
class RecommendationList:
    course_id: int
    student_id: int
    items: tuple[Recommendation, ...]
    computed_at: datetime | None
    cold_start: bool
    stale: bool


@dataclass(frozen=True, slots=True)
class PassageHit:
    passage_id: int
    resource_id: int
    resource_title: str
    text: str
    # (start, end) character offsets of the answering sentence inside ``text``.
    highlight: tuple[int, int]
    score: float
    semantic: float
    lexical: float

    @property
    def before(self) -> str:
        return self.text[: self.highlight[0]]

    @property
    def highlighted(self) -> str:
        return self.text[self.highlight[0] : self.highlight[1]]

    @property
    def after(self) -> str:
        return self.text[self.highlight[1] :]

    def to_json(self) -> dict[str, Any]:
        return {
            "passage_id": self.passage_id,
            "resource_id": self.resource_id,
            "resource_title": self.resource_title,
            "text": self.text,
            "highlight": list(self.highlight),
            "score": round(self.score, 4),
            "semantic": round(self.semantic, 4),
            "lexical": round(self.lexical, 4),
        }


@dataclass(frozen=True, slots=True)
class AnswerData:
    question_id: int | None
    found: bool
    language: str
    hits: tuple[PassageHit, ...]
    top_score: float
    status: str
