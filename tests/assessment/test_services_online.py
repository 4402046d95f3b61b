"""The online update's cost and its guarantees on the fast path: a fixed number of statements
per answer whatever its skills, a warm worker writing mastery without reading it, a concurrent
second delivery (sequenced everywhere; real threads on PostgreSQL in the integration run), a
failure with the state cached, and a cached state another worker outdated."""

from __future__ import annotations

import json
import logging
import random
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assessment import services
from assessment.kt import loader
from assessment.models import Evidence, Mastery, MasteryHistory, StudentKTState
from assessment.signals import on_activity_recorded
from eduai.courses.models import ActivityEvent, SubmissionStatus
from eduai.courses.signals import activity_recorded
from tests import factories as f

from .conftest import answer, at
from .test_services import _snapshot

pytestmark = pytest.mark.django_db


def _statements(ctx: CaptureQueriesContext) -> list[str]:
    """The statements of the update itself: inside the test's transaction every atomic block
    is also a SAVEPOINT / RELEASE pair, which outside a test are the BEGIN and COMMIT."""
    return [q["sql"].split()[0].upper() for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"].upper()]


def _writes() -> list[str]:
    """The online update's writes after the evidence insert: the mastery upsert, the history
    insert and the state update; on PostgreSQL one statement (``services._write_online``)."""
    return ["WITH"] if connection.vendor == "postgresql" else ["INSERT", "INSERT", "UPDATE"]


def _fold(student, item, correct, minutes, capture):
    """One answer through the service, the after-commit hooks run (the state is cached)."""
    e = answer(item.course, student, item, correct, at(minutes))
    with capture(execute=True):
        services.evidence_from_events(event_ids=[e.pk])
    return e


def _twin(maths, name, plan):
    """Another student answering ``plan`` [(item, correct)] on a cold worker: the reference."""
    other = f.UserFactory(username=name)
    f.EnrollmentFactory(course=maths.course, user=other)
    for k, (item, correct) in enumerate(plan):
        loader.STATES.clear()
        services.evidence_from_events(event_ids=[answer(maths.course, other, item, correct, at(k)).pk])
    return other


def _answer_statements(world, maths, capture) -> tuple[list[list[str]], list[tuple]]:
    """The statements of three new answers on a warm worker (a two-skill item writes two
    mastery and two history rows), and the plan of all four answers."""
    _fold(world.student, maths.item_f, True, 0, capture)
    plan, seen = [(maths.item_f, True)], []
    for k, (item, correct) in enumerate([(maths.item_fd, False), (maths.item_d, True), (maths.item_fd, True)], 1):
        e = answer(maths.course, world.student, item, correct, at(k))
        with CaptureQueriesContext(connection) as ctx, capture(execute=True):
            services.evidence_from_events(event_ids=[e.pk])
        seen.append(_statements(ctx))
        plan.append((item, correct))
    return seen, plan


def test_one_new_answer_is_six_statements_whatever_its_skills(world, maths, django_capture_on_commit_callbacks):
    # given a student whose state this worker has in memory, when new answers arrive
    seen, plan = _answer_statements(world, maths, django_capture_on_commit_callbacks)
    # then each is: read the event, lock the state, insert the evidence, upsert the mastery
    # rows, insert the history rows, update the state (the last three one statement on PostgreSQL)
    assert seen == [["SELECT", "SELECT", "INSERT", *_writes()]] * 3
    # and the numbers are those of a worker that read everything back from the database
    assert _snapshot(world.student, maths.course) == _snapshot(_twin(maths, "cold", plan), maths.course)


# In the integration run (tests/integration/run.py, PostgreSQL); the unit run deselects it.
@pytest.mark.integration
def test_on_postgresql_the_three_writes_of_an_answer_are_one_statement(
    world, maths, monkeypatch, django_capture_on_commit_callbacks
):
    if connection.vendor != "postgresql":
        pytest.skip("data-modifying WITH is PostgreSQL's")
    # given a student whose state this worker has in memory, when new answers arrive
    seen, plan = _answer_statements(world, maths, django_capture_on_commit_callbacks)
    # then each is: read the event, lock the state, insert the evidence, and one statement that
    # upserts the mastery rows, inserts the history rows and updates the state
    assert seen == [["SELECT", "SELECT", "INSERT", "WITH"]] * 3

    # and what it stored is what the three separate statements store
    def three(row, method, tails, history):
        services._save_masteries(row, method, tails)
        services._insert_history(history)
        services._update_state(row)

    monkeypatch.setattr(services, "_write_online", three)
    got = _snapshot(world.student, maths.course)
    assert len(got[1]) == 6  # history: one row per skill of each answer
    assert got == _snapshot(_twin(maths, "three-statements", plan), maths.course)
    row = StudentKTState.objects.get(student=world.student, course=maths.course)
    assert (row.n_evidence, row.last_evidence_id) == (4, Evidence.objects.filter(student=world.student).last().pk)


def test_a_worker_without_the_state_in_memory_reads_the_mastery_rows_once(
    world, maths, django_capture_on_commit_callbacks
):
    _fold(world.student, maths.item_fd, True, 0, django_capture_on_commit_callbacks)
    loader.STATES.clear()
    e = answer(maths.course, world.student, maths.item_f, False, at(1))
    with CaptureQueriesContext(connection) as ctx:
        services.evidence_from_events(event_ids=[e.pk])
    assert _statements(ctx) == ["SELECT", "SELECT", "INSERT", "SELECT", *_writes()]
    m = Mastery.objects.get(student=world.student, skill=maths.fractions)
    assert m.n_evidence == 2 and len(m.recent) == 2 and m.trend == pytest.approx(m.p - m.recent[0])
    assert Mastery.objects.get(student=world.student, skill=maths.decimals).n_evidence == 1


def test_a_second_delivery_committed_between_the_read_and_the_lock_changes_nothing(world, maths, monkeypatch):
    first = answer(maths.course, world.student, maths.item_f, True, at(0))
    services.evidence_from_events(event_ids=[first.pk])
    e = answer(maths.course, world.student, maths.item_fd, False, at(1))
    real_lock = services._lock_state
    raced = []

    def lock_after_the_other_worker(**kwargs):
        # another worker, given the same event, folds it in after this one read the event
        # (no evidence yet) and before this one gets the lock
        if not raced:
            raced.append(True)
            services.evidence_from_events(event_ids=[e.pk])
        return real_lock(**kwargs)

    monkeypatch.setattr(services, "_lock_state", lock_after_the_other_worker)
    services.evidence_from_events(event_ids=[e.pk])
    monkeypatch.undo()
    assert raced
    assert Evidence.objects.filter(event=e).count() == 1
    assert StudentKTState.objects.get(student=world.student).n_evidence == 2
    assert MasteryHistory.objects.filter(student=world.student).count() == 3  # 1 + 2 skills, once
    plan = [(maths.item_f, True), (maths.item_fd, False)]
    assert _snapshot(world.student, maths.course) == _snapshot(_twin(maths, "once", plan), maths.course)


def test_a_failure_with_the_state_in_memory_leaves_state_and_cache_consistent(
    world, maths, monkeypatch, django_capture_on_commit_callbacks
):
    _fold(world.student, maths.item_fd, True, 0, django_capture_on_commit_callbacks)
    before = _snapshot(world.student, maths.course)
    state_before = StudentKTState.objects.get(student=world.student).state

    def half(row, method, tails, history):
        services._save_masteries(row, method, tails)
        raise RuntimeError("database went away")

    # the mastery rows are written, then the rest of the update fails
    monkeypatch.setattr(services, "_write_online", half)
    e = answer(maths.course, world.student, maths.item_f, False, at(1))
    with pytest.raises(RuntimeError), transaction.atomic():
        services.evidence_from_events(event_ids=[e.pk])
    monkeypatch.undo()
    assert _snapshot(world.student, maths.course) == before
    assert StudentKTState.objects.get(student=world.student).state == state_before
    assert not Evidence.objects.filter(event=e).exists()
    # the retry does not start from a half-updated cached state or mastery tail
    with django_capture_on_commit_callbacks(execute=True):
        services.evidence_from_events(event_ids=[e.pk])
    plan = [(maths.item_fd, True), (maths.item_f, False)]
    assert _snapshot(world.student, maths.course) == _snapshot(_twin(maths, "clean", plan), maths.course)


def test_a_state_cached_before_another_worker_replayed_it_is_not_used(world, maths, django_capture_on_commit_callbacks):
    # given a graded essay and an answer after it, this worker (A) keeping the state
    assignment = f.AssignmentFactory(course=maths.course, min_score=0, max_score=6)
    assignment.skills.add(maths.fractions)
    sub = f.SubmissionFactory(
        assignment=assignment, author=world.student, status=SubmissionStatus.RELEASED, submitted_at=at(1)
    )

    def grade(score):
        services.evidence_from_grade(
            submission_id=sub.pk, assignment_id=assignment.pk, course_id=maths.course.pk, score=score
        )

    _fold(world.student, maths.item_f, True, 0, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        grade(6)
    _fold(world.student, maths.item_f, True, 2, django_capture_on_commit_callbacks)
    # when worker B (its own memory) re-grades the essay: a replay that leaves the evidence
    # count and the last evidence as they were
    mine = loader.STATES
    loader.STATES = loader.StateCache()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            grade(0)
    finally:
        loader.STATES = mine
    # and A gets the next answer
    _fold(world.student, maths.item_f, False, 3, django_capture_on_commit_callbacks)
    # then A rebuilt from the database: the same as replaying everything now
    got = _snapshot(world.student, maths.course)
    services.mastery_rebuild(student_id=world.student.pk, course_id=maths.course.pk)
    assert got == _snapshot(world.student, maths.course)


def test_a_delivery_of_many_answers_is_read_and_written_in_batches(world, maths, monkeypatch):
    # given statements of at most two rows (500 in production) and five answers in one delivery
    monkeypatch.setattr(services, "_BATCH", 2)
    plan = [
        (maths.item_fd, True),
        (maths.item_f, False),
        (maths.item_d, True),
        (maths.item_fd, True),
        (maths.item_f, True),
    ]
    events = [answer(maths.course, world.student, i, c, at(k)) for k, (i, c) in enumerate(plan)]
    services.evidence_from_events(event_ids=[e.pk for e in reversed(events)])
    # then every answer is evidence once, folded in time order, as when they come one by one
    assert Evidence.objects.filter(student=world.student).count() == 5
    assert MasteryHistory.objects.filter(student=world.student).count() == 7
    assert _snapshot(world.student, maths.course) == _snapshot(_twin(maths, "one-by-one", plan), maths.course)


# In the integration run (tests/integration/run.py, PostgreSQL); the unit run deselects it.
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_threads_delivering_the_same_answers_at_once_fold_each_in_once_on_postgresql(
    world, maths, monkeypatch, caplog, request, worker_drained
):
    if connection.vendor != "postgresql":
        pytest.skip("real-thread race needs PostgreSQL row locks (SQLite serialises writers)")
    caplog.set_level(logging.INFO, logger="assessment.services")
    rng = random.Random(3)
    real_lock = services._lock_state
    this_round: dict[str, object] = {}

    def lock_once_both_have_read(**kwargs):
        # each thread's first lock of the round waits until both threads have read the event
        # (no evidence yet: both take the fast path), then a random few ms: who inserts first
        # varies, and the race happens whatever the box's load (a loaded box could delay one
        # thread's read past the other's commit). The loser's careful path locks again at once.
        waited = this_round["waited"]
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            this_round["both_read"].wait(timeout=30)
            threading.Event().wait(rng.random() * 0.01)
        return real_lock(**kwargs)

    monkeypatch.setattr(services, "_lock_state", lock_once_both_have_read)
    # the two threads below are the only deliveries: recording an answer outside a test
    # transaction would fold it at once (eagerly, or on the integration run's real worker)
    activity_recorded.disconnect(dispatch_uid="assessment.activity_recorded")
    request.addfinalizer(
        lambda: activity_recorded.connect(on_activity_recorded, dispatch_uid="assessment.activity_recorded")
    )
    rounds, plan = 10, []
    for k in range(rounds):
        this_round.update(waited=set(), both_read=threading.Barrier(2))
        item, correct = [maths.item_f, maths.item_fd, maths.item_d][k % 3], k % 4 != 1
        e = answer(maths.course, world.student, item, correct, at(k))
        plan.append((item, correct))
        errors: list[Exception] = []
        barrier = threading.Barrier(2)

        def deliver(pk=e.pk):
            try:
                barrier.wait(timeout=30)
                services.evidence_from_events(event_ids=[pk])
            except Exception as exc:  # reported by the test, not swallowed
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert Evidence.objects.filter(event=e).count() == 1, f"round {k}"
    monkeypatch.undo()
    assert StudentKTState.objects.get(student=world.student).n_evidence == rounds
    # the race happened in every round (else this test did not test it): the loser's insert
    # failed on the unique event key and it went the careful way
    assert sum("written concurrently" in r.getMessage() for r in caplog.records) == rounds
    got = _snapshot(world.student, maths.course)
    loader.STATES.clear()
    assert got == _snapshot(_twin(maths, "alone", plan), maths.course)


def test_a_worker_with_the_state_in_memory_does_not_decode_the_stored_one(
    world, maths, monkeypatch, django_capture_on_commit_callbacks
):
    # given a student whose live state this worker keeps
    _fold(world.student, maths.item_fd, True, 0, django_capture_on_commit_callbacks)

    def no_decoding(*args, **kwargs):
        raise AssertionError("JSON was decoded on the warm path")

    # when the next answer arrives, no JSON is decoded: the stored state is only written
    e = answer(maths.course, world.student, maths.item_f, False, at(1))
    monkeypatch.setattr(json, "loads", no_decoding)
    with django_capture_on_commit_callbacks(execute=True):
        services.evidence_from_events(event_ids=[e.pk])
    monkeypatch.undo()
    plan = [(maths.item_fd, True), (maths.item_f, False)]
    assert _snapshot(world.student, maths.course) == _snapshot(_twin(maths, "warm", plan), maths.course)


def test_a_cold_worker_replays_a_state_another_method_wrote(world, maths, django_capture_on_commit_callbacks):
    # given a stored state that the serving model (the default BKT) did not write
    _fold(world.student, maths.item_fd, True, 0, django_capture_on_commit_callbacks)
    StudentKTState.objects.filter(student=world.student).update(state={"method": "deep", "t": 1, "n": {}})
    loader.STATES.clear()
    # when a worker without it in memory gets the next answer
    _fold(world.student, maths.item_f, False, 1, django_capture_on_commit_callbacks)
    # then it read the stored state's method and rebuilt from the evidence
    assert StudentKTState.objects.get(student=world.student).state["method"] == "bkt"
    plan = [(maths.item_fd, True), (maths.item_f, False)]
    assert _snapshot(world.student, maths.course) == _snapshot(_twin(maths, "replayed", plan), maths.course)


# In the integration run (tests/integration/run.py, PostgreSQL); the unit run deselects it.
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("async_commit", [True, False])
def test_on_postgresql_folding_answers_does_not_wait_for_the_disk_unless_told_to(
    world, maths, monkeypatch, settings, async_commit, request, worker_drained
):
    if connection.vendor != "postgresql" or settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("PostgreSQL with a broker (the integration run): else the commits always wait")
    settings.EDUAI_KT_ASYNC_COMMIT = async_commit
    real_serving, seen = services._serving_for_row, []

    def look_then_serve(row):  # with the state row locked, before any write
        with connection.cursor() as cur:
            cur.execute("SHOW synchronous_commit")
            seen.append(cur.fetchone()[0])
        return real_serving(row)

    monkeypatch.setattr(services, "_serving_for_row", look_then_serve)
    activity_recorded.disconnect(dispatch_uid="assessment.activity_recorded")  # the calls below fold
    request.addfinalizer(
        lambda: activity_recorded.connect(on_activity_recorded, dispatch_uid="assessment.activity_recorded")
    )
    # when answers are folded in (the first creates the state row, the second finds it) and
    # the state is rebuilt
    for k in range(2):
        services.evidence_from_events(event_ids=[answer(maths.course, world.student, maths.item_f, True, at(k)).pk])
    services.mastery_rebuild(student_id=world.student.pk, course_id=maths.course.pk)
    # then inside the folds synchronous_commit is off (on when the setting says so), and on in
    # the rebuild (not derived from events alone: the sweep would not redo it) ...
    assert seen == ["off" if async_commit else "on"] * 2 + ["on"]
    # ... and only inside them
    with connection.cursor() as cur:
        cur.execute("SHOW synchronous_commit")
        assert cur.fetchone()[0] == "on"
    assert Mastery.objects.get(student=world.student, skill=maths.fractions).n_evidence == 2
    # inside a caller's transaction it stays on: it would last to the caller's commit
    seen.clear()
    with transaction.atomic():
        services.evidence_from_events(event_ids=[answer(maths.course, world.student, maths.item_f, False, at(5)).pk])
    assert seen == ["on"]


# In the integration run (tests/integration/run.py, PostgreSQL); the unit run deselects it.
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_folds_the_sweep_could_not_redo_wait_for_the_disk(world, maths, monkeypatch, settings, request, worker_drained):
    if connection.vendor != "postgresql" or settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("PostgreSQL with a broker (the integration run): else the commits always wait")
    settings.EDUAI_KT_ASYNC_COMMIT = True
    real_serving, seen = services._serving_for_row, []

    def look_then_serve(row):
        with connection.cursor() as cur:
            cur.execute("SHOW synchronous_commit")
            seen.append(cur.fetchone()[0])
        return real_serving(row)

    monkeypatch.setattr(services, "_serving_for_row", look_then_serve)
    activity_recorded.disconnect(dispatch_uid="assessment.activity_recorded")
    request.addfinalizer(
        lambda: activity_recorded.connect(on_activity_recorded, dispatch_uid="assessment.activity_recorded")
    )
    fresh = answer(maths.course, world.student, maths.item_f, True, at(0))
    services.evidence_from_events(event_ids=[fresh.pk])
    # an answer stored before the sweep's look-back (a task delivered after a long outage)
    old = answer(maths.course, world.student, maths.item_f, False, at(1))
    ActivityEvent.objects.filter(pk=old.pk).update(
        stored_at=timezone.now() - timedelta(hours=settings.EDUAI_KT_SWEEP_LOOKBACK_HOURS)
    )
    services.evidence_from_events(event_ids=[old.pk])
    # a void (the sweep finds a lost one only while the voided event is inside its look-back)
    ActivityEvent.objects.filter(pk=fresh.pk).update(voided=True)
    services.evidence_from_events(event_ids=[fresh.pk])
    # no broker: tasks run in-process and no beat runs the sweep
    settings.CELERY_TASK_ALWAYS_EAGER = True
    services.evidence_from_events(event_ids=[answer(maths.course, world.student, maths.item_f, True, at(2)).pk])
    # then only the first, fresh answer was folded without waiting for the disk
    assert seen == ["off", "on", "on", "on"]
    assert Mastery.objects.get(student=world.student, skill=maths.fractions).n_evidence == 2
