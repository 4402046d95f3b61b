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
