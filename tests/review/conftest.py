"""Review-loop fixtures: registry rows and proposals made directly (no model is trained here).

``propose(submission, score, low, high)`` stores a proposal the way grading's scoring does
(``Prediction`` row, submission ``scored``) and runs the review loop's proposal step, so tests
exercise the queue, decisions and releases in milliseconds. Tests that need a real model say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import factory
import pytest
from django.utils import timezone

from eduai.courses.models import Role, SubmissionStatus
from grading.models import GradingModel, Method, ModelStatus, Prediction
from grading.serving import CLAIMABLE
from tests import factories as f


@pytest.fixture(autouse=True)
def _review_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Teacher grades must not start training runs in these tests (tests of the count say so).
    settings.EDUAI_GRADER_AUTO_TRAIN = "0"
    settings.EDUAI_REVIEW_EXPLAIN_ON_PROPOSAL = "0"
    settings.EDUAI_MODEL_ROOT = tmp_path / "models"


class GradingModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GradingModel

    assignment = factory.SubFactory(f.AssignmentFactory)
    version = factory.Sequence(lambda n: n + 1)
    method = Method.FAST
    status = ModelStatus.READY
    is_active = True
    val_qwk = 0.8
    interval_coverage = 0.9
    interval_halfwidth = 0.8
    hyperparameters = factory.LazyAttribute(
        lambda o: {"rubric": {"min_score": o.assignment.min_score, "max_score": o.assignment.max_score, "traits": []}}
    )


@dataclass
class ReviewWorld:
    world: object
    assignment: object
    model: object
    traits: tuple


@pytest.fixture
def rw(world) -> ReviewWorld:
    """An essay assignment (0-6, two traits 0-4) of world.course with a serving model (QWK 0.8)."""
    a = f.AssignmentFactory(course=world.course, title="A place that matters", min_score=0, max_score=6)
    t1 = f.RubricTraitFactory(assignment=a, name="Ideas", description="Clear, developed ideas.", position=0)
    t2 = f.RubricTraitFactory(assignment=a, name="Conventions", description="Spelling and grammar.", position=1)
    model = GradingModelFactory(assignment=a, version=1)
    return ReviewWorld(world=world, assignment=a, model=model, traits=(t1, t2))


@pytest.fixture
def make_sub(rw):
    counter = {"n": 0}

    def make(author=None, text: str = "My town has a river. It floods every spring. We love it anyway.", **kw):
        counter["n"] += 1
        author = author or rw.world.student
        return f.SubmissionFactory(assignment=kw.pop("assignment", rw.assignment), author=author, text=text,
                                   attempt=kw.pop("attempt", counter["n"]), **kw)  # fmt: skip

    return make


@pytest.fixture
def propose(rw):
    """Store a proposal like grading's scoring, then run the review loop's proposal step."""
    from grading.review import api as review

    def make(sub, score: int, low: float | None = None, high: float | None = None, *, model=None, traits=None,
             process: bool = True) -> Prediction:  # fmt: skip
        low = score - 0.5 if low is None else low
        high = score + 0.5 if high is None else high
        traits = traits if traits is not None else {"Ideas": 2, "Conventions": 3}
        p = Prediction.objects.create(
            submission=sub, model=model or rw.model, score=score, raw_score=float(score),
            trait_scores={k: {"score": v, "raw": float(v), "low": v - 1.0, "high": v + 1.0} for k, v in traits.items()},
            interval_low=low, interval_high=high, interval_coverage=0.9,
        )  # fmt: skip
        # As grading does: only a submission no teacher decided moves to "scored".
        type(sub).objects.filter(pk=sub.pk, status__in=CLAIMABLE).update(
            status=SubmissionStatus.SCORED, updated_at=timezone.now()
        )
        if process:
            review.proposal_process(prediction_id=p.pk)
        sub.refresh_from_db()
        return p

    return make


@pytest.fixture
def student2(rw):
    s = f.UserFactory(username="stu3", display_name="Bea")
    f.EnrollmentFactory(course=rw.world.course, user=s, role=Role.STUDENT, language_background="zh")
    return s
