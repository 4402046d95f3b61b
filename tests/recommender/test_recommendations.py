"""Recommendations end to end through the database: refresh, cache, serve, pins and hides,
cold start, empty courses, and the debounced refresh after activity and grading events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from eduai.courses import api as courses
from eduai.courses.models import PracticeItem
from recommender import api, selectors, services, tasks
from recommender.models import RecommendationSet
from tests import factories as f


def _keys(result) -> list[str]:
    return [r.key for r in result.items]


def test_cold_start_gets_course_level_foundations(world, maths):
    # given a student with no history at all
    # when they open their recommendations
    result = api.recommendations_for(user=world.student, course_id=maths.course.pk)
    # then they get a cached, course-level list that starts with the foundation skill
    assert result.cold_start is True
    assert result.items, "a cold start must still recommend something"
    assert result.items[0].skill_ids == (maths.fractions.pk,)
    assert result.items[0].reasons[0].code == "start_here"
    assert RecommendationSet.objects.filter(student=world.student, course=maths.course).count() == 1


def test_personal_list_follows_mastery_and_says_why(world, maths, set_mastery):
    set_mastery({world.student.pk: {maths.fractions.pk: 0.9, maths.ratios.pk: 0.41, maths.percentages.pk: 0.2}})
    services.recommendations_refresh(course_id=maths.course.pk, student_ids=[world.student.pk])
    result = api.recommendations_for(user=world.student, course_id=maths.course.pk)
    assert result.cold_start is False
    top = result.items[0]
    assert top.skill_ids == (maths.ratios.pk,)
    text = api.reason_text(top.reasons[0])
    assert "Ratios is 0.41" in text and "Percentages" in text and "Percentages quiz is due" in text


def test_serving_from_cache_takes_few_queries(world, maths, django_assert_max_num_queries):
    api.recommendations_for(user=world.student, course_id=maths.course.pk)
    with django_assert_max_num_queries(8):
        # course visibility + role + cached row + overrides + live resources + live items
        result = api.recommendations_for(user=world.student, course_id=maths.course.pk)
    assert result.items


def test_hidden_resource_is_never_served_even_from_an_old_cache(world, maths, set_mastery):
    set_mastery({world.student.pk: {maths.fractions.pk: 0.2}})
    before = api.recommendations_for(user=world.student, course_id=maths.course.pk, limit=20)
    assert f"resource:{maths.r_fractions.pk}" in _keys(before)
    # when the teacher hides it (the cached list still contains it)
    api.override_set(user=world.teacher, course_id=maths.course.pk, resource_id=maths.r_fractions.pk, action="hide")
    after = api.recommendations_for(user=world.student, course_id=maths.course.pk, limit=20)
    assert f"resource:{maths.r_fractions.pk}" not in _keys(after)
    # and a fresh ranking leaves it out too
    services.recommendations_refresh(course_id=maths.course.pk)
    again = api.recommendations_for(user=world.student, course_id=maths.course.pk, limit=20)
    assert f"resource:{maths.r_fractions.pk}" not in _keys(again)


def test_deleted_or_deactivated_activities_are_never_served(world, maths):
    before = api.recommendations_for(user=world.student, course_id=maths.course.pk, limit=20)
    keys = _keys(before)
    gone_item = next(r for r in before.items if r.kind == "practice")
    PracticeItem.objects.filter(pk=gone_item.id).delete()
    maths.r_fractions.is_active = False
    maths.r_fractions.save()
    maths.r_ratios.delete()
    after = _keys(api.recommendations_for(user=world.student, course_id=maths.course.pk, limit=20))
    assert gone_item.key in keys
    assert gone_item.key not in after
    assert f"resource:{maths.r_fractions.pk}" not in after
    assert f"resource:{maths.r_ratios.pk}" not in after
    assert after, "the rest of the list is still served"


def test_pinned_resource_comes_first_with_the_teachers_reason(world, maths):
    api.override_set(user=world.teacher, course_id=maths.course.pk, resource_id=maths.r_general.pk, action="pin")
    result = api.recommendations_for(user=world.student, course_id=maths.course.pk)
    assert result.items[0].key == f"resource:{maths.r_general.pk}"
    assert result.items[0].pinned is True
    assert api.reason_text(result.items[0].reasons[0]) == "Recommended by your teacher."
    assert _keys(result).count(f"resource:{maths.r_general.pk}") == 1
    # clearing the pin puts it back among the ranked ones
    api.override_set(user=world.teacher, course_id=maths.course.pk, resource_id=maths.r_general.pk, action="")
    assert not api.recommendations_for(user=world.student, course_id=maths.course.pk).items[0].pinned


def test_override_rules(world, maths):
    # a TA may not change the course's setup; a teacher of another course cannot see it
    with pytest.raises(PermissionDenied):
        api.override_set(user=world.ta, course_id=maths.course.pk, resource_id=maths.r_general.pk, action="pin")
    with pytest.raises(Http404):
        api.override_set(
            user=world.other_teacher, course_id=maths.course.pk, resource_id=maths.r_general.pk, action="pin"
        )
    # another course's resource cannot be pinned here
    foreign = f.LearningResourceFactory(course=world.other_course)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        api.override_set(user=world.teacher, course_id=maths.course.pk, resource_id=foreign.pk, action="pin")
    with pytest.raises(ValidationError):
        api.override_set(user=world.teacher, course_id=maths.course.pk, resource_id=maths.r_general.pk, action="boost")


def test_a_course_with_no_resources_or_items_gives_an_empty_list(world):
    result = api.recommendations_for(user=world.student, course_id=world.course.pk)
    assert result.items == ()


def test_student_never_sees_another_courses_resources(world, maths):
    f.LearningResourceFactory(course=world.other_course, title="Other course secret")
    services.recommendations_refresh(course_id=maths.course.pk)
    result = api.recommendations_for(user=world.student, course_id=maths.course.pk, limit=20)
    course_resources = set(maths.course.resources.values_list("id", flat=True))
    course_items = set(maths.course.practice_items.values_list("id", flat=True))
    for rec in result.items:
        assert rec.id in (course_resources if rec.kind == "resource" else course_items)
    # and cannot open another course's list at all
    with pytest.raises(Http404):
        api.recommendations_for(user=world.student, course_id=world.other_course.pk)


def test_only_students_have_recommendations(world, maths):
    with pytest.raises(PermissionDenied):
        api.recommendations_for(user=world.teacher, course_id=maths.course.pk)


def test_fallback_mastery_from_events_personalises_without_assessment(world, maths, monkeypatch):
    # given no knowledge tracer installed (the adapter's own estimate from practice events)
    monkeypatch.setattr("recommender.sources._optional", lambda module, name: None)
    now = timezone.now()
    events = []
    for n in range(8):
        for skill, ok in (("Fractions", True), ("Ratios", False)):
            item = maths.items[(skill, "mid")]
            events.append(
                courses.EventInput(
                    course_id=maths.course.pk,
                    actor_id=world.student.pk,
                    verb="http://adlnet.gov/expapi/verbs/answered",
                    timestamp=now - timedelta(minutes=60 - n),
                    object_type="practice_item",
                    practice_item_id=item.pk,
                    result_success=ok,
                )
            )
    courses.activity_events_record(events=events)
    services.recommendations_refresh(course_id=maths.course.pk, student_ids=[world.student.pk])
    result = api.recommendations_for(user=world.student, course_id=maths.course.pk)
    assert result.cold_start is False
    assert result.items[0].skill_ids == (maths.ratios.pk,)


@pytest.mark.django_db(transaction=True)
def test_activity_marks_stale_and_schedules_one_debounced_refresh(world, maths, monkeypatch):
    # given a computed list
    api.recommendations_for(user=world.student, course_id=maths.course.pk)
    scheduled: list[tuple] = []
    monkeypatch.setattr(
        tasks.refresh_students,
        "apply_async",
        lambda args=None, countdown=None, **kw: scheduled.append((args, countdown)),
    )
    item = maths.items[("Fractions", "easy")]

    def answer():
        courses.activity_events_record(
            events=[
                courses.EventInput(
                    course_id=maths.course.pk,
                    actor_id=world.student.pk,
                    verb="http://adlnet.gov/expapi/verbs/answered",
                    timestamp=timezone.now(),
                    object_type="practice_item",
                    practice_item_id=item.pk,
                    result_success=True,
                )
            ]
        )

    # when the student answers twice in a row
    answer()
    answer()
    # then the list is stale and exactly one refresh was scheduled, after the debounce delay
    row = RecommendationSet.objects.get(student=world.student, course=maths.course)
    assert row.stale_since is not None
    assert scheduled == [((maths.course.pk, [world.student.pk]), tasks.DEBOUNCE_S)]
    # when the refresh runs, the list is fresh again and the item just answered has sunk
    tasks.refresh_students(maths.course.pk, [world.student.pk])
    row.refresh_from_db()
    assert row.stale_since is None
    assert selectors.cached_recommendations(student_id=world.student.pk, course_id=maths.course.pk).stale is False


@pytest.mark.django_db(transaction=True)
def test_an_event_during_a_refresh_is_not_lost(world, maths):
    api.recommendations_for(user=world.student, course_id=maths.course.pk)
    services.recommendations_mark_stale(pairs=[(maths.course.pk, world.student.pk)])
    started = timezone.now() - timedelta(seconds=5)  # the refresh began before the event
    _, again = services.recommendations_refresh(course_id=maths.course.pk, student_ids=[world.student.pk], now=started)
    assert again == [world.student.pk]
    assert RecommendationSet.objects.get(student=world.student, course=maths.course).stale_since is not None


@pytest.mark.django_db(transaction=True)
def test_grade_release_schedules_a_refresh_for_the_author(world, maths, monkeypatch):
    from grading.signals import grade_released

    scheduled: list[tuple] = []
    monkeypatch.setattr(tasks.refresh_students, "apply_async", lambda args=None, **kw: scheduled.append(args))
    submission = f.SubmissionFactory(assignment=maths.quiz, author=world.student)
    with transaction.atomic():
        grade_released.send(
            sender=object,
            submission_id=submission.pk,
            assignment_id=maths.quiz.pk,
            course_id=maths.course.pk,
            score=3,
            released_by=world.teacher.pk,
        )
    assert scheduled == [(maths.course.pk, [world.student.pk])]


@pytest.mark.django_db(transaction=True)
def test_teachers_and_question_events_trigger_nothing(world, maths, monkeypatch):
    # the teacher is also a student in another course: still no list for them here
    f.EnrollmentFactory(course=world.other_course, user=world.teacher)
    scheduled: list = []
    monkeypatch.setattr(tasks.refresh_students, "apply_async", lambda args=None, **kw: scheduled.append(args))
    courses.activity_events_record(
        events=[
            courses.EventInput(
                course_id=maths.course.pk,
                actor_id=world.teacher.pk,
                verb="http://adlnet.gov/expapi/verbs/answered",
                timestamp=timezone.now(),
                object_type="practice_item",
                practice_item_id=maths.items[("Fractions", "easy")].pk,
                result_success=True,
            ),
            courses.EventInput(
                course_id=maths.course.pk,
                actor_id=world.student.pk,
                verb="http://adlnet.gov/expapi/verbs/asked",
                timestamp=timezone.now(),
                object_type="question",
            ),
        ]
    )
    assert scheduled == []
    assert not RecommendationSet.objects.exists()


def test_batch_refresh_builds_the_course_profile_and_every_list(world, maths, classmate):
    refreshed = api.refresh_course(course_id=maths.course.pk)
    assert refreshed == 2
    assert RecommendationSet.objects.filter(course=maths.course, computed_at__isnull=False).count() == 2
    from recommender.models import CourseProfile

    profile = CourseProfile.objects.get(course=maths.course).data
    assert profile["skill_ids"] == sorted([maths.fractions.pk, maths.ratios.pk, maths.percentages.pk])


def test_management_command_indexes_and_refreshes(world, maths):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("recommender_refresh", "--course", str(maths.course.pk), stdout=out)
    assert "4 resources indexed, 1 students refreshed" in out.getvalue()
    assert RecommendationSet.objects.filter(student=world.student, computed_at__isnull=False).exists()
    with pytest.raises(CommandError):
        call_command("recommender_refresh", "--course", "999999", stdout=StringIO())


def test_staff_read_cached_lists_without_computing_them(world, maths, classmate):
    # nothing computed yet: the teacher's look changes nothing
    assert (
        api.student_recommendations_for_staff(
            user=world.teacher, course_id=maths.course.pk, student_id=world.student.pk
        )
        is None
    )
    assert not RecommendationSet.objects.exists()
    api.recommendations_for(user=world.student, course_id=maths.course.pk)
    seen = api.student_recommendations_for_staff(
        user=world.teacher, course_id=maths.course.pk, student_id=world.student.pk
    )
    assert seen is not None and seen.items
    lists = api.course_recommendation_lists(user=world.ta, course_id=maths.course.pk)
    assert set(lists) == {world.student.pk}
    with pytest.raises(PermissionDenied):
        api.course_recommendation_lists(user=world.student, course_id=maths.course.pk)
    with pytest.raises(Http404):
        api.student_recommendations_for_staff(
            user=world.teacher, course_id=maths.course.pk, student_id=world.other_student.pk
        )
