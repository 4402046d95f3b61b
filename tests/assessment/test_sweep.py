"""The sweep: answers, voids and released grades whose task was lost become evidence after all,
the same evidence and mastery the task would have written, once."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.management import CommandError, call_command
from django.db import DatabaseError
from django.utils import timezone

from assessment import services, sweep
from assessment.models import Evidence, Mastery
from assessment.tasks import sweep_unfolded
from eduai.courses import api as courses
from eduai.courses.models import ActivityEvent
from eduai.courses.signals import activity_recorded
from grading.review import api as review
from grading.review.models import GradeRelease
from grading.signals import grade_released
from tests import factories as f

from .conftest import answer, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def lost_tasks():
    """Assessment's receivers disconnected: the core and grading still send their signals after
    commit, but no assessment task is enqueued, as when the broker was down at publish time."""
    activity_recorded.disconnect(dispatch_uid="assessment.activity_recorded")
    grade_released.disconnect(dispatch_uid="assessment.grade_released")
    yield
    from assessment import signals

    activity_recorded.connect(signals.on_activity_recorded, dispatch_uid="assessment.activity_recorded")
    grade_released.connect(signals.on_grade_released, dispatch_uid="assessment.grade_released")


@pytest.fixture
def classmate(world):
    """A second student of the course: the same answers through the live path, to compare."""
    user = f.UserFactory(username="mate")
    f.EnrollmentFactory(course=world.course, user=user)
    return user


def _stored_ago(events, minutes: float) -> None:
    ActivityEvent.objects.filter(pk__in=[e.pk for e in events]).update(
        stored_at=timezone.now() - timedelta(minutes=minutes)
    )


def _answers(maths, student, capture, pattern=((True, "f"), (False, "d"), (True, "fd"), (True, "f"))):
    items = {"f": maths.item_f, "d": maths.item_d, "fd": maths.item_fd}
    with capture(execute=True):  # the core's signal is delivered; nothing of assessment hears it
        return [answer(maths.course, student, items[k], ok, at(i)) for i, (ok, k) in enumerate(pattern)]


def _mastery(student, course):
    return {
        m.skill_id: (round(m.p, 9), m.n_evidence, m.as_of)
        for m in Mastery.objects.filter(student=student, course=course)
    }


def test_an_answer_whose_task_was_lost_is_folded_by_the_sweep(
    world, maths, classmate, lost_tasks, django_capture_on_commit_callbacks
):
    # given answers recorded ten minutes ago whose assessment task never ran
    events = _answers(maths, world.student, django_capture_on_commit_callbacks)
    _stored_ago(events, 10)
    # ... and events that are not evidence (no result, a resource read, an item deleted since)
    with django_capture_on_commit_callbacks(execute=True):
        no_result = answer(maths.course, world.student, maths.item_f, None, at(10))
        read = f.ActivityEventFactory(
            course=maths.course, actor=world.student, object_type="resource", timestamp=at(11)
        )
        orphan = answer(maths.course, world.student, maths.item_f, True, at(12))
    ActivityEvent.objects.filter(pk=orphan.pk).update(practice_item=None)
    _stored_ago([no_result, read, orphan], 10)
    assert not Evidence.objects.exists() and not Mastery.objects.exists()
    # when the sweep runs
    result = sweep.sweep_unfolded()
    # then exactly the answers became evidence, and mastery is what the task would have written
    assert result.events == tuple(e.pk for e in events)
    assert (result.voided, result.grades, result.students, result.failed_events) == ((), (), 1, ())
    assert sorted(Evidence.objects.values_list("event_id", flat=True)) == [e.pk for e in events]
    live = _answers(maths, classmate, django_capture_on_commit_callbacks)
    services.evidence_from_events(event_ids=[e.pk for e in live])
    swept, expected = _mastery(world.student, maths.course), _mastery(classmate, maths.course)
    assert set(swept) == {maths.fractions.pk, maths.decimals.pk}
    assert swept == expected


def test_an_answer_inside_the_grace_period_is_left_to_its_task(
    world, maths, lost_tasks, settings, django_capture_on_commit_callbacks
):
    (event,) = _answers(maths, world.student, django_capture_on_commit_callbacks, pattern=((True, "f"),))
    _stored_ago([event], 1)  # its task may still be queued behind others
    assert sweep.sweep_unfolded().events == ()
    assert not Evidence.objects.exists()
    settings.EDUAI_KT_SWEEP_GRACE_SECONDS = 30
    assert sweep.sweep_unfolded().events == (event.pk,)
    assert Mastery.objects.get(student=world.student, skill=maths.fractions).n_evidence == 1


def test_a_second_sweep_changes_nothing(world, maths, lost_tasks, django_capture_on_commit_callbacks):
    events = _answers(maths, world.student, django_capture_on_commit_callbacks)
    _stored_ago(events, 10)
    first = sweep.sweep_unfolded()
    assert len(first.events) == 4
    evidence, mastery = (
        list(Evidence.objects.values_list("id", "event_id", "credit")),
        _mastery(world.student, maths.course),
    )
    again = sweep.sweep_unfolded()
    assert (again.events, again.voided, again.grades, again.students) == ((), (), (), 0)
    assert list(Evidence.objects.values_list("id", "event_id", "credit")) == evidence
    assert _mastery(world.student, maths.course) == mastery
    # and the lost task, delivered late after all, changes nothing either
    services.evidence_from_events(event_ids=[e.pk for e in events])
    assert Evidence.objects.count() == 4 and _mastery(world.student, maths.course) == mastery


def test_a_voided_event_with_leftover_evidence_is_cleaned(
    world, maths, classmate, lost_tasks, django_capture_on_commit_callbacks
):
    # given answers folded in by their task, then one of them voided with its task lost
    events = _answers(maths, world.student, django_capture_on_commit_callbacks)
    services.evidence_from_events(event_ids=[e.pk for e in events])
    wrong = events[1]  # the only answer on Decimals alone
    with django_capture_on_commit_callbacks(execute=True):
        assert courses.activity_event_void(statement_id=wrong.statement_id)
    _stored_ago(events, 10)
    assert Evidence.objects.filter(event=wrong).exists()
    # when the sweep runs
    result = sweep.sweep_unfolded()
    # then the void's evidence is gone and mastery is that of the history without it
    assert (result.events, result.voided) == ((), (wrong.pk,))
    assert not Evidence.objects.filter(event=wrong).exists() and Evidence.objects.count() == 3
    live = _answers(
        maths, classmate, django_capture_on_commit_callbacks, pattern=((True, "f"), (True, "fd"), (True, "f"))
    )
    services.evidence_from_events(event_ids=[e.pk for e in live])
    swept, expected = _mastery(world.student, maths.course), _mastery(classmate, maths.course)
    assert {k: v[:2] for k, v in swept.items()} == {k: v[:2] for k, v in expected.items()}
    assert sweep.sweep_unfolded().voided == ()


def test_a_released_grade_whose_task_was_lost_becomes_evidence(
    world, maths, lost_tasks, django_capture_on_commit_callbacks
):
    # given an essay with a rubric trait, graded and released by the teacher; assessment's task lost
    assignment = f.AssignmentFactory(course=maths.course, min_score=0, max_score=4)
    assignment.skills.add(maths.decimals)
    f.RubricTraitFactory(assignment=assignment, name="Ideas", min_score=0, max_score=4)
    sub = f.SubmissionFactory(assignment=assignment, author=world.student, attempt=1)
    # ... and an essay of an assignment without skills: never evidence, so never "lost"
    untagged = f.AssignmentFactory(course=maths.course, min_score=0, max_score=4)
    other = f.SubmissionFactory(assignment=untagged, author=world.student, attempt=1)
    with django_capture_on_commit_callbacks(execute=True):
        review.review_override(submission_id=sub.pk, user_id=world.teacher.pk, score=3, trait_scores={"Ideas": 2})
        review.review_override(submission_id=other.pk, user_id=world.teacher.pk, score=3)
    assert GradeRelease.objects.count() == 2
    GradeRelease.objects.update(released_at=timezone.now() - timedelta(minutes=10))
    assert not Evidence.objects.exists()
    # when the sweep runs
    result = sweep.sweep_unfolded()
    # then the grade is evidence with the credit of the signal's payload: ½ score + ½ trait
    assert (result.grades, result.grades_applied, result.refused_grades) == ((sub.pk,), 1, ())
    e = Evidence.objects.get(submission=sub)
    assert (e.kind, e.item_key, e.credit) == ("grade", f"assignment:{assignment.pk}", pytest.approx(0.5 * 0.75 + 0.25))
    assert Mastery.objects.get(student=world.student, skill=maths.decimals).n_evidence == 1
    assert sweep.sweep_unfolded().grades == ()


def _lost_grade(world, maths, capture, *, score):
    """An essay of an assignment on Decimals (0-4) graded ``score`` and released by the teacher
    ten minutes ago, with assessment's task lost: the submission."""
    assignment = f.AssignmentFactory(course=maths.course, min_score=0, max_score=4)
    assignment.skills.add(maths.decimals)
    sub = f.SubmissionFactory(assignment=assignment, author=world.student, attempt=1)
    with capture(execute=True):
        review.review_override(submission_id=sub.pk, user_id=world.teacher.pk, score=score)
    GradeRelease.objects.update(released_at=timezone.now() - timedelta(minutes=10))
    return sub


