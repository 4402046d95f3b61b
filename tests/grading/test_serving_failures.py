"""Scoring failures that must never lose an essay: non-finite model outputs, database refusals,
bad input among model failures, a redelivered micro-batch, a soft time limit.

The model is a stand-in (``serving.predictions_for`` patched): these tests are about what the
engine does with its answers, so no scorer is trained."""

from __future__ import annotations

import math

import numpy as np
import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DataError

from eduai.courses.models import Submission, SubmissionStatus
from grading import serving
from grading.models import GradingModel, ModelStatus, Prediction
from grading.scoring import rubric_to_hyperparameters
from grading.scoring.base import Range, Rubric
from grading.tasks import score_submissions
from tests import factories as f


@pytest.fixture
def record(world):
    """A serving model of a 0-6 assignment with one 0-3 trait ("ideas"): holistic, then trait."""
    assignment = f.AssignmentFactory(course=world.course, min_score=0, max_score=6)
    return GradingModel.objects.create(
        assignment=assignment,
        version=1,
        method="fast",
        status=ModelStatus.READY,
        is_active=True,
        hyperparameters=rubric_to_hyperparameters(Rubric(0, 6, traits=(Range("ideas", 0, 3),))),
        interval_halfwidth=1.0,
        interval_coverage=0.9,
    )


@pytest.fixture
def new(record, world):
    def make(text: str = "An essay about rivers and the towns they feed.") -> Submission:
        return f.SubmissionFactory(
            assignment=record.assignment, author=world.student, text=text, status=SubmissionStatus.RECEIVED
        )

    return make


def model_answering(outputs: dict[int, list[float]], calls: list[list[int]] | None = None):
    """A stand-in ``predictions_for``: the given row per submission id, (3.0, 2.0) otherwise."""

    def predict(record, ids, texts):
        if calls is not None:
            calls.append(list(ids))
        return np.array([outputs.get(i, [3.0, 2.0]) for i in ids], dtype=float)

    return predict


def state(*subs: Submission) -> list[tuple[str, str]]:
    by_id = dict(Submission.objects.filter(pk__in=[s.pk for s in subs]).values_list("id", "status"))
    return [by_id[s.pk] for s in subs]


# ------------------------------------------------------------------------ non-finite outputs
@pytest.mark.django_db
@pytest.mark.parametrize("bad_row", [[math.nan, 2.0], [math.inf, 2.0], [3.0, math.nan], [3.0, -math.inf]], ids=str)
def test_a_non_finite_output_fails_that_essay_for_a_retry_and_stores_nothing(new, monkeypatch, bad_row):
    # given a batch where the model answers NaN or inf for one essay (holistic or trait head)
    good, bad = new(), new()
    monkeypatch.setattr(serving, "predictions_for", model_answering({bad.pk: bad_row}))
    # when the batch is scored
    result = serving.submissions_score(submission_ids=[good.pk, bad.pk], token="t1")
    # then that essay is failed with the reason, offered for a retry, and has no prediction
    bad.refresh_from_db()
    assert bad.status == SubmissionStatus.FAILED and "non-finite" in bad.status_reason
    assert not Prediction.objects.filter(submission=bad).exists()
    assert result.retry == (bad.pk,) and result.retryable
    assert [sid for sid, _ in result.failed] == [bad.pk]
    # and the other essay of the batch is scored as usual
    assert result.scored == (good.pk,)
    assert Prediction.objects.get(submission=good).trait_scores["ideas"]["score"] == 2


@pytest.mark.django_db
def test_a_model_that_keeps_answering_nan_is_retried_with_backoff_then_left_failed(new, monkeypatch, settings):
    sub = new()
    calls: list[list[int]] = []
    monkeypatch.setattr(serving, "predictions_for", model_answering({sub.pk: [math.nan, math.nan]}, calls))
    settings.EDUAI_SCORING_MAX_RETRIES = 2
    out = score_submissions.apply(args=[[sub.pk]]).get()  # eager: the retries run at once
    assert calls == [[sub.pk]] * 3  # the first try and two retries
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.FAILED and "non-finite" in sub.status_reason
    assert out["failed"][0][0] == sub.pk and not Prediction.objects.filter(submission=sub).exists()


