"""Signing in to the API (token and session), who-am-I, and the 404-not-403 rule."""

from __future__ import annotations

from django.test import Client
from rest_framework.test import APIClient

from tests import factories as f


def test_a_token_from_username_and_password_opens_the_api(world):
    # given a teacher's credentials
    client = APIClient()
    # when they exchange them for a token and use it
    response = client.post("/api/v1/auth/token/", {"username": "teach", "password": f.DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    # then the API knows who they are
    assert client.get("/api/v1/me/").json()["username"] == "teach"


def test_a_wrong_password_gets_no_token(world):
    response = APIClient().post("/api/v1/auth/token/", {"username": "teach", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()


def test_anonymous_requests_are_told_to_authenticate(db):
    response = APIClient().get("/api/v1/courses/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_bad_token_is_refused(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/me/").status_code == 401


def test_a_signed_in_browser_session_works_for_reads(world):
    client = Client()
    client.force_login(world.student)
    assert client.get("/api/v1/me/").json()["username"] == "stu"


def test_me_lists_my_courses_with_my_role_in_each(world, api_as):
    assert api_as(world.teacher).get("/api/v1/me/").json()["courses"] == [
        {
            "id": world.course.pk,
            "code": "ENG1",
            "title": "English 1",
            "school": world.school.pk,
            "role": "teacher",
            "is_active": True,
        }
    ]
    admin = api_as(world.admin).get("/api/v1/me/").json()
    assert admin["is_school_admin"] is True
    assert admin["admin_school_ids"] == [world.school.pk]
    assert [(c["code"], c["role"]) for c in admin["courses"]] == [("ENG1", "admin"), ("MATH1", "admin")]
    assert [(c["code"], c["role"]) for c in api_as(world.ta).get("/api/v1/me/").json()["courses"]] == [("ENG1", "ta")]


def test_out_of_scope_objects_look_exactly_like_missing_ones(world, api_as):
    # given an assignment of a course the other teacher does not teach
    assignment = f.AssignmentFactory(course=world.course)
    client = api_as(world.other_teacher)
    # when they read, change or delete it, and when they ask for an id that does not exist
    hidden = [
        client.get(f"/api/v1/assignments/{assignment.pk}/"),
        client.patch(f"/api/v1/assignments/{assignment.pk}/", {"title": "Mine"}, format="json"),
        client.delete(f"/api/v1/assignments/{assignment.pk}/"),
    ]
    missing = client.get("/api/v1/assignments/987654/")
    # then every answer is the same 404, so the API never confirms the assignment exists
    assert {(r.status_code, r.content) for r in hidden} == {(404, missing.content)}
    assert missing.json() == {"detail": "Not found."}
    assignment.refresh_from_db()
    assert assignment.title != "Mine"


def test_visible_but_not_allowed_is_a_403_with_a_reason(world, api_as):
    assignment = f.AssignmentFactory(course=world.course)
    response = api_as(world.ta).patch(f"/api/v1/assignments/{assignment.pk}/", {"title": "TA edit"}, format="json")
    assert response.status_code == 403
    assert "teachers and school admins" in response.json()["detail"]