def test_the_sweep_does_not_overwrite_a_grade_written_since_it_looked(
    world, maths, lost_tasks, monkeypatch, django_capture_on_commit_callbacks
):
    # given a released grade of 3 whose task was lost
    sub = _lost_grade(world, maths, django_capture_on_commit_callbacks, score=3)
    real = sweep.released_without_evidence

    def then_the_teacher_rereleases(**kwargs):
        # the sweep has read the payload (score 3); before it applies it, a re-release's own
        # task writes the new grade, 4
        found = real(**kwargs)
        services.evidence_from_grade(
            submission_id=sub.pk, assignment_id=sub.assignment_id, course_id=maths.course.pk, score=4
        )
        return found

    monkeypatch.setattr(sweep, "released_without_evidence", then_the_teacher_rereleases)
    # when the sweep applies what it read
    result = sweep.sweep_unfolded()
    # then the newer grade's evidence stays
    assert (result.grades, result.grades_applied) == ((sub.pk,), 0)
    assert Evidence.objects.get(submission=sub).credit == pytest.approx(1.0)


def test_a_run_that_runs_out_of_time_in_the_answers_has_applied_the_grades(
    world, maths, lost_tasks, monkeypatch, django_capture_on_commit_callbacks
):
    # given a lost grade and a lost answer, and answers that take the run past its time limit
    sub = _lost_grade(world, maths, django_capture_on_commit_callbacks, score=3)
    _stored_ago(_answers(maths, world.student, django_capture_on_commit_callbacks, pattern=((True, "f"),)), 10)

    def out_of_time(*, event_ids):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(services, "evidence_from_events", out_of_time)
    # when the run is stopped in the answers, the stop goes through (the task ends) ...
    with pytest.raises(SoftTimeLimitExceeded):
        sweep.sweep_unfolded()
    # ... and the grade was applied first: a backlog of answers does not starve the grades
    assert Evidence.objects.filter(submission=sub).exists()


