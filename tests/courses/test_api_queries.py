"""List endpoints cost a fixed number of queries, however many rows a page holds (no N+1).

Each count is pinned with one page of 2 rows of everything and again with 8: related skills,
traits and prerequisites come from one prefetch each, never one query per row. Queries per
request (token auth included): token+user 1, the asker's admin schools 1, their staff
courses 1 (+1 for a school admin, whose courses are those of their schools), count 1, page 1,
and one per prefetched relation.
"""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import factories as f

#                     endpoint          teacher student admin
PINNED = {
    "schools": (4, 4, 4),
    "courses": (4, 4, 4),
    "enrolments": (5, 5, 6),
    "skills": (5, 5, 5),
    "assignments": (7, 7, 8),
    "submissions": (6, 6, 8),
    "practice-items": (6, 6, 7),
    "resources": (6, 6, 7),
    "events": (5, 5, 6),
    "me": (4, 4, 4),
}
ROLES = ("teacher", "student", "admin")


def add_rows(world, n: int) -> None:
    """n of each kind in the course, each linked to skills and traits so prefetches matter."""
    for _ in range(n):
        skill = f.SkillFactory(course=world.course)
        skill.prerequisites.add(f.SkillFactory(course=world.course))
        assignment = f.AssignmentFactory(course=world.course)
        assignment.skills.add(skill)
        f.RubricTraitFactory(assignment=assignment)
        f.RubricTraitFactory(assignment=assignment)
        f.SubmissionFactory(assignment=assignment, author=world.student)
        f.PracticeItemFactory(course=world.course).skills.add(skill)
        f.LearningResourceFactory(course=world.course).skills.add(skill)
        f.ActivityEventFactory(course=world.course, actor=world.student)
        f.EnrollmentFactory(course=world.course, user=f.UserFactory())


@pytest.mark.parametrize(
    ("endpoint", "role", "queries"),
    [
        pytest.param(endpoint, role, counts[i], id=f"{endpoint}-{role}")
        for endpoint, counts in PINNED.items()
        for i, role in enumerate(ROLES)
    ],
)
def test_list_endpoint_query_count_does_not_grow_with_rows(world, endpoint, role, queries, django_assert_num_queries):
    # given a signed-in user (token, as an LMS integration would) and a course with a few rows
    client = APIClient()
    token = Token.objects.create(user=getattr(world, role))
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    add_rows(world, 2)
    # when they list, then the query count is the pinned one
    with django_assert_num_queries(queries):
        small = client.get(f"/api/v1/{endpoint}/")
    # and with four times as many rows it is the same
    add_rows(world, 6)
    with django_assert_num_queries(queries):
        large = client.get(f"/api/v1/{endpoint}/")
    assert small.status_code == large.status_code == 200
    if "results" in large.json():
        assert len(large.json()["results"]) >= len(small.json()["results"])
