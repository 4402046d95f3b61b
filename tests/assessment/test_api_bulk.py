"""Bulk reads for class pages and the recommender's batch refresh: a constant number of queries,
the same numbers as the one-student reads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assessment import api, services
from assessment.data import AssessmentLookupError, MasteryRow, WeeklyMastery
from assessment.models import MasteryHistory
from eduai.courses.models import Enrollment, Role
from tests import factories as f

from .conftest import BASE, answer, at

pytestmark = pytest.mark.django_db


def _practise(course, student, item, pattern, start=0.0):
    ids = [answer(course, student, item, c, at(start + i)).pk for i, c in enumerate(pattern)]
    services.evidence_from_events(event_ids=ids)


def _classmate(course, name):
    user = f.UserFactory(username=name)
    f.EnrollmentFactory(course=course, user=user, role=Role.STUDENT)
    return user


# --- latest_mastery --------------------------------------------------------------------------


def test_latest_mastery_is_the_stored_estimate_of_active_students_only(world, maths, django_assert_num_queries):
    # given: two active students with evidence, one who left the course, a skill nobody answered
    _practise(maths.course, world.student, maths.item_f, [True, False, True])
    mate = _classmate(maths.course, "mate")
    _practise(maths.course, mate, maths.item_fd, [False])
    gone = _classmate(maths.course, "gone")
    _practise(maths.course, gone, maths.item_f, [True])
    Enrollment.objects.filter(course=maths.course, user=gone).update(is_active=False)
    # when
    with django_assert_num_queries(1):
        rows = api.latest_mastery(course_id=maths.course.pk)
    # then: one row per (student, skill) with evidence, ordered, equal to the one-student read
    assert all(isinstance(r, MasteryRow) for r in rows)
    assert [(r.student_id, r.skill_id) for r in rows] == sorted(
        [(world.student.pk, maths.fractions.pk), (mate.pk, maths.fractions.pk), (mate.pk, maths.decimals.pk)]
    )
    one = api.mastery_for_student(student_id=world.student.pk, course_id=maths.course.pk)[maths.fractions.pk]
    [mine] = [r for r in rows if r.student_id == world.student.pk]
    assert (mine.p, mine.n_evidence, mine.updated_at) == (one.p, 3, at(2))


def test_latest_mastery_narrowed_to_some_students(world, maths):
    _practise(maths.course, world.student, maths.item_f, [True])
    mate = _classmate(maths.course, "mate")
    _practise(maths.course, mate, maths.item_d, [True])
    rows = api.latest_mastery(course_id=maths.course.pk, student_ids=[mate.pk, 10_000_000])
    assert [(r.student_id, r.skill_id) for r in rows] == [(mate.pk, maths.decimals.pk)]
    assert api.latest_mastery(course_id=maths.course.pk, student_ids=[]) == []
    # a student of another course has no rows here, even when asked for by id
    assert api.latest_mastery(course_id=maths.course.pk, student_ids=[world.other_student.pk]) == []


def test_latest_mastery_of_an_empty_or_unknown_course(world, maths, django_assert_num_queries):
    empty = f.CourseFactory(school=world.school, code="EMPTY")
    with django_assert_num_queries(2):
        assert api.latest_mastery(course_id=empty.pk) == []
    with pytest.raises(AssessmentLookupError):
        api.latest_mastery(course_id=10_000_000)


def test_latest_mastery_costs_one_query_whatever_the_class_size(world, maths, django_assert_num_queries):
    for i in range(6):
        _practise(maths.course, _classmate(maths.course, f"s{i}"), maths.item_fd, [i % 2 == 0])
    with django_assert_num_queries(1):
        rows = api.latest_mastery(course_id=maths.course.pk)
    assert len(rows) == 12


# --- weekly_mastery --------------------------------------------------------------------------


def test_weekly_mastery_is_the_mean_of_the_week_estimates(world, maths, django_assert_num_queries):
    # given: week 1, two students on fractions; week 2, one student again
    mate = _classmate(maths.course, "mate")
    _practise(maths.course, world.student, maths.item_f, [True, True])
    _practise(maths.course, mate, maths.item_f, [False])
    _practise(maths.course, world.student, maths.item_f, [False], start=7 * 24 * 60)
    # when
    with django_assert_num_queries(1):
        weeks = api.weekly_mastery(course_id=maths.course.pk, since=BASE - timedelta(days=1))
    # then
    assert all(isinstance(w, WeeklyMastery) for w in weeks)
    assert [(w.skill_id, w.n_students) for w in weeks] == [(maths.fractions.pk, 2), (maths.fractions.pk, 1)]
    assert weeks[1].week - weeks[0].week == timedelta(days=7)
    history = list(MasteryHistory.objects.filter(skill=maths.fractions).order_by("at").values_list("p", flat=True))
    assert weeks[0].mean == pytest.approx(sum(history[:3]) / 3)
    assert weeks[1].mean == pytest.approx(history[3])


def test_weekly_mastery_starts_at_since(world, maths):
    _practise(maths.course, world.student, maths.item_d, [True])
    _practise(maths.course, world.student, maths.item_d, [True], start=14 * 24 * 60)
    weeks = api.weekly_mastery(course_id=maths.course.pk, since=BASE + timedelta(days=7))
    assert [(w.skill_id, w.n_students) for w in weeks] == [(maths.decimals.pk, 1)]
    assert api.weekly_mastery(course_id=maths.course.pk, since=BASE + timedelta(days=30)) == []


def test_weekly_mastery_of_an_empty_or_unknown_course(world, maths):
    empty = f.CourseFactory(school=world.school, code="EMPTY")
    assert api.weekly_mastery(course_id=empty.pk, since=BASE) == []
    with pytest.raises(AssessmentLookupError):
        api.weekly_mastery(course_id=10_000_000, since=BASE)


# --- predicted_success_for_students ----------------------------------------------------------


def test_bulk_predictions_match_one_by_one(world, maths):
    _practise(maths.course, world.student, maths.item_f, [True, True, True])
    mate = _classmate(maths.course, "mate")
    _practise(maths.course, mate, maths.item_f, [False, False])
    items = [maths.item_f.pk, maths.item_d.pk, maths.item_fd.pk, maths.item_none.pk, 10_000_000]
    bulk = api.predicted_success_for_students(
        student_ids=[world.student.pk, mate.pk, 10_000_000], course_id=maths.course.pk, item_ids=items
    )
    assert set(bulk) == {world.student.pk, mate.pk}  # unknown student left out
    for sid in bulk:
        assert set(bulk[sid]) == set(items[:4])  # unknown item left out
        assert bulk[sid] == pytest.approx(api.predicted_success(student_id=sid, item_ids=items))
    assert bulk[world.student.pk][maths.item_f.pk] > bulk[mate.pk][maths.item_f.pk]


def test_bulk_predictions_cost_the_same_queries_for_one_or_many_students(world, maths, django_assert_num_queries):
    students = [_classmate(maths.course, f"s{i}") for i in range(5)]
    for i, s in enumerate(students):
        _practise(maths.course, s, maths.item_f, [i % 2 == 0, True])
    items = [maths.item_f.pk, maths.item_d.pk]
    # users, items with skills, the serving model, the states
    with django_assert_num_queries(4):
        one = api.predicted_success_for_students(
            student_ids=[students[0].pk], item_ids=items, course_id=maths.course.pk
        )
    with django_assert_num_queries(4):
        many = api.predicted_success_for_students(
            student_ids=[s.pk for s in students], item_ids=items, course_id=maths.course.pk
        )
    assert many[students[0].pk] == one[students[0].pk]


def test_bulk_predictions_keep_to_the_course_asked_for(world, maths):
    elsewhere = f.PracticeItemFactory(course=world.other_course, title="Elsewhere")
    items = [maths.item_f.pk, elsewhere.pk]
    here = api.predicted_success_for_students(student_ids=[world.student.pk], item_ids=items, course_id=maths.course.pk)
    assert set(here[world.student.pk]) == {maths.item_f.pk}
    anywhere = api.predicted_success_for_students(student_ids=[world.student.pk], item_ids=items)
    assert set(anywhere[world.student.pk]) == {maths.item_f.pk, elsewhere.pk}
    unknown = api.predicted_success_for_students(student_ids=[world.student.pk], item_ids=items, course_id=10_000_000)
    assert unknown == {world.student.pk: {}}
    assert api.predicted_success_for_students(student_ids=[], item_ids=items) == {}


def test_a_new_student_gets_the_prior_prediction(world, maths):
    fresh = _classmate(maths.course, "fresh")
    got = api.predicted_success_for_students(student_ids=[fresh.pk], item_ids=[maths.item_f.pk])
    # default BKT: P(correct) = L0 (1 - slip) + (1 - L0) guess = 0.3 * 0.9 + 0.7 * 0.2
    assert got[fresh.pk][maths.item_f.pk] == pytest.approx(0.3 * 0.9 + 0.7 * 0.2)


def test_latest_mastery_without_times_gives_the_same_cells(world, maths, django_assert_num_queries):
    _practise(maths.course, world.student, maths.item_f, [True, False, True])
    _practise(maths.course, _classmate(maths.course, "mate"), maths.item_fd, [False, True])
    timed = api.latest_mastery(course_id=maths.course.pk)
    with django_assert_num_queries(1):
        untimed = api.latest_mastery(course_id=maths.course.pk, with_time=False)
    assert untimed, "the fixture should have evidence-backed estimates"
    assert [(r.student_id, r.skill_id, r.p, r.n_evidence) for r in untimed] == [
        (r.student_id, r.skill_id, r.p, r.n_evidence) for r in timed
    ]
    assert all(r.updated_at is None for r in untimed) and all(r.updated_at is not None for r in timed)
