"""Launches that must be refused: each with a clear 4xx message, and nothing created."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from eduai.accounts.models import User
from eduai.courses.models import Course, Enrollment
from eduai.lti.models import LtiContext, LtiUser

from .platform import LEARNER, MENTOR, rsa_pem

LTI = "https://purl.imsglobal.org/spec/lti/claim/"


def _counts() -> tuple[int, ...]:
    return (
        User.objects.count(),
        Course.objects.count(),
        Enrollment.objects.count(),
        LtiUser.objects.count(),
        LtiContext.objects.count(),
    )


def _drop(key: str):
    """Remove a claim: "sub", "exp", an LTI claim by its short name, or "resource_link.id"."""

    def mutate(claims):
        if key == "resource_link.id":
            claims[LTI + "resource_link"].pop("id")
        elif key in claims:
            claims.pop(key)
        else:
            claims.pop(LTI + key)
        return claims

    return mutate


def _set(**values):
    def mutate(claims):
        claims.update(values)
        return claims

    return mutate


CASES = [
    # (id, launch kwargs, status, words the message must contain)
    ("bad-signature", {"sign_with_other_key": True}, 403, "signature is not valid"),
    ("wrong-issuer", {"mutate": _set(iss="https://evil.example")}, 403, "Unknown platform"),
    ("wrong-audience", {"mutate": _set(aud="someone-else")}, 403, "Unknown platform"),
    ("extra-audience-without-azp", {"mutate": _set(aud=["eduai-client-42", "other"])}, 403, "azp"),
    (
        "expired",
        {"mutate": _set(exp=int(time.time()) - 3600, iat=int(time.time()) - 4000)},
        400,
        "expired",
    ),
    ("nonce-not-issued-by-us", {"mutate": _set(nonce="made-up-nonce")}, 400, "nonce"),
    (
        "unknown-deployment",
        {"mutate": _set(**{LTI + "deployment_id": "someone-elses-deployment"})},
        403,
        "deployment",
    ),
    ("missing-sub", {"mutate": _drop("sub")}, 400, "sub"),
    ("missing-roles", {"mutate": _drop("roles")}, 400, "roles"),
    ("missing-resource-link-id", {"mutate": _drop("resource_link.id")}, 400, "resource_link"),
    ("missing-exp", {"mutate": _drop("exp")}, 400, "required claim"),
    ("missing-context", {"mutate": _drop("context")}, 400, "context"),
    ("wrong-version", {"mutate": _set(**{LTI + "version": "1.1"})}, 400, "1.3.0"),
    ("mentor-has-no-eduai-role", {"roles": [MENTOR]}, 403, "no EduAI role"),
]


@pytest.mark.parametrize(("case", "kwargs", "status", "words"), CASES, ids=[c[0] for c in CASES])
def test_bad_launch_is_refused_with_a_reason_and_creates_nothing(registered, case, kwargs, status, words):
    sim = registered
    kwargs = dict(kwargs)
    args = {"sub": "student-9", "roles": kwargs.pop("roles", [LEARNER])}
    if kwargs.pop("sign_with_other_key", False):
        # Signed by a key the platform never published, under the platform's kid.
        client = Client()
        state, nonce = sim.login(client)
        token = sim.sign(sim.claims(nonce=nonce, **args), private_pem=rsa_pem(1))
        before = _counts()
        resp = client.post("/lti/launch/", {"id_token": token, "state": state})
    else:
        before = _counts()
        resp = sim.launch(Client(), **args, **kwargs)
    body = resp.content.decode()
    assert resp.status_code == status, body[:800]
    assert words.lower() in body.lower()
    assert _counts() == before


def test_replayed_launch_is_refused_and_creates_nothing_more(registered):
    sim = registered
    client = Client()
    state, nonce = sim.login(client)
    token = sim.sign(sim.claims(nonce=nonce, sub="student-9", roles=[LEARNER]))
    first = client.post("/lti/launch/", {"id_token": token, "state": state})
    assert first.status_code == 302
    before = _counts()
    replay = client.post("/lti/launch/", {"id_token": token, "state": state})
    assert replay.status_code == 400
    assert "already used" in replay.content.decode()
    assert _counts() == before


def test_launch_without_the_login_state_cookie_is_refused(registered):
    sim = registered
    state, nonce = sim.login(Client())
    token = sim.sign(sim.claims(nonce=nonce, sub="student-9", roles=[LEARNER]))
    before = _counts()
    resp = Client().post("/lti/launch/", {"id_token": token, "state": state})
    assert resp.status_code == 400
    assert "login state" in resp.content.decode()
    assert _counts() == before


def test_garbage_id_token_is_refused(registered):
    client = Client()
    state, _ = registered.login(client)
    resp = client.post("/lti/launch/", {"id_token": "not-a-jwt", "state": state})
    assert resp.status_code == 400 and "not a JWT" in resp.content.decode()


def test_login_from_unknown_platform_is_refused(db):
    resp = Client().post("/lti/login/", {"iss": "https://nobody.example", "login_hint": "x", "client_id": "c"})
    assert resp.status_code == 403
    assert "Unknown platform" in resp.content.decode()
    resp = Client().get("/lti/login/", {"login_hint": "x"})
    assert resp.status_code == 400


def test_launch_endpoint_refuses_get(db):
    assert Client().get("/lti/launch/").status_code == 405


def test_inactive_platform_cannot_launch(registered):
    registered.platform_row.is_active = False
    registered.platform_row.save()
    resp = Client().post(
        "/lti/login/", {"iss": registered.issuer, "login_hint": "x", "client_id": registered.client_id}
    )
    assert resp.status_code == 403


def test_a_link_to_another_courses_assignment_is_refused(registered, world):
    from tests.factories import AssignmentFactory

    foreign = AssignmentFactory(course=world.foreign_course)
    before = _counts()
    resp = registered.launch(
        Client(), sub="student-9", roles=[LEARNER], custom={"eduai_assignment_id": str(foreign.pk)}
    )
    assert resp.status_code == 404
    assert "does not belong to this course" in resp.content.decode()
    assert _counts() == before


def test_platform_cannot_take_over_an_existing_account_by_email(registered, world):
    world.student.email = "ada@example.org"
    world.student.save()
    resp = registered.launch(Client(), sub="student-9", roles=[LEARNER], email="ada@example.org")
    assert resp.status_code == 302
    assert LtiUser.objects.get(sub="student-9").user != world.student


def test_refusal_is_shown_in_the_browsers_language(registered):
    # Given: an LMS whose user's browser asks for Chinese
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5")
    # When: the platform launches without the roles claim
    resp = registered.launch(client, sub="student-9", roles=[LEARNER], mutate=_drop("roles"))
    # Then: the reason reads in Chinese (pylti1p3's own words stay in the technical detail)
    body = resp.content.decode()
    assert resp.status_code == 400
    assert "此次启动缺少必需的声明：roles。" in body
    assert "The launch lacks a required claim" not in body
