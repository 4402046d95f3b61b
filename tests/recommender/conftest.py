"""Fixtures of the recommender tests.

- By default the encoder is switched off (lexical retrieval only), so the default run never
  loads a model; a test that asks for ``real_encoder`` gets the bundled MiniLM.
- ``maths`` builds a small course on ``world.course``: Fractions -> Ratios -> Percentages, a
  resource and practice items per skill, and a quiz on Percentages due in three days.
- ``set_mastery`` feeds known mastery and predicted success (the knowledge-tracing contract)
  through the recommender's one adapter (``recommender.sources``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from eduai.courses.models import Role
from recommender import selectors, sources
from recommender.data import MasteryData
from tests import factories as f


@pytest.fixture(autouse=True)
def _recommender_isolation(request, monkeypatch, settings):
    # The world fixture makes 7 users; Django's default PBKDF2 (1M rounds) costs ~0.7 s each here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # A request with Accept-Language leaves its language active in the thread: start in English.
    translation.activate("en")
    selectors._index_cache.clear()
    selectors._vector_cache.clear()
    sources._encoder_names.clear()
    if "real_encoder" not in request.fixturenames:
        monkeypatch.setattr(sources, "_spec", lambda language: None)
    yield
    translation.deactivate()
    sources._encoder_names.clear()
    selectors._index_cache.clear()


@pytest.fixture
def real_encoder(settings):
    settings.EDUAI_EMBED_PRECISION = "int8"
    settings.EDUAI_DEVICE = "cpu"
    if not sources.encoder_name("en"):
        pytest.skip("eduai.inference offers no English encoder here")
    return sources


@dataclass
class Maths:
    course: object
    fractions: object
    ratios: object
    percentages: object
    r_fractions: object
    r_ratios: object
    r_percentages: object
    r_general: object
    items: dict
    quiz: object


@pytest.fixture
def maths(world) -> Maths:
    course = world.course
    fractions = f.SkillFactory(course=course, name="Fractions")
    ratios = f.SkillFactory(course=course, name="Ratios")
    percentages = f.SkillFactory(course=course, name="Percentages")
    ratios.prerequisites.add(fractions)
    percentages.prerequisites.add(ratios)
    r_fractions = f.LearningResourceFactory(
        course=course,
        title="Adding fractions",
        body="To add fractions with unlike denominators, first find a common denominator. "
        "Then add the numerators and keep the denominator.\n\n"
        "For example, 1/4 + 1/8 = 2/8 + 1/8 = 3/8.",
        difficulty=0.2,
    )
    r_fractions.skills.add(fractions)
    r_ratios = f.LearningResourceFactory(
        course=course,
        title="Ratios explained",
        body="A ratio compares two quantities. The ratio 3:2 means three parts of one kind for every two parts "
        "of another. You can simplify a ratio by dividing both parts by their greatest common divisor.",
        difficulty=0.4,
    )
    r_ratios.skills.add(ratios)
    r_percentages = f.LearningResourceFactory(
        course=course,
        title="Percent basics",
        body="Per cent means out of a hundred. To turn a fraction into a percentage, multiply it by 100. "
        "A discount of 20 percent on 50 dollars saves 10 dollars.",
        difficulty=0.5,
    )
    r_percentages.skills.add(percentages)
    r_general = f.LearningResourceFactory(
        course=course,
        title="How to take notes",
        body="Cornell notes split the page into cues, notes and a summary written after class.",
        difficulty=0.3,
    )
    items = {}
    for skill in (fractions, ratios, percentages):
        for level, difficulty in (("easy", 0.2), ("mid", 0.5), ("hard", 0.8)):
            item = f.PracticeItemFactory(course=course, title=f"{skill.name} {level}", difficulty=difficulty)
            item.skills.add(skill)
            items[(skill.name, level)] = item
    quiz = f.AssignmentFactory(
        course=course, title="Percentages quiz", due_at=timezone.now() + timedelta(days=3), kind="short_answer"
    )
    quiz.skills.add(percentages)
    return Maths(course, fractions, ratios, percentages, r_fractions, r_ratios, r_percentages, r_general, items, quiz)


@pytest.fixture
def set_mastery(monkeypatch):
    """set_mastery({student_id: {skill_id: p or MasteryData}}, predicted={student_id: {item: p}})."""
    table: dict[int, dict[int, MasteryData]] = {}
    preds: dict[int, dict[int, float]] = {}

    def _set(values: dict, predicted: dict | None = None) -> None:
        for student, per in values.items():
            table[int(student)] = {
                int(k): (v if isinstance(v, MasteryData) else MasteryData(p=float(v), n_evidence=5))
                for k, v in per.items()
            }
        for student, per in (predicted or {}).items():
            preds[int(student)] = {int(k): float(v) for k, v in per.items()}

    monkeypatch.setattr(
        sources,
        "mastery_for_students",
        lambda *, student_ids, course_id: {s: dict(table.get(s, {})) for s in student_ids},
    )
    monkeypatch.setattr(
        sources, "mastery_for_student", lambda *, student_id, course_id: dict(table.get(student_id, {}))
    )

    def predicted(*, student_id, course_id, item_ids):
        return {i: p for i, p in preds.get(student_id, {}).items() if i in set(item_ids)}

    monkeypatch.setattr(sources, "predicted_success", predicted)
    monkeypatch.setattr(
        sources,
        "predicted_success_for_students",
        lambda *, student_ids, course_id, item_ids, skip=(): {
            s: predicted(student_id=s, course_id=course_id, item_ids=item_ids) for s in student_ids
        },
    )
    return _set


@pytest.fixture
def classmate(world):
    """A second student of ``world.course`` (privacy tests)."""
    user = f.UserFactory(username="classmate")
    f.EnrollmentFactory(course=world.course, user=user, role=Role.STUDENT)
    return user
