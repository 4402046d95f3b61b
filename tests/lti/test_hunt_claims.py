"""Launches whose claims have the wrong JSON type (found in a bug hunt): pylti1p3 assumes the
types and raised AttributeError/TypeError/IndexError (a 500). The nonce and the audience are read
before the signature is checked, so those two needed no platform key at all. Each is now a 4xx
with a reason, and nothing is created."""

from __future__ import annotations

import pytest
from django.test import Client

from eduai.accounts.models import User
from eduai.lti.models import LtiContext

from .platform import INSTRUCTOR

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"


@pytest.mark.parametrize(
    ("claim", "value", "message_type"),
    [
        ("nonce", ["a", "list"], "LtiResourceLinkRequest"),
        ("nonce", 5, "LtiResourceLinkRequest"),
        ("aud", [], "LtiResourceLinkRequest"),
        ("aud", 5, "LtiResourceLinkRequest"),
        (LTI + "resource_link", "x", "LtiResourceLinkRequest"),
        (LTI + "resource_link", None, "LtiResourceLinkRequest"),
        (AGS, 5, "LtiSubmissionReviewRequest"),
    ],
)
def test_a_claim_of_the_wrong_type_is_refused_with_a_4xx(registered, claim, value, message_type):
    users = User.objects.count()

    def mutate(claims):
        claims[claim] = value
        return claims

    resp = registered.launch(Client(), sub="t-1", roles=[INSTRUCTOR], message_type=message_type, mutate=mutate)
    assert resp.status_code in (400, 403), resp.content[:300]
    assert User.objects.count() == users and LtiContext.objects.count() == 0


def test_nul_characters_in_names_and_titles_are_dropped(registered):
    # JSON allows \u0000 in a string; PostgreSQL's text columns refuse it (a 500 on save).
    def mutate(claims):
        claims[LTI + "context"] = {**claims[LTI + "context"], "title": "Bio\x00logy", "label": "BIO\x001"}
        return claims

    resp = registered.launch(Client(), sub="t-1", roles=[INSTRUCTOR], name="Grace\x00 Hop\x00per", mutate=mutate)
    assert resp.status_code == 302
    user = User.objects.get(lti_identities__sub="t-1")
    context = LtiContext.objects.get()
    texts = [user.first_name, user.last_name, user.display_name, context.title, context.label, context.course.title]
    assert not [t for t in texts if "\x00" in t]
    assert user.display_name == "Grace Hopper" and context.course.title == "Biology"


def _set(path, value):
    def mutate(claims):
        *outer, last = path
        target = claims
        for key in outer:
            target = target[key]
        target[last] = value
        return claims

    return mutate


NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"


@pytest.mark.parametrize(
    "mutate",
    [
        _set(["sub"], "t-\x001"),
        _set([LTI + "context", "id"], "ctx\x00-1"),
        _set([LTI + "resource_link", "id"], "rl\x00-1"),
        _set([LTI + "deployment_id"], "deployment-1\x00"),
        _set([NRPS, "context_memberships_url"], "https://lms.example/members\x00"),
        _set([AGS, "lineitems"], "https://lms.example/lineitems\x00"),
        _set([AGS, "scope"], ["https://purl.imsglobal.org/spec/lti-ags/scope/score\x00"]),
        _set(["https://lms.example/claim/extension"], {"k\x00": "v"}),
        _set(["https://lms.example/claim/extension"], "\ud800"),
        _set(["https://lms.example/claim/extension"], float("inf")),
    ],
)
def test_an_identifier_or_other_claim_a_database_cannot_store_is_refused(registered, mutate):
    # The whole launch is kept (LaunchDataRecord, jsonb) and its identifiers are stored as sent:
    # PostgreSQL refuses NUL, lone surrogates and Infinity (a 500). Only names and titles may
    # lose a NUL; anything else is refused with a 400, and nothing is created.
    users = User.objects.count()
    resp = registered.launch(Client(), sub="t-1", roles=[INSTRUCTOR], mutate=mutate)
    assert resp.status_code == 400, resp.content[:300]
    assert "cannot store" in resp.content.decode()
    assert User.objects.count() == users and LtiContext.objects.count() == 0


def test_the_deployment_id_is_kept_as_sent(registered):
    # It identifies the deployment to the platform's services: trimming it would name another.
    from eduai.lti.models import Deployment, Platform

    Deployment.objects.create(platform=Platform.objects.get(), deployment_id=" deployment 2 ")
    resp = registered.launch(
        Client(), sub="t-1", roles=[INSTRUCTOR], mutate=_set([LTI + "deployment_id"], " deployment 2 ")
    )
    assert resp.status_code == 302, resp.content[:300]
    assert LtiContext.objects.get().deployment_id == " deployment 2 "
