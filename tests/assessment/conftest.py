"""Fixtures for assessment tests: a course with skills and practice items, events as a student
answers, and a small risk model (the default one simulates 3,000 students; tests need less)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from assessment import risk
from assessment.kt import loader
from eduai.courses import api as courses
from eduai.courses.models import ActivityEvent
from tests import factories as f


@pytest.fixture(autouse=True)
def _isolated_models(settings, tmp_path):
    """Artefacts under a temporary EDUAI_MODEL_ROOT; no model or state cached across tests."""
    settings.EDUAI_MODEL_ROOT = tmp_path / "models"
    loader.forget_models()
    yield
    loader.forget_models()


@pytest.fixture(scope="session")
def small_risk_model() -> risk.RiskModel:
    snaps, y = risk.simulate_cohort(400, seed=0)
    return risk.RiskModel().fit(np.stack([risk.features(s) for s in snaps]), y, source="test cohort")


@pytest.fixture(autouse=True)
def _small_default_risk(monkeypatch, small_risk_model):
    monkeypatch.setattr(risk, "_default_model", small_risk_model)


@dataclass
class Maths:
    course: object
    fractions: object
    decimals: object
    item_f: object  # fractions
    item_d: object  # decimals
    item_fd: object  # both skills
    item_none: object  # no skill


@pytest.fixture
def maths(world) -> Maths:
    course = world.course
    fractions = f.SkillFactory(course=course, name="Fractions")
    decimals = f.SkillFactory(course=course, name="Decimals")
    item_f = f.PracticeItemFactory(course=course, title="Add fractions")
    item_f.skills.add(fractions)
    item_d = f.PracticeItemFactory(course=course, title="Round decimals")
    item_d.skills.add(decimals)
    item_fd = f.PracticeItemFactory(course=course, title="Fraction to decimal")
    item_fd.skills.add(fractions, decimals)
    item_none = f.PracticeItemFactory(course=course, title="Untagged")
    return Maths(course, fractions, decimals, item_f, item_d, item_fd, item_none)


def answer(
    course, student, item, correct: bool | None, at: datetime, *, statement_id: uuid.UUID | None = None
) -> ActivityEvent:
    """Store one practice answer through the LMS core (no signal delivery inside a test
    transaction: tests call the assessment service themselves)."""
    result = courses.activity_events_record(
        events=[
            courses.EventInput(
                course_id=course.pk,
                actor_id=student.pk,
                verb="http://adlnet.gov/expapi/verbs/answered",
                timestamp=at,
                object_type="practice_item",
                practice_item_id=item.pk,
                result_success=correct,
                statement_id=statement_id,
            )
        ]
    )
    if result.created_ids:
        return ActivityEvent.objects.get(pk=result.created_ids[0])
    return ActivityEvent.objects.get(statement_id=statement_id)


BASE = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return BASE + timedelta(minutes=minutes)
