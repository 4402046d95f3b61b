from __future__ import annotations

import base64

import pytest
from django.test import Client

from eduai.xapi.services import lrs_client_create


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # The world fixture hashes seven passwords; PBKDF2's 1M rounds cost seconds on a busy box.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class XapiClient:
    """Django's test client speaking xAPI: Basic auth, version header, JSON bodies."""

    def __init__(self, key: str, secret: str, version: str | None = "1.0.3"):
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}
        if version:
            self.headers["HTTP_X_EXPERIENCE_API_VERSION"] = version

    def post(self, body, **params):
        import json
        from urllib.parse import urlencode

        url = "/xapi/statements" + (f"?{urlencode(params)}" if params else "")
        return self.client.post(url, json.dumps(body), content_type="application/json", **self.headers)

    def put(self, statement_id, body):
        import json

        return self.client.put(
            f"/xapi/statements?statementId={statement_id}",
            json.dumps(body),
            content_type="application/json",
            **self.headers,
        )

    def get(self, **params):
        return self.client.get("/xapi/statements", params, **self.headers)


@pytest.fixture
def lrs(world):
    """A school-wide credential for the world's school, and a client using it."""
    client, secret = lrs_client_create(name="Moodle log store", school_id=world.school.pk)
    return XapiClient(client.key, secret)


@pytest.fixture
def course_lrs(world):
    client, secret = lrs_client_create(name="Course-only", school_id=world.school.pk, course_id=world.course.pk)
    return XapiClient(client.key, secret)


def statement(world, **overrides):
    """A valid 'answered' statement by the world's student about a practice item of the course."""
    body = {
        "actor": {"objectType": "Agent", "name": "Stu", "mbox": "mailto:stu@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
        "object": {"objectType": "Activity", "id": "urn:eduai:practice-item:1"},
        "result": {"success": True, "score": {"scaled": 0.8, "raw": 8, "min": 0, "max": 10}, "duration": "PT1M30S"},
        "context": {"contextActivities": {"parent": {"id": f"urn:eduai:course:{world.course.pk}"}}},
        "timestamp": "2026-03-01T12:00:00Z",
    }
    body.update(overrides)
    return body
