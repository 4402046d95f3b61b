"""The public face: what the recommender and the dashboards get back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assessment import api, services
from assessment.data import AssessmentLookupError, MasteryData
from eduai.courses.models import SubmissionStatus
from tests import factories as f

from .conftest import BASE, answer, at

pytestmark = pytest.mark.django_db


def _practise(world, maths, pattern, item=None, student=None, start=0):
    student = student or world.student
    ids = [answer(maths.course, student, item or maths.item_f, c, at(start + i)).pk for i, c in enumerate(pattern)]
    services.evidence_from_events(event_ids=ids)


def test_mastery_for_student_covers_every_skill_of_the_course(world, maths):
    _practise(world, maths, [True, True])
    m = api.mastery_for_student(student_id=world.student.pk, course_id=maths.course.pk)
    assert set(m) == {maths.fractions.pk, maths.decimals.pk}
    seen, unseen = m[maths.fractions.pk], m[maths.decimals.pk]
    assert isinstance(seen, MasteryData)
    assert seen.n_evidence == 2 and seen.updated_at == at(1) and seen.p > unseen.p
    assert unseen.n_evidence == 0 and unseen.updated_at is None and unseen.trend == 0.0
    with pytest.raises(AttributeError):
        seen.p = 1.0  # type: ignore[misc]  # frozen


def test_a_new_student_gets_the_cold_start_prior(world, maths):
    m = api.mastery_for_student(student_id=world.other_student.pk, course_id=maths.course.pk)
    assert {k: v.n_evidence for k, v in m.items()} == {maths.fractions.pk: 0, maths.decimals.pk: 0}
    assert all(v.p == pytest.approx(0.3) for v in m.values())  # default BKT L0


def test_bulk_mastery_matches_one_by_one(world, maths, django_assert_max_num_queries):
    _practise(world, maths, [True, False, True])
    ids = [world.student.pk, world.other_student.pk, 10_000_000]
    with django_assert_max_num_queries(8):
        bulk = api.mastery_for_students(student_ids=ids, course_id=maths.course.pk)
    assert set(bulk) == {world.student.pk, world.other_student.pk}  # unknown id left out
    assert bulk[world.student.pk] == api.mastery_for_student(student_id=world.student.pk, course_id=maths.course.pk)


def test_unknown_student_or_course_is_a_lookup_error(world, maths):
    with pytest.raises(AssessmentLookupError):
        api.mastery_for_student(student_id=10_000_000, course_id=maths.course.pk)
    with pytest.raises(AssessmentLookupError):
        api.mastery_for_student(student_id=world.student.pk, course_id=10_000_000)
    with pytest.raises(AssessmentLookupError):
        api.mastery_history(student_id=world.student.pk, course_id=maths.course.pk, skill_id=10_000_000)
    with pytest.raises(AssessmentLookupError):
        api.predicted_success(student_id=10_000_000, item_ids=[maths.item_f.pk])


def test_predicted_success_follows_practice_and_skips_unknown_items(world, maths):
    before = api.predicted_success(student_id=world.student.pk, item_ids=[maths.item_f.pk, maths.item_d.pk])
    _practise(world, maths, [True, True, True])
    after = api.predicted_success(student_id=world.student.pk, item_ids=[maths.item_f.pk, maths.item_d.pk, 10_000_000])
    assert set(after) == {maths.item_f.pk, maths.item_d.pk}
    assert after[maths.item_f.pk] > before[maths.item_f.pk]
    assert after[maths.item_d.pk] == pytest.approx(before[maths.item_d.pk])


def test_history_gives_a_curve_per_skill_and_overall(world, maths):
    _practise(world, maths, [True, True])
    _practise(world, maths, [False], item=maths.item_d, start=5)
    t = api.mastery_history(student_id=world.student.pk, course_id=maths.course.pk)
    assert [len(v) for k, v in sorted(t.skills.items())] == [
        1 if k == maths.decimals.pk else 2 for k in sorted(t.skills)
    ]
    assert [p.at for p in t.overall] == [at(0), at(1), at(5)]
    f_last = t.skills[maths.fractions.pk][-1].p
    d_last = t.skills[maths.decimals.pk][-1].p
    assert t.overall[-1].p == pytest.approx((f_last + d_last) / 2)
    only = api.mastery_history(student_id=world.student.pk, course_id=maths.course.pk, skill_id=maths.decimals.pk)
    assert list(only.skills) == [maths.decimals.pk]


def test_course_distribution_per_skill_per_week(world, maths):
    _practise(world, maths, [True, True, True])
    other = f.UserFactory(username="weak")
    f.EnrollmentFactory(course=maths.course, user=other)
    _practise(world, maths, [False, False, False], student=other)
    dist = api.course_mastery_distribution(course_id=maths.course.pk, now=BASE + timedelta(days=14))
    weeks = dist[maths.fractions.pk]
    assert len(weeks) == 3  # the week of the answers and two after
    last = weeks[-1]
    assert last.n_students == 2 and sum(last.histogram) == 2
    assert last.quartiles[0] <= last.quartiles[1] <= last.quartiles[2]
    assert maths.decimals.pk not in dist


def test_learning_gain_between_attempts(world, maths):
    assignment = f.AssignmentFactory(course=maths.course, min_score=0, max_score=4)
    assignment.skills.add(maths.fractions)
    for attempt, score in [(1, 1), (2, 3)]:
        sub = f.SubmissionFactory(
            assignment=assignment,
            author=world.student,
            attempt=attempt,
            status=SubmissionStatus.RELEASED,
            final_score=score,
            submitted_at=at(attempt * 60),
        )
        services.evidence_from_grade(
            submission_id=sub.pk, assignment_id=assignment.pk, course_id=maths.course.pk, score=score
        )
    [gain] = api.assignment_learning_gain(assignment_id=assignment.pk)
    assert (gain.first_attempt, gain.last_attempt) == (1, 2)
    assert gain.gain == pytest.approx(0.5)
    assert gain.normalised_gain == pytest.approx(0.5 / 0.75)
    with pytest.raises(AssessmentLookupError):
        api.assignment_learning_gain(assignment_id=10_000_000)
