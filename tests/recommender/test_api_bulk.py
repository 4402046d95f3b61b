"""The trusted bulk read of a course's cached lists (dashboards, after their own access check)."""

from __future__ import annotations

import pytest

from recommender import api
from recommender.models import RecommendationSet
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_trusted_course_lists_are_the_staff_read_without_its_checks(world, maths, classmate, django_assert_num_queries):
    # given: two students' computed lists, one row waiting for its first computation, and a
    # list in another course
    api.recommendations_for(user=world.student, course_id=maths.course.pk)
    api.recommendations_for(user=classmate, course_id=maths.course.pk)
    late = f.UserFactory(username="late")
    RecommendationSet.objects.create(student=late, course=maths.course, items=[], computed_at=None)
    RecommendationSet.objects.create(
        student=world.other_student,
        course=world.other_course,
        items=[{"kind": "resource", "id": maths.r_fractions.pk, "title": "x", "score": 1.0, "reasons": []}],
        computed_at=maths.course.created_at,
    )

    # when
    with django_assert_num_queries(1):
        lists = api.course_recommendation_lists_trusted(course_id=maths.course.pk)

    # then: the computed lists of this course, as the teachers' read gives them
    assert set(lists) == {world.student.pk, classmate.pk}
    assert all(lists[s] for s in lists)
    assert lists == api.course_recommendation_lists(user=world.teacher, course_id=maths.course.pk)
    first = lists[world.student.pk][0]
    assert isinstance(first, api.Recommendation) and first.kind in ("resource", "practice") and first.title
