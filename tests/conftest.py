"""Shared fixtures: a small school with two courses and one person per role.

``world`` gives: school (+ other_school), course (+ other_course in the same school, and
foreign_course in the other school), and users: student, other_student (in other_course),
teacher, ta, other_teacher (of other_course), admin (of school), other_admin (of other_school).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from eduai.courses.models import Role

from . import factories as f


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """PBKDF2 costs ~0.6 s per user on this 2-core CI; MD5 is fine for throwaway test passwords."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class World:
    school: object
    other_school: object
    course: object
    other_course: object
    foreign_course: object
    student: object
    other_student: object
    teacher: object
    ta: object
    other_teacher: object
    admin: object
    other_admin: object


@pytest.fixture
def world(db) -> World:
    school = f.SchoolFactory(name="North High", slug="north")
    other_school = f.SchoolFactory(name="South High", slug="south")
    course = f.CourseFactory(school=school, code="ENG1", title="English 1")
    other_course = f.CourseFactory(school=school, code="MATH1", title="Maths 1")
    foreign_course = f.CourseFactory(school=other_school, code="ENG9", title="Other English")
    student = f.UserFactory(username="stu")
    other_student = f.UserFactory(username="stu2")
    teacher = f.UserFactory(username="teach")
    ta = f.UserFactory(username="assist")
    other_teacher = f.UserFactory(username="teach2")
    admin = f.UserFactory(username="boss")
    other_admin = f.UserFactory(username="boss2")
    f.EnrollmentFactory(course=course, user=student, role=Role.STUDENT)
    f.EnrollmentFactory(course=other_course, user=other_student, role=Role.STUDENT)
    f.EnrollmentFactory(course=course, user=teacher, role=Role.TEACHER)
    f.EnrollmentFactory(course=course, user=ta, role=Role.TA)
    f.EnrollmentFactory(course=other_course, user=other_teacher, role=Role.TEACHER)
    f.SchoolAdminFactory(school=school, user=admin)
    f.SchoolAdminFactory(school=other_school, user=other_admin)
    return World(
        school,
        other_school,
        course,
        other_course,
        foreign_course,
        student,
        other_student,
        teacher,
        ta,
        other_teacher,
        admin,
        other_admin,
    )


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def api_as(api):
    def login(user) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return login


@pytest.fixture
def worker_drained(transactional_db):
    """For integration-marked tests outside tests/integration that commit through the services:
    at teardown, before the database flush (this fixture depends on it, so it ends first), wait
    for the integration worker to finish the tasks the test enqueued (tests/integration/drain.py)."""
    from tests.integration.drain import wait_for_idle_worker

    yield
    wait_for_idle_worker()