def test_look_back_and_limit_bound_a_run(world, maths, lost_tasks, django_capture_on_commit_callbacks):
    # given lost answers stored 100, 50, 20 and 10 hours ago (in id order, as inserts are)
    events = _answers(maths, world.student, django_capture_on_commit_callbacks)
    for e, hours in zip(events, (100, 50, 20, 10), strict=True):
        _stored_ago([e], hours * 60)
    ids = [e.pk for e in events]
    # the default look-back (72 h) leaves the oldest; a shorter one more; a dry run writes nothing
    assert sweep.sweep_unfolded(apply=False).events == tuple(ids[1:])
    assert sweep.sweep_unfolded(lookback=24, apply=False).events == tuple(ids[2:])
    assert sweep.sweep_unfolded(lookback=1, apply=False).events == ()
    assert not Evidence.objects.exists()
    # a run takes at most `limit` of them, oldest first; the next run goes on
    assert sweep.sweep_unfolded(full=True, limit=3).events == tuple(ids[:3])
    assert sweep.sweep_unfolded(full=True, limit=3).events == tuple(ids[3:])
    assert Evidence.objects.count() == 4


# any error, not only the database's: one bad event must not stop every run at the same batch
@pytest.mark.parametrize("error", [DatabaseError("deadlock detected"), RuntimeError("a bug on an old event")])
def test_a_batch_that_fails_is_reported_and_the_rest_is_folded(
    world, maths, classmate, lost_tasks, monkeypatch, django_capture_on_commit_callbacks, error
):
    mine = _answers(maths, world.student, django_capture_on_commit_callbacks, pattern=((True, "f"),))
    theirs = _answers(maths, classmate, django_capture_on_commit_callbacks, pattern=((True, "f"),))
    _stored_ago(mine + theirs, 10)
    real, calls = services.evidence_from_events, []

    def flaky(*, event_ids):
        calls.append(list(event_ids))
        if len(calls) == 1:
            raise error
        return real(event_ids=event_ids)

    monkeypatch.setattr(sweep, "EVENT_BATCH", 1)
    monkeypatch.setattr(services, "evidence_from_events", flaky)
    result = sweep.sweep_unfolded()
    assert result.failed_events == (mine[0].pk,) and result.students == 1
    assert list(Evidence.objects.values_list("event_id", flat=True)) == [theirs[0].pk]
    monkeypatch.setattr(services, "evidence_from_events", real)
    assert sweep.sweep_unfolded().events == (mine[0].pk,)
    assert Evidence.objects.count() == 2


