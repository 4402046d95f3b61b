"""``score_grader``: batch scoring of an assignment from the command line, with progress, and a
Ctrl-C that keeps what was scored and hands the batch in flight back."""

from __future__ import annotations

from io import StringIO
from unittest import mock

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from eduai.courses.models import Submission, SubmissionStatus
from grading import serving
from grading.models import GradingModel, ModelStatus, Prediction
from grading.scoring import rubric_to_hyperparameters
from grading.scoring.base import Rubric
from tests import factories as f

pytestmark = pytest.mark.django_db


def _model(assignment, version: int, active: bool = True) -> GradingModel:
    return GradingModel.objects.create(
        assignment=assignment,
        version=version,
        method="fast",
        status=ModelStatus.READY,
        is_active=active,
        hyperparameters=rubric_to_hyperparameters(Rubric(0, 6)),
        interval_halfwidth=1.0,
        interval_coverage=0.9,
    )


@pytest.fixture
def assignment(world):
    return f.AssignmentFactory(course=world.course, min_score=0, max_score=6)


def _essays(assignment, world, n: int) -> list[Submission]:
    return [
        f.SubmissionFactory(
            assignment=assignment, author=world.student, text=f"Essay {i} on rivers.", status=SubmissionStatus.RECEIVED
        )
        for i in range(n)
    ]


def _model_giving(score: float, calls: list[list[int]]):
    def predict(record, ids, texts):
        calls.append(list(ids))
        return np.full((len(ids), 1), score)

    return predict


def _statuses(subs) -> list[str]:
    by_id = dict(Submission.objects.filter(pk__in=[s.pk for s in subs]).values_list("id", "status"))
    return [by_id[s.pk] for s in subs]


def test_it_scores_every_waiting_essay_in_batches_and_then_finds_none(assignment, world, monkeypatch):
    # given an assignment with a serving model and 7 essays it has not scored
    record = _model(assignment, 1)
    subs = _essays(assignment, world, 7)
    calls: list[list[int]] = []
    monkeypatch.setattr(serving, "predictions_for", _model_giving(4.0, calls))
    # when the command scores them, 3 a batch
    out = StringIO()
    call_command("score_grader", str(assignment.pk), "--batch", "3", "--no-progress", stdout=out)
    # then every essay has the serving model's prediction, in batches of at most 3
    assert [len(c) for c in calls] == [3, 3, 1]
    assert _statuses(subs) == [SubmissionStatus.SCORED] * 7
    assert Prediction.objects.filter(model=record).count() == 7
    assert out.getvalue().startswith("scored 7, failed 0, skipped 0")
    # and a second run finds nothing left to do
    out = StringIO()
    call_command("score_grader", str(assignment.pk), "--no-progress", stdout=out)
    assert out.getvalue().startswith("scored 0,") and len(calls) == 3


def test_ctrl_c_keeps_what_was_scored_and_puts_the_batch_in_flight_back(assignment, world, monkeypatch):
    # given 6 waiting essays: one scored before by an older model version, one failed on it
    _model(assignment, 1, active=False)
    subs = _essays(assignment, world, 6)
    older = GradingModel.objects.get(assignment=assignment, version=1)
    Prediction.objects.create(
        submission=subs[4], model=older, score=3, raw_score=3.0, interval_low=2, interval_high=4, interval_coverage=0.9
    )
    Submission.objects.filter(pk=subs[4].pk).update(status=SubmissionStatus.SCORED)
    failed = {"status": SubmissionStatus.FAILED, "status_reason": "model v1 failed: OOM"}
    Submission.objects.filter(pk=subs[5].pk).update(**failed)
    record = _model(assignment, 2)
    calls: list[list[int]] = []

    def predict(record, ids, texts):
        calls.append(list(ids))
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the second batch's forward pass
        return np.full((len(ids), 1), 4.0)

    monkeypatch.setattr(serving, "predictions_for", predict)
    # when the command is interrupted during its second batch of 3
    with pytest.raises(CommandError, match="interrupted"):
        call_command("score_grader", str(assignment.pk), "--batch", "3", "--no-progress")
    # then the first batch keeps its predictions, and nothing is left claimed: the second batch
    # is back where it was (waiting, scored by the older model, failed with its reason)
    assert _statuses(subs) == [SubmissionStatus.SCORED] * 3 + [
        SubmissionStatus.RECEIVED,
        SubmissionStatus.SCORED,
        SubmissionStatus.FAILED,
    ]
    assert Submission.objects.get(pk=subs[5].pk).status_reason == "model v1 failed: OOM"
    assert Prediction.objects.filter(model=record).count() == 3
    assert not Submission.objects.filter(status=SubmissionStatus.SCORING).exists()


def test_it_refuses_what_it_cannot_do_and_queues_on_demand(assignment, world, settings):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("score_grader", "999999", "--no-progress")
    with pytest.raises(CommandError, match="no model serves"):
        call_command("score_grader", str(assignment.pk), "--no-progress")
    with pytest.raises(CommandError, match="at least 1"):
        call_command("score_grader", str(assignment.pk), "--batch", "0")
    with pytest.raises(CommandError, match="at most"):
        call_command("score_grader", str(assignment.pk), "--batch", "5000")
    # --queue: the waiting essays go to the inference queue, as after a new model is activated;
    # refused without a broker (the tasks would run here, with no progress bar)
    record = _model(assignment, 1)
    _essays(assignment, world, 2)
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with pytest.raises(CommandError, match="needs a broker"):
        call_command("score_grader", str(assignment.pk), "--queue")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    out = StringIO()
    with mock.patch("grading.tasks.score_submissions.delay") as delay:
        call_command("score_grader", str(assignment.pk), "--queue", stdout=out)
    assert out.getvalue().strip() == "queued 2 submission(s)" and delay.call_count == 1
    assert not Prediction.objects.filter(model=record).exists()


def test_the_summary_says_what_was_left_waiting_when_the_model_stops_serving(assignment, world, monkeypatch):
    # given 6 waiting essays, and the serving model deactivated (a rollback) after the first batch
    record = _model(assignment, 1)
    subs = _essays(assignment, world, 6)
    calls: list[list[int]] = []

    def predict(record_, ids, texts):
        calls.append(list(ids))
        GradingModel.objects.filter(pk=record.pk).update(is_active=False)
        return np.full((len(ids), 1), 4.0)

    monkeypatch.setattr(serving, "predictions_for", predict)
    out = StringIO()
    call_command("score_grader", str(assignment.pk), "--batch", "3", "--no-progress", stdout=out)
    # then the summary does not hide the three essays no model could score
    assert out.getvalue().startswith("scored 3,") and "3 left waiting" in out.getvalue()
    assert _statuses(subs).count(SubmissionStatus.RECEIVED) == 3
