"""Frozen data passed between apps and across task boundaries (never querysets or models)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class EventInput:
    """One activity event to record (validated shape; ids refer to existing rows)."""

    course_id: int
    actor_id: int
    verb: str
    timestamp: datetime
    object_type: str = "other"
    object_iri: str = ""
    practice_item_id: int | None = None
    resource_id: int | None = None
    assignment_id: int | None = None
    result_success: bool | None = None
    result_completion: bool | None = None
    result_score_scaled: float | None = None
    result_score_raw: float | None = None
    result_duration: timedelta | None = None
    result_response: str = ""
    statement_id: uuid.UUID | None = None
    raw: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordResult:
    created_ids: list[int]
    duplicate_statement_ids: list[uuid.UUID]


@dataclass(frozen=True)
class RubricTraitData:
    id: int
    name: str
    min_score: int
    max_score: int


@dataclass(frozen=True)
class AssignmentData:
    id: int
    course_id: int
    title: str
    kind: str
    prompt: str
    min_score: int
    max_score: int
    language: str
    release_policy: str
    auto_release_max_interval: float
    auto_release_min_qwk: float
    traits: tuple[RubricTraitData, ...]
    skill_ids: tuple[int, ...]
