"""Evidence in, mastery out: online updates, duplicates, late and voided events, grades."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction

from assessment import services
from assessment.models import Evidence, Mastery, MasteryHistory, StudentKTState
from eduai.courses import api as courses
from eduai.courses.models import SubmissionStatus
from tests import factories as f

from .conftest import answer, at

pytestmark = pytest.mark.django_db


def _snapshot(student, course):
    """Everything a user could notice about a student's mastery in a course."""
    m = {
        x.skill_id: (round(x.p, 9), round(x.trend, 9), x.n_evidence, x.as_of)
        for x in Mastery.objects.filter(student=student, course=course)
    }
    h = list(
        MasteryHistory.objects.filter(student=student, course=course)
        .order_by("at", "skill_id")
        .values_list("skill_id", "at")
    )
    hp = [
        round(p, 9)
        for p in MasteryHistory.objects.filter(student=student, course=course)
        .order_by("at", "skill_id")
        .values_list("p", flat=True)
    ]
    return m, h, hp


def test_right_answers_raise_mastery_and_keep_history(world, maths):
    # given a student answering fractions items right three times
    events = [answer(maths.course, world.student, maths.item_f, True, at(i)) for i in range(3)]
    # when the evidence is applied
    services.evidence_from_events(event_ids=[e.pk for e in events])
    # then mastery of Fractions exists, rose with each answer, and every step is in the history
    m = Mastery.objects.get(student=world.student, skill=maths.fractions)
    assert m.n_evidence == 3 and m.method == "bkt"
    points = list(
        MasteryHistory.objects.filter(student=world.student, skill=maths.fractions)
        .order_by("at")
        .values_list("p", flat=True)
    )
    assert len(points) == 3
    assert points[0] < points[1] < points[2] == pytest.approx(m.p)
    assert m.trend > 0
    assert m.as_of == at(2)
    # and Decimals was not touched
    assert not Mastery.objects.filter(student=world.student, skill=maths.decimals).exists()


def test_wrong_answers_lower_mastery(world, maths):
    right = answer(maths.course, world.student, maths.item_f, True, at(0))
    services.evidence_from_events(event_ids=[right.pk])
    before = Mastery.objects.get(student=world.student, skill=maths.fractions).p
    wrong = [answer(maths.course, world.student, maths.item_f, False, at(i + 1)) for i in range(3)]
    services.evidence_from_events(event_ids=[e.pk for e in wrong])
    after = Mastery.objects.get(student=world.student, skill=maths.fractions)
    assert after.p < before
    assert after.trend < 0


def test_a_response_with_two_skills_updates_both(world, maths):
    e = answer(maths.course, world.student, maths.item_fd, True, at(0))
    services.evidence_from_events(event_ids=[e.pk])
    assert set(Mastery.objects.filter(student=world.student).values_list("skill_id", flat=True)) == {
        maths.fractions.pk,
        maths.decimals.pk,
    }
    assert Evidence.objects.count() == 1  # one response, not one per skill


def test_duplicate_event_and_duplicate_delivery_change_nothing(world, maths):
    sid = uuid.uuid4()
    e = answer(maths.course, world.student, maths.item_f, True, at(0), statement_id=sid)
    services.evidence_from_events(event_ids=[e.pk])
    before = _snapshot(world.student, maths.course)
    # the same statement re-sent is stored once by the LMS core ...
    again = answer(maths.course, world.student, maths.item_f, True, at(0), statement_id=sid)
    assert again.pk == e.pk
    # ... and the task delivered twice (or with the same id twice) folds it in once
    services.evidence_from_events(event_ids=[e.pk, e.pk])
    services.evidence_from_events(event_ids=[e.pk])
    assert _snapshot(world.student, maths.course) == before
    assert StudentKTState.objects.get(student=world.student).n_evidence == 1