def test_the_command_prints_what_it_reapplied(world, maths, lost_tasks, django_capture_on_commit_callbacks):
    events = _answers(maths, world.student, django_capture_on_commit_callbacks, pattern=((True, "f"), (False, "d")))
    ids = ", ".join(str(e.pk) for e in events)
    out = StringIO()
    call_command("assessment_sweep", "--dry-run", "--grace", "0", stdout=out)
    assert out.getvalue().splitlines() == [
        "would re-apply 2 practice answer(s), remove the evidence of 0 voided event(s), "
        "apply 0 released grade(s) (dry run)",
        f"  answers (event ids): {ids}",
    ]
    assert not Evidence.objects.exists()
    out = StringIO()
    call_command("assessment_sweep", "--grace", "0", stdout=out)
    assert out.getvalue().splitlines() == [
        "re-applied 2 practice answer(s) (1 student-course state(s)); removed the evidence of 0 voided "
        "event(s); applied 0 of 0 released grade(s)",
        f"  answers (event ids): {ids}",
    ]
    assert Evidence.objects.count() == 2
    out = StringIO()
    call_command("assessment_sweep", "--grace", "0", stdout=out)
    assert out.getvalue().startswith("re-applied 0 practice answer(s) (0 student-course state(s))")
    with pytest.raises(CommandError):
        call_command("assessment_sweep", "--all", "--hours", "5")
    with pytest.raises(CommandError):
        call_command("assessment_sweep", "--grace", "-1")


def test_beat_runs_the_sweep_task(world, maths, lost_tasks, settings, django_capture_on_commit_callbacks):
    entry = settings.CELERY_BEAT_SCHEDULE["assessment-sweep-unfolded"]
    assert entry["task"] == sweep_unfolded.name
    assert entry["options"]["expires"] < entry["schedule"]
    events = _answers(maths, world.student, django_capture_on_commit_callbacks, pattern=((True, "f"),))
    _stored_ago(events, 10)
    out = sweep_unfolded.apply().get()
    assert out["events"] == [events[0].pk] and out["applied"] is True
    assert Mastery.objects.get(student=world.student, skill=maths.fractions).n_evidence == 1


def test_the_window_starts_at_the_first_event_stored_in_it(world, maths):
    # ids and stored_at grow together (both set at insert); some ids are gone (deleted events)
    now = timezone.now()
    events = [f.ActivityEventFactory(course=maths.course, actor=world.student, timestamp=at(i)) for i in range(40)]
    for i, e in enumerate(events):
        ActivityEvent.objects.filter(pk=e.pk).update(stored_at=now - timedelta(hours=40 - i))
    ActivityEvent.objects.filter(pk__in=[e.pk for e in events[10:15]]).delete()
    kept = list(ActivityEvent.objects.order_by("pk").values_list("pk", "stored_at"))
    for hours in (0.5, 1, 7.5, 26, 28, 29.5, 33, 39.5, 40, 41):
        since = now - timedelta(hours=hours)
        first = sweep._first_event_id_since(since)
        in_window = [pk for pk, stored in kept if stored >= since]
        if not in_window:
            assert first is None
        else:
            # no event of the window is below the bound, none outside it between bound and window
            assert first <= in_window[0]
            assert all(stored >= since for pk, stored in kept if pk >= first)
