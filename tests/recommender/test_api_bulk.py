"""The bulk read of what a course's cached lists recommend (staff dashboards, after their own
access check): per activity, how many lists hold it and how many in their top three."""

from __future__ import annotations

import pytest

from recommender import api
from recommender.models import RecommendationSet
from tests import factories as f

pytestmark = pytest.mark.django_db


def _item(kind: str, id_: int, title: str) -> dict[str, object]:
    return {"kind": kind, "id": id_, "title": title, "score": 0.5, "reasons": []}


def test_counts_follow_the_computed_lists_of_the_course(world, maths, classmate, django_assert_num_queries):
    # given: lists computed by the recommender for two students, plus hand-made ones: a list
    # holding the Ratios resource fourth (not top three) and a broken entry, a row never
    # computed, and a list in another course
    api.recommendations_for(user=world.student, course_id=maths.course.pk)
    api.recommendations_for(user=classmate, course_id=maths.course.pk)
    expected: dict[tuple[str, int], list[int]] = {}
    for row in RecommendationSet.objects.filter(course=maths.course):
        for rank, raw in enumerate(row.items):
            c = expected.setdefault((raw["kind"], raw["id"]), [0, 0])
            c[0] += 1
            c[1] += rank < 3
    third = f.UserFactory(username="third")
    r = maths.r_ratios
    items = [_item("practice", 10**6 + k, f"old item {k}") for k in range(3)] + [_item("resource", r.pk, r.title)]
    RecommendationSet.objects.create(
        student=third, course=maths.course, items=[*items, {"title": "no kind, no id"}], computed_at=r.created_at
    )
    for k in range(3):
        expected[("practice", 10**6 + k)] = [1, 1]
    c = expected.setdefault(("resource", r.pk), [0, 0])
    c[0] += 1
    RecommendationSet.objects.create(
        student=f.UserFactory(username="late"), course=maths.course, items=items, computed_at=None
    )
    RecommendationSet.objects.create(
        student=world.other_student, course=world.other_course, items=items, computed_at=r.created_at
    )

    # when
    with django_assert_num_queries(1):
        counts = api.recommended_activity_counts(course_id=maths.course.pk)

    # then
    assert {(a.kind, a.id): [a.students, a.in_top_3] for a in counts} == expected
    assert any(a.students == 3 for a in counts)  # the two computed lists share activities with the third
    ratios = next(a for a in counts if (a.kind, a.id) == ("resource", r.pk))
    assert ratios.title == r.title and ratios.students > ratios.in_top_3
    assert api.recommended_activity_counts(course_id=world.foreign_course.pk) == []
