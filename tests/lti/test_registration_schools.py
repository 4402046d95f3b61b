"""Dynamic registration and schools: an invite of one school cannot take over the platform
registration of another."""

from __future__ import annotations

import pytest

from .test_hunt_input import _register

pytestmark = pytest.mark.django_db


def _existing(sim, school, key_set_url):
    """A registration with the (issuer, client id) the simulated platform answers with."""
    from eduai.lti.models import Platform

    return Platform.objects.create(
        name="Theirs",
        school=school,
        issuer=sim.issuer,
        client_id="dyn-client-7",
        auth_login_url=sim.auth_login_url,
        auth_token_url=sim.token_url,
        key_set_url=key_set_url,
    )


def test_an_invite_cannot_take_over_another_schools_registration(sim, world):
    # given the other school's registration of a platform
    theirs = _existing(sim, world.other_school, "https://lms.other.example/jwks")
    # when an admin of this school registers a platform that answers with the same issuer and
    # client id (a platform can say anything about itself)
    resp = _register(sim, world, lambda conf, base: conf)
    # then it is refused, and the other school's platform, its school and its keys are untouched
    assert resp.status_code == 409, resp.content[:300]
    assert "another school" in resp.content.decode()
    theirs.refresh_from_db()
    assert (theirs.school_id, theirs.key_set_url, theirs.name) == (
        world.other_school.pk,
        "https://lms.other.example/jwks",
        "Theirs",
    )


def test_the_same_school_registering_again_updates_its_own(sim, world):
    # given this school's registration, with an old key set address
    ours = _existing(sim, world.school, "https://old.example/jwks")
    # when the same platform registers again through an invite of this school
    resp = _register(sim, world, lambda conf, base: conf)
    # then its registration is updated in place
    assert resp.status_code == 200, resp.content[:300]
    ours.refresh_from_db()
    assert ours.school_id == world.school.pk and ours.key_set_url == sim.jwks_url
