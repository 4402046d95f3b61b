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
