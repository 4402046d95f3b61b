"""Grading test fixtures: a throwaway model root, short encoder inputs, and graded essays."""

from __future__ import annotations

import random

import pytest

from eduai.courses.models import Submission, SubmissionStatus
from tests import factories as f

from .essays import essay, graded_essays


@pytest.fixture(autouse=True)
def grading_settings(settings, tmp_path):
    settings.EDUAI_MODEL_ROOT = tmp_path / "models"
    # The default PBKDF2 costs ~0.7 s per user on this box; tests create dozens of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # 64 tokens keep the encoder cheap in tests; the synthetic essays' signal survives head+tail.
    settings.EDUAI_EMBED_MAX_TOKENS = 64
    settings.EDUAI_TRAIN_EAGER_IN_THREAD = False
    settings.EDUAI_GRADER_AUTO_FINETUNE = "0"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from celery import current_app

    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield settings
    current_app.conf.task_always_eager = previous


@pytest.fixture
def make_graded(db):
    """Create ``n`` teacher-graded submissions of synthetic essays for an assignment."""
    from grading import api as grading

    def make(assignment, n: int, *, seed: int = 0, grader=None, traits: bool = False, author=None) -> list[Submission]:
        author = author or f.UserFactory()
        subs = []
        grades = []
        for k, (text, q) in enumerate(graded_essays(n, seed=seed, max_quality=assignment.max_score)):
            sub = f.SubmissionFactory(
                assignment=assignment, author=author, text=text, attempt=k + 1, status=SubmissionStatus.RECEIVED
            )
            subs.append(sub)
            trait_scores = None
            if traits:
                trait_scores = {
                    t.name: min(t.max_score, max(t.min_score, round(q * t.max_score / assignment.max_score)))
                    for t in assignment.traits.all()
                }
            grades.append(grading.GradeInput(submission_id=sub.pk, score=q, trait_scores=trait_scores))
        grading.teacher_grades_import(grades=grades, grader_id=getattr(grader, "pk", None), trigger_training=False)
        return subs

    return make


@pytest.fixture
def fresh_essay():
    rng = random.Random(99)

    def make(quality: int, max_quality: int = 6) -> str:
        return essay(quality, rng, max_quality)

    return make
