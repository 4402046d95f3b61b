"""End to end through the real services: activity posted to the API moves mastery in the worker.

Given a course with a skill and practice items tagged with it, when two students each post a
batch of answers to /api/v1/events/ with their tokens (one answering right, one wrong), then
the core's ``activity_recorded`` signal enqueues assessment's update on the ``default`` queue,
the worker folds the evidence in, and /api/v1/assessment/... shows each student's mastery of
that skill built from exactly their answers: higher for the one who answered right.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from eduai.courses.models import Role
from tests import factories as f

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Seconds. Folding a few events is milliseconds of work; the bound covers queueing on a busy box.
UPDATE_TIMEOUT_S = 60
ANSWERED = "http://adlnet.gov/expapi/verbs/answered"


def token_client(username: str) -> APIClient:
    client = APIClient()
    got = client.post("/api/v1/auth/token/", {"username": username, "password": f.DEFAULT_PASSWORD}, format="json")
    assert got.status_code == 200, got.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {got.json()['token']}")
    return client


def answers(course_id: int, item_ids: list[int], correct: bool) -> list[dict[str, object]]:
    start = timezone.now() - timedelta(hours=1)
    return [
        {
            "course": course_id,
            "verb": ANSWERED,
            "object_type": "practice_item",
            "practice_item": item_id,
            "result_success": correct,
            "timestamp": (start + timedelta(minutes=5 * i)).isoformat(),
        }
        for i, item_id in enumerate(item_ids)
    ]


def test_posted_answers_update_each_students_mastery_in_the_worker(worker, wait_until):
    course = f.CourseFactory(code="MATH-IT", title="Maths (integration)")
    skill = f.SkillFactory(course=course, name="Fractions")
    items = [f.PracticeItemFactory(course=course, title=f"Fractions {i}") for i in range(6)]
    for item in items:
        item.skills.add(skill)
    for name in ("it-strong", "it-weak"):
        f.EnrollmentFactory(course=course, user=f.UserFactory(username=name), role=Role.STUDENT)
    item_ids = [item.pk for item in items]

    # When each student posts a batch of six answers: one all right, one all wrong
    clients = {}
    for name, correct in (("it-strong", True), ("it-weak", False)):
        clients[name] = token_client(name)
        posted = clients[name].post("/api/v1/events/", answers(course.pk, item_ids, correct), format="json")
        assert posted.status_code == 201, posted.content
        assert posted.json()["created"] == len(item_ids)

    # Then the worker folds exactly those answers into each student's mastery of the skill
    def mastery(name: str):
        client = clients[name]
        me = client.get("/api/v1/me/").json()["id"]
        got = client.get(f"/api/v1/assessment/courses/{course.pk}/students/{me}/mastery/")
        assert got.status_code == 200, got.content
        row = next((r for r in got.json() if r["skill_id"] == skill.pk), None)
        return row if row and row["n_evidence"] >= len(item_ids) else None

    strong = wait_until(lambda: mastery("it-strong"), timeout=UPDATE_TIMEOUT_S, what="it-strong's mastery update")
    weak = wait_until(lambda: mastery("it-weak"), timeout=UPDATE_TIMEOUT_S, what="it-weak's mastery update")
    assert strong["n_evidence"] == weak["n_evidence"] == len(item_ids)
    assert strong["updated_at"] is not None
    # And the mastery tells them apart the way their answers do
    assert 0.0 <= weak["p"] < 0.5 < strong["p"] <= 1.0

    # And a student cannot read another student's mastery
    other = clients["it-weak"].get("/api/v1/me/").json()["id"]
    refused = clients["it-strong"].get(f"/api/v1/assessment/courses/{course.pk}/students/{other}/mastery/")
    assert refused.status_code == 403
