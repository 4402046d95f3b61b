"""Scoring: claims, exactly-once per model version, failures with reasons, retries, micro-batching."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from eduai.courses.models import Submission, SubmissionStatus
from grading import api as grading
from grading import serving
from grading.models import GradingModel, Prediction, SubmissionEmbedding
from grading.tasks import score_submissions
from tests import factories as f


@pytest.fixture
def served(world, make_graded):
    """An assignment whose fast model serves, and a helper that adds new submissions."""
    assignment = f.AssignmentFactory(course=world.course, min_score=0, max_score=6)
    make_graded(assignment, 24, author=world.other_student)
    result = grading.model_train(assignment_id=assignment.pk, method="fast", schedule_scoring=False)
    record = GradingModel.objects.get(pk=result.model_id)
    attempt = iter(range(1000, 2000))

    def new(text="The library helps students. Moreover, books broaden minds.", **kw) -> Submission:
        return f.SubmissionFactory(assignment=assignment, author=world.student, attempt=next(attempt), text=text, **kw)

    return assignment, record, new


@pytest.mark.django_db
def test_a_claim_is_exclusive_but_a_redelivered_task_takes_its_own_back(served):
    _, record, new = served
    sub = new()
    assert serving.claim(submission_ids=[sub.pk], token="A", model_id=record.pk) == [sub.pk]
    assert serving.claim(submission_ids=[sub.pk], token="B", model_id=record.pk) == []
    # the same task id (a redelivery after its worker died) may take it again
    assert serving.claim(submission_ids=[sub.pk], token="A", model_id=record.pk) == [sub.pk]
    # an abandoned claim (older than the lease) is free for anyone
    Submission.objects.filter(pk=sub.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    assert serving.claim(submission_ids=[sub.pk], token="B", model_id=record.pk) == [sub.pk]


@pytest.mark.django_db
def test_worker_killed_mid_batch_the_batch_is_scored_again_once(served):
    _, record, new = served
    subs = [new() for _ in range(3)]
    ids = [s.pk for s in subs]
    # given a worker that claimed the batch and stored one prediction before it was killed
    serving.claim(submission_ids=ids, token="task-1", model_id=record.pk)
    raw = serving.predictions_for(record, ids[:1], [subs[0].text])
    serving._store(record, serving.rubric_of(record), ids[0], raw[0], 0.1, "task-1")
    # when the broker redelivers the same task (same id) to the next worker
    result = serving.submissions_score(submission_ids=ids, token="task-1")
    # then every submission has exactly one prediction from this model version
    assert sorted(result.scored) == ids[1:]
    assert {s: Prediction.objects.filter(submission_id=s, model=record).count() for s in ids} == dict.fromkeys(ids, 1)
    assert set(Submission.objects.filter(pk__in=ids).values_list("status", flat=True)) == {SubmissionStatus.SCORED}
    # and scoring again does nothing: never twice by the same model version
    again = serving.submissions_score(submission_ids=ids)
    assert again.scored == () and sorted(again.skipped) == ids


@pytest.mark.django_db
def test_a_batch_with_a_racing_workers_prediction_stores_the_others_once(served):
    _, record, new = served
    subs = [new() for _ in range(3)]
    ids = [s.pk for s in subs]
    assert serving.claim(submission_ids=ids, token="slow", model_id=record.pk) == ids
    # given a second worker that took over the middle essay (stale lease) and stored its prediction
    Submission.objects.filter(pk=ids[1]).update(updated_at=timezone.now() - timedelta(hours=1))
    assert serving.claim(submission_ids=ids[1:2], token="fast", model_id=record.pk) == ids[1:2]
    assert serving.submissions_score(submission_ids=ids[1:2], token="fast").scored == (ids[1],)
    # when the first worker stores its whole batch
    scored, failed, retry = serving._score_claimed(record, ids, "slow")
    # then the batch insert's conflict does not lose the others, and nothing is stored twice
    assert sorted(scored) == [ids[0], ids[2]] and not failed and not retry
    assert {s: Prediction.objects.filter(submission_id=s, model=record).count() for s in ids} == dict.fromkeys(ids, 1)
    assert set(Submission.objects.filter(pk__in=ids).values_list("status", flat=True)) == {SubmissionStatus.SCORED}


@pytest.mark.django_db
def test_the_database_refuses_a_second_prediction_by_the_same_version(served):
    _, record, new = served
    sub = new()
    serving.submissions_score(submission_ids=[sub.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        Prediction.objects.create(
            submission=sub, model=record, score=1, raw_score=1.0, interval_low=0, interval_high=2, interval_coverage=0.9
        )


@pytest.mark.django_db
def test_new_submissions_are_micro_batched(served):
    _, record, new = served
    subs = [new() for _ in range(4)]
    result = serving.submissions_score(submission_ids=[subs[0].pk])
    assert sorted(result.scored) == sorted(s.pk for s in subs)
    assert SubmissionEmbedding.objects.filter(submission__in=subs, encoder_key=record.embedding_key).count() == 4


@pytest.mark.django_db
def test_model_failure_marks_failed_with_reason_and_a_retry_scores_them(served, monkeypatch):
    _, _record, new = served
    subs = [new(), new()]
    ids = [s.pk for s in subs]

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(serving, "predictions_for", broken)
    result = serving.submissions_score(submission_ids=ids)
    assert result.retryable and sorted(sid for sid, _ in result.failed) == ids
    for s in Submission.objects.filter(pk__in=ids):
        assert s.status == SubmissionStatus.FAILED and "CUDA out of memory" in s.status_reason
    monkeypatch.undo()
    retry = serving.submissions_score(submission_ids=ids)
    assert sorted(retry.scored) == ids


@pytest.mark.django_db
def test_task_retries_with_backoff_then_leaves_failed_submissions_with_reason(served, monkeypatch, settings):
    _, _record, new = served
    sub = new()
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("model file unreadable")

    monkeypatch.setattr(serving, "predictions_for", broken)
    settings.EDUAI_SCORING_MAX_RETRIES = 2
    out = score_submissions.apply(args=[[sub.pk]]).get()  # eager: retries run at once
    sub.refresh_from_db()
    assert len(calls) == 3  # the first try and two retries
    assert sub.status == SubmissionStatus.FAILED and "model file unreadable" in sub.status_reason
    assert out["failed"] and out["failed"][0][0] == sub.pk


@pytest.mark.django_db
def test_bad_input_fails_clearly_or_is_scored_never_crashes(served):
    _, _record, new = served
    empty = new(text="   \n ")
    script = new(text="<script>alert('x')</script> The library matters because books teach.")
    huge = new(text="The library helps. " * 6000)
    result = serving.submissions_score(submission_ids=[empty.pk, script.pk, huge.pk])
    empty.refresh_from_db()
    assert empty.status == SubmissionStatus.FAILED and "empty text" in empty.status_reason
    assert not result.retryable
    assert sorted(result.scored) == sorted([script.pk, huge.pk])
    assert Submission.objects.get(pk=script.pk).text.startswith("<script>")  # stored as text, escaped when shown


@pytest.mark.django_db
def test_junk_that_reached_the_database_fails_clearly_or_is_scored(served):
    # Texts the submission API would refuse or clean, as an import or an old row could hold them.
    _, record, new = served
    junk = {
        "no words": new(text="!!! ... ??? -- \u200b\u200b ***"),
        "binary": new(text="\x00\x01\x02\x7f\ufffd\ufffd PK\x03\x04 \x1b[31m library books \x00" * 50),
        "html": new(text="<html><body onload='x()'><p>Books <b>help</b> students.</p>" + "<div>" * 3000),
        "one huge word": new(text="a" * 200_000),
    }
    result = serving.submissions_score(submission_ids=[s.pk for s in junk.values()])
    assert not result.retryable
    failed = dict(result.failed)
    assert set(failed) == {junk["no words"].pk} and "no words" in failed[junk["no words"].pk]
    assert sorted(result.scored) == sorted(s.pk for k, s in junk.items() if k != "no words")
    for sub in junk.values():
        sub.refresh_from_db()
        assert (
            sub.status in {SubmissionStatus.SCORED, SubmissionStatus.FAILED} and sub.status != SubmissionStatus.SCORING
        )
    low, high = record.assignment.min_score, record.assignment.max_score
    for p in Prediction.objects.filter(submission__in=list(junk.values())):
        assert low <= p.score <= high and low <= p.interval_low <= p.interval_high <= high


@pytest.mark.django_db
def test_submission_without_a_model_waits_with_its_embedding_stored(world):
    assignment = f.AssignmentFactory(course=world.course)
    sub = f.SubmissionFactory(assignment=assignment, author=world.student, text="An essay before any model.")
    result = serving.submissions_score(submission_ids=[sub.pk])
    assert result.waiting == (sub.pk,)
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.RECEIVED
    assert SubmissionEmbedding.objects.filter(submission=sub).count() == 1


@pytest.mark.django_db
def test_proposal_ready_is_sent_once_after_commit(served, django_capture_on_commit_callbacks):
    _, _record, new = served
    sub = new()
    got = []

    def receiver(sender, **kw):
        got.append(kw)

    grading.proposal_ready.connect(receiver, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            serving.submissions_score(submission_ids=[sub.pk])
        assert got == []
        for cb in callbacks:
            cb()
    finally:
        grading.proposal_ready.disconnect(receiver)
    prediction = Prediction.objects.get(submission=sub)
    assert [(g["submission_id"], g["prediction_id"]) for g in got] == [(sub.pk, prediction.pk)]


@pytest.mark.django_db
def test_a_new_serving_model_rescores_waiting_proposals(served, make_graded, django_capture_on_commit_callbacks):
    assignment, _record, new = served
    sub = new()
    serving.submissions_score(submission_ids=[sub.pk])
    with django_capture_on_commit_callbacks(execute=True):
        second = grading.model_train(assignment_id=assignment.pk, method="fast")
        grading.model_activate(model_id=second.model_id, check_expected=False)
    assert Prediction.objects.filter(submission=sub).count() == 2
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.SCORED


@pytest.mark.django_db
def test_beat_sweep_rescores_what_a_lost_task_left_in_scoring(served, settings):
    from grading import conf
    from grading.tasks import sweep_stuck_submissions

    entry = settings.CELERY_BEAT_SCHEDULE["grading-sweep-stuck-submissions"]
    assert entry["task"] == sweep_stuck_submissions.name
    assert entry["schedule"] < conf.scoring_lease_seconds()
    _, record, new = served
    sub = new()
    # given a task that claimed the essay and was lost (no redelivery) an hour ago
    serving.claim(submission_ids=[sub.pk], token="lost", model_id=record.pk)
    Submission.objects.filter(pk=sub.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    # when beat runs the sweep
    out = sweep_stuck_submissions.apply().get()
    # then the essay is scored, once
    assert sub.pk in out["requeued"]
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.SCORED
    assert Prediction.objects.filter(submission=sub, model=record).count() == 1
