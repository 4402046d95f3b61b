"""Pages of an archived course (``Course.is_active=False``): its members still open it, read their
work and grades, and find it on their home page apart from their current courses, with a notice
that nothing new can be handed in (docs/courses.md)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from eduai.courses.models import SubmissionStatus
from tests import factories as f

pytestmark = pytest.mark.django_db

NOTICE = "This course is archived"


@pytest.fixture
def archived(world):
    assignment = f.AssignmentFactory(course=world.course, title="River essay", min_score=1, max_score=6)
    f.SubmissionFactory(assignment=assignment, author=world.student, status=SubmissionStatus.RELEASED, final_score=5)
    world.course.is_active = False
    world.course.save(update_fields=["is_active"])
    return world.course


def _section(html: str, section_id: str) -> str:
    start = html.find(f'id="{section_id}"')
    return html[start : html.find("</section>", start)] if start >= 0 else ""


@pytest.mark.parametrize("who", ["student", "teacher", "ta", "admin"])
def test_an_archived_course_page_opens_for_its_members_and_says_it_is_archived(client, world, archived, who):
    client.force_login(getattr(world, who))
    response = client.get(reverse("course-detail", args=[archived.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert NOTICE in html and "River essay" in html
    if who == "student":
        assert "nothing new can be handed in" in html
        assert '<span class="score">5</span>' in _section(html, "submissions")


def test_an_active_course_page_has_no_archive_notice(client, world):
    client.force_login(world.student)
    assert NOTICE not in client.get(reverse("course-detail", args=[world.course.pk])).content.decode()


def test_an_archived_course_stays_closed_to_non_members(client, world, archived):
    client.force_login(world.other_student)
    assert client.get(reverse("course-detail", args=[archived.pk])).status_code == 403


def test_a_students_home_lists_an_archived_course_apart_and_keeps_its_grades(client, world, archived):
    client.force_login(world.student)
    html = client.get(reverse("home")).content.decode()
    link = reverse("course-detail", args=[archived.pk])
    assert link in _section(html, "archived") and "ENG1 — English 1" in _section(html, "archived")
    assert link not in _section(html, "learning")
    assert "River essay" in _section(html, "feedback") and ">5<" in _section(html, "feedback")
    assert "You are not enrolled in any course yet." not in html


def test_teachers_and_admins_find_archived_courses_apart_too(client, world, archived):
    link = reverse("course-detail", args=[archived.pk])
    for user in (world.teacher, world.admin):
        client.force_login(user)
        html = client.get(reverse("home")).content.decode()
        assert link in _section(html, "archived")
        assert link not in _section(html, "teaching") and link not in _section(html, "school")