# ------------------------------------------------------------------- database refusals
@pytest.mark.django_db
@pytest.mark.parametrize("batch", [1, 3], ids=["alone", "in a batch"])
def test_a_prediction_the_database_refuses_is_not_taken_for_a_racing_workers(new, monkeypatch, batch):
    # given a prediction row that breaks the interval_ordered CHECK (an IntegrityError that is
    # not the unique (submission, model) one)
    subs = [new() for _ in range(batch)]
    broken = subs[-1]
    real = serving._prediction

    def prediction(record, rubric, sid, raw, seconds):
        p = real(record, rubric, sid, raw, seconds)
        if sid == broken.pk:
            p.interval_low, p.interval_high = 5.0, 1.0
        return p

    monkeypatch.setattr(serving, "_prediction", prediction)
    monkeypatch.setattr(serving, "predictions_for", model_answering({}))
    result = serving.submissions_score(submission_ids=[s.pk for s in subs], token="t1")
    # then that submission is failed with the database's reason, never "scored" without a prediction
    broken.refresh_from_db()
    assert broken.status == SubmissionStatus.FAILED and "refused" in broken.status_reason
    assert not Prediction.objects.filter(submission=broken).exists()
    assert result.retry == (broken.pk,)
    # and the rest of the batch is stored once
    assert sorted(result.scored) == sorted(s.pk for s in subs[:-1])
    assert Prediction.objects.filter(submission__in=subs[:-1]).count() == batch - 1


@pytest.mark.django_db
def test_a_data_error_on_insert_fails_the_submission_instead_of_escaping(new, monkeypatch):
    # PostgreSQL answers an out-of-range value with DataError (not IntegrityError): it must
    # neither escape the task (the sweep would re-enqueue it forever) nor read as "scored".
    sub = new()

    def refuse(*args, **kwargs):
        raise DataError("integer out of range")

    monkeypatch.setattr(serving, "predictions_for", model_answering({}))
    monkeypatch.setattr(Prediction.objects, "bulk_create", refuse)
    monkeypatch.setattr(Prediction, "save", refuse)
    result = serving.submissions_score(submission_ids=[sub.pk], token="t1")
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.FAILED and "integer out of range" in sub.status_reason
    assert result.retry == (sub.pk,) and result.scored == ()


# ------------------------------------------------------------- bad input and model failures
@pytest.mark.django_db
def test_bad_input_is_not_retried_when_a_model_failure_retries_the_task(new, monkeypatch, settings):
    good, empty = new(), new(text="   \n\t ")

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA out of memory")

    runs: list[list[int]] = []
    real = serving.submissions_score

    def spy(*, submission_ids, **kw):
        runs.append(list(submission_ids))
        return real(submission_ids=submission_ids, **kw)

    monkeypatch.setattr(serving, "predictions_for", broken)
    monkeypatch.setattr(serving, "submissions_score", spy)
    settings.EDUAI_SCORING_MAX_RETRIES = 2
    score_submissions.apply(args=[[good.pk, empty.pk]]).get()
    # the retries carry the model failure only: the empty essay failed for good, once
    assert runs == [[good.pk, empty.pk], [good.pk], [good.pk]]
    empty.refresh_from_db()
    assert empty.status == SubmissionStatus.FAILED and empty.status_reason.startswith("cannot score: empty text")


# ------------------------------------------------------------------ redelivered micro-batch
class Stopped(BaseException):
    """The worker stopping mid-batch, as a kill does (nothing in the engine catches it)."""


def _stopped_in_forward_pass(monkeypatch, first: Submission, token: str) -> None:
    """A task of ``first`` that claimed its micro-batch and stopped before storing anything."""

    def stop(record, ids, texts):
        raise Stopped

    monkeypatch.setattr(serving, "predictions_for", stop)
    with pytest.raises(Stopped):
        serving.submissions_score(submission_ids=[first.pk], token=token)


@pytest.mark.django_db
def test_a_redelivered_task_scores_the_essays_its_dead_worker_had_micro_batched_once(record, new, monkeypatch):
    # given a worker that claimed its task's essay and two waiting ones, then was killed
    first, *extras = [new() for _ in range(3)]
    _stopped_in_forward_pass(monkeypatch, first, "T")
    assert set(Submission.objects.values_list("status_reason", flat=True)) == {"claim:T"}
    # when the broker redelivers the task (same id, same token, its own ids only)
    monkeypatch.setattr(serving, "predictions_for", model_answering({}))
    result = serving.submissions_score(submission_ids=[first.pk], token="T")
    # then the extras are scored now, not after the lease, once each
    assert sorted(result.scored) == sorted(s.pk for s in [first, *extras])
    assert state(first, *extras) == [SubmissionStatus.SCORED] * 3
    assert [Prediction.objects.filter(submission=s, model=record).count() for s in extras] == [1, 1]