def test_late_event_is_placed_in_time_order(world, maths, django_assert_max_num_queries):
    # given answers at t=0, 2, 3 processed, and an answer at t=1 arriving late
    e0 = answer(maths.course, world.student, maths.item_f, True, at(0))
    e2 = answer(maths.course, world.student, maths.item_f, False, at(2))
    e3 = answer(maths.course, world.student, maths.item_f, False, at(3))
    for e in (e0, e2, e3):
        services.evidence_from_events(event_ids=[e.pk])
    late = answer(maths.course, world.student, maths.item_f, True, at(1))
    services.evidence_from_events(event_ids=[late.pk])
    got = _snapshot(world.student, maths.course)
    # when another student answers the same in time order
    other = f.UserFactory(username="in-order")
    f.EnrollmentFactory(course=maths.course, user=other)
    ids = [answer(maths.course, other, maths.item_f, c, at(i)).pk for i, c in enumerate([True, True, False, False])]
    services.evidence_from_events(event_ids=ids)
    # then both have the same mastery and the same history
    assert got == _snapshot(other, maths.course)


def test_voided_event_is_removed_from_evidence(world, maths):
    keep = [answer(maths.course, world.student, maths.item_f, True, at(i)) for i in range(2)]
    bad = answer(maths.course, world.student, maths.item_f, False, at(5))
    services.evidence_from_events(event_ids=[e.pk for e in [*keep, bad]])
    # when the wrong answer is voided (the LMS core sends its id again)
    assert courses.activity_event_void(statement_id=bad.statement_id)
    services.evidence_from_events(event_ids=[bad.pk])
    # then mastery is as if it never happened
    other = f.UserFactory(username="never-wrong")
    f.EnrollmentFactory(course=maths.course, user=other)
    services.evidence_from_events(
        event_ids=[answer(maths.course, other, maths.item_f, True, at(i)).pk for i in range(2)]
    )
    assert _snapshot(world.student, maths.course) == _snapshot(other, maths.course)
    assert not Evidence.objects.filter(event=bad).exists()


def test_voiding_the_only_evidence_of_a_skill_removes_its_mastery(world, maths):
    e = answer(maths.course, world.student, maths.item_d, True, at(0))
    services.evidence_from_events(event_ids=[e.pk])
    courses.activity_event_void(statement_id=e.statement_id)
    services.evidence_from_events(event_ids=[e.pk])
    assert not Mastery.objects.filter(student=world.student).exists()
    assert not MasteryHistory.objects.filter(student=world.student).exists()
    assert StudentKTState.objects.get(student=world.student).n_evidence == 0


def test_events_that_are_not_evidence_are_ignored(world, maths):
    no_result = answer(maths.course, world.student, maths.item_f, None, at(0))
    viewed = f.ActivityEventFactory(course=maths.course, actor=world.student, object_type="resource")
    untagged = answer(maths.course, world.student, maths.item_none, True, at(1))
    services.evidence_from_events(event_ids=[no_result.pk, viewed.pk, untagged.pk, 999_999])
    # the untagged item is evidence (it counts for the deep model) but for no skill
    assert list(Evidence.objects.values_list("event_id", flat=True)) == [untagged.pk]
    assert not Mastery.objects.exists()


def test_online_update_does_not_replay_history(world, maths, monkeypatch):
    first = [answer(maths.course, world.student, maths.item_f, True, at(i)) for i in range(5)]
    services.evidence_from_events(event_ids=[e.pk for e in first])
    replays = []
    monkeypatch.setattr(services, "_replay", lambda *a, **k: replays.append(a))
    e = answer(maths.course, world.student, maths.item_f, False, at(10))
    services.evidence_from_events(event_ids=[e.pk])
    assert replays == []
    assert StudentKTState.objects.get(student=world.student).n_evidence == 6


def test_failure_mid_update_leaves_mastery_unchanged(world, maths, monkeypatch):
    e = answer(maths.course, world.student, maths.item_f, True, at(0))
    services.evidence_from_events(event_ids=[e.pk])
    before = _snapshot(world.student, maths.course)
    state_before = StudentKTState.objects.get(student=world.student).state

    def half(row, method, tails, history):
        # the mastery rows are written, then the rest of the update fails
        services._save_masteries(row, method, tails)
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_write_online", half)
    e2 = answer(maths.course, world.student, maths.item_f, False, at(1))
    with pytest.raises(RuntimeError), transaction.atomic():
        services.evidence_from_events(event_ids=[e2.pk])
    monkeypatch.undo()
    assert _snapshot(world.student, maths.course) == before
    assert StudentKTState.objects.get(student=world.student).state == state_before
    # and the cached live state was not left half-updated: the retry gives the right answer
    services.evidence_from_events(event_ids=[e2.pk])
    other = f.UserFactory(username="clean")
    f.EnrollmentFactory(course=maths.course, user=other)
    services.evidence_from_events(
        event_ids=[answer(maths.course, other, maths.item_f, c, at(i)).pk for i, c in enumerate([True, False])]
    )
    assert _snapshot(world.student, maths.course)[0] == _snapshot(other, maths.course)[0]