@pytest.mark.django_db
def test_a_task_never_takes_essays_another_live_worker_holds(new, monkeypatch):
    # given worker B, still running, that holds a micro-batch under its own token (lease fresh)
    first_b, *extras_b = [new() for _ in range(2)]
    _stopped_in_forward_pass(monkeypatch, first_b, "B")
    # when task A scores an essay of the same assignment
    mine = new()
    calls: list[list[int]] = []
    monkeypatch.setattr(serving, "predictions_for", model_answering({}, calls))
    result = serving.submissions_score(submission_ids=[mine.pk], token="A")
    # then A scores its own essay only; B's stay B's
    assert result.scored == (mine.pk,) and calls == [[mine.pk]]
    held_by_b = Submission.objects.filter(status=SubmissionStatus.SCORING, status_reason="claim:B")
    assert sorted(held_by_b.values_list("id", flat=True)) == sorted(s.pk for s in [first_b, *extras_b])


# ---------------------------------------------------------------------------- time limits
@pytest.mark.django_db
def test_a_soft_time_limit_stops_the_task_instead_of_rescoring_one_by_one(new, monkeypatch):
    subs = [new() for _ in range(3)]
    calls: list[list[int]] = []

    def out_of_time(record, ids, texts):
        calls.append(list(ids))
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(serving, "predictions_for", out_of_time)
    with pytest.raises(SoftTimeLimitExceeded):
        serving.submissions_score(submission_ids=[s.pk for s in subs], token="t1")
    # one batch call, no one-by-one rescoring; the claims wait for the sweep, not marked failed
    assert len(calls) == 1
    assert state(*subs) == [SubmissionStatus.SCORING] * 3


def test_model_failures_before_a_soft_time_limit_are_still_retried(new, monkeypatch, settings):
    # given a batch the model cannot score whole (so it goes one by one): the first essay fails
    # as a model failure, then the task's soft time limit strikes on the second
    subs = [new(), new(), new()]
    calls: list[list[int]] = []

    def model(record, ids, texts):
        calls.append(list(ids))
        if len(calls) == 1:
            raise RuntimeError("CUDA out of memory")  # the batch: go one by one
        if len(calls) == 2:
            raise RuntimeError("CUDA out of memory")  # essay 1: a model failure, worth a retry
        if len(calls) == 3:
            raise SoftTimeLimitExceeded()  # essay 2: out of time
        return np.array([[4.0, 2.0]] * len(ids))  # the retry: the model works again

    monkeypatch.setattr(serving, "predictions_for", model)
    settings.EDUAI_SCORING_MAX_RETRIES = 2
    # when the task runs (eager: its retry runs at once)
    score_submissions.apply(args=[[s.pk for s in subs]]).get()
    # then the retry scores all three: the failed one and the two still held in "scoring"
    assert len(calls) == 4 and sorted(calls[3]) == sorted(s.pk for s in subs)
    assert state(*subs) == [SubmissionStatus.SCORED] * 3


def test_a_soft_time_limit_right_after_a_failure_is_stored_still_retries_that_essay(new, monkeypatch, settings):
    # given a task whose own essay is scored, but an essay it pulled into its batch fails on the
    # model, and the soft time limit strikes just after that failure is written
    own, extra = new(), new()
    calls: list[list[int]] = []

    def model(record, ids, texts):
        calls.append(list(ids))
        if len(calls) == 1 or (list(ids) == [extra.pk] and len(calls) <= 3):
            raise RuntimeError("CUDA out of memory")
        return np.array([[4.0, 2.0]] * len(ids))

    real_release = serving._release
    struck = []

    def release(ids, token, *, status, reason):
        real_release(ids, token, status=status, reason=reason)
        if status == SubmissionStatus.FAILED and not struck:
            struck.append(ids)
            raise SoftTimeLimitExceeded()

    monkeypatch.setattr(serving, "predictions_for", model)
    monkeypatch.setattr(serving, "_release", release)
    settings.EDUAI_SCORING_MAX_RETRIES = 2
    # when the task runs (eager: its retry runs at once)
    score_submissions.apply(args=[[own.pk]]).get()
    # then the failed extra essay was retried with the rest, and both are scored
    assert struck and state(own, extra) == [SubmissionStatus.SCORED] * 2