def _graded(world, maths, score, attempt=1, traits=()):
    assignment = f.AssignmentFactory(course=maths.course, min_score=0, max_score=6)
    assignment.skills.add(maths.fractions)
    sub = f.SubmissionFactory(
        assignment=assignment,
        author=world.student,
        attempt=attempt,
        status=SubmissionStatus.RELEASED,
        final_score=score,
    )
    return assignment, sub


def test_released_grade_is_partial_credit_evidence(world, maths):
    assignment, sub = _graded(world, maths, 3)
    changed = services.evidence_from_grade(
        submission_id=sub.pk, assignment_id=assignment.pk, course_id=maths.course.pk, score=3
    )
    assert changed
    ev = Evidence.objects.get(submission=sub)
    assert ev.credit == pytest.approx(0.5)
    assert ev.kind == "grade"
    assert Mastery.objects.get(student=world.student, skill=maths.fractions).n_evidence == 1
    # the same release again changes nothing; a changed grade replaces the old evidence
    assert not services.evidence_from_grade(
        submission_id=sub.pk, assignment_id=assignment.pk, course_id=maths.course.pk, score=3
    )
    p_half = Mastery.objects.get(student=world.student, skill=maths.fractions).p
    assert services.evidence_from_grade(
        submission_id=sub.pk, assignment_id=assignment.pk, course_id=maths.course.pk, score=6
    )
    assert Evidence.objects.get(submission=sub).credit == 1.0
    assert Mastery.objects.get(student=world.student, skill=maths.fractions).p > p_half
    assert Evidence.objects.count() == 1


def test_trait_scores_count_half_of_the_credit(world, maths):
    assignment, sub = _graded(world, maths, 6)
    trait = f.RubricTraitFactory(assignment=assignment, name="organisation", min_score=0, max_score=4)
    services.evidence_from_grade(
        submission_id=sub.pk,
        assignment_id=assignment.pk,
        course_id=maths.course.pk,
        score=6,
        trait_scores={str(trait.pk): 0},
    )
    assert Evidence.objects.get(submission=sub).credit == pytest.approx(0.5)


def test_trait_scores_by_name_in_the_grading_engines_shape_and_stray_ones_ignored(world, maths):
    assignment, sub = _graded(world, maths, 6)
    f.RubricTraitFactory(assignment=assignment, name="ideas", min_score=0, max_score=4)
    f.RubricTraitFactory(assignment=assignment, name="style", min_score=0, max_score=4)
    f.RubricTraitFactory(assignment=assignment, name="voice", min_score=0, max_score=4)
    services.evidence_from_grade(
        submission_id=sub.pk,
        assignment_id=assignment.pk,
        course_id=maths.course.pk,
        score=6,
        trait_scores={"ideas": {"score": 2, "raw": 2.2}, "style": 9, "voice": "loud"},
    )
    # only "ideas" (2 of 4) counts: 0.5 * 1.0 + 0.5 * 0.5
    assert Evidence.objects.get(submission=sub).credit == pytest.approx(0.75)


@pytest.mark.parametrize("score", [7, -1, "six", None, float("nan"), True])
def test_a_grade_outside_the_rubric_is_refused_without_touching_mastery(world, maths, score):
    assignment, sub = _graded(world, maths, 3)
    with pytest.raises(ValueError):
        services.evidence_from_grade(
            submission_id=sub.pk, assignment_id=assignment.pk, course_id=maths.course.pk, score=score
        )
    assert not Evidence.objects.exists()
    assert not Mastery.objects.exists()


def test_a_grade_for_the_wrong_course_or_assignment_is_refused(world, maths):
    assignment, sub = _graded(world, maths, 3)
    other = f.AssignmentFactory(course=maths.course)
    with pytest.raises(ValueError):
        services.evidence_from_grade(
            submission_id=sub.pk, assignment_id=assignment.pk, course_id=world.other_course.pk, score=3
        )
    with pytest.raises(ValueError):
        services.evidence_from_grade(submission_id=sub.pk, assignment_id=other.pk, course_id=maths.course.pk, score=3)
    assert not Evidence.objects.exists()
