"""Odd values from the LMS side (custom parameters, the deep-linking form) found in a bug hunt:
each is a 4xx with a message, never a 500, and creates nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from eduai.courses.models import Assignment

from .conftest import launch_id_from
from .platform import INSTRUCTOR, LEARNER


@pytest.mark.parametrize(
    "post",
    [
        {"action": "pick", "assignment": "²"},  # str.isdigit() says yes, int() says no
        {"action": "pick", "assignment": "99999999999999999999999"},
        {"action": "create", "title": "T", "prompt": "P", "min_score": "0", "max_score": "99999999999999999999"},
        {"action": "create", "title": "T", "prompt": "P", "min_score": "-99999999999999999999", "max_score": "4"},
    ],
)
def test_deep_linking_form_refuses_odd_numbers_with_a_400(registered, post):
    sim = registered
    client = Client()
    page = sim.launch(client, sub="teacher-1", roles=[INSTRUCTOR], message_type="LtiDeepLinkingRequest")
    before = Assignment.objects.count()
    bad = client.post(f"/lti/deep-link/{launch_id_from(page.content.decode())}/", post)
    assert bad.status_code == 400
    assert Assignment.objects.count() == before


@pytest.mark.parametrize("value", ["²", "٣", "99999999999999999999999"])
def test_a_custom_assignment_id_that_is_not_an_id_is_refused(registered, value):
    resp = registered.launch(Client(), sub="student-9", roles=[LEARNER], custom={"eduai_assignment_id": value})
    assert resp.status_code in (400, 404)
    assert "assignment" in resp.content.decode()


def test_a_sub_longer_than_openid_allows_is_refused_and_creates_nothing(registered):
    # OpenID Connect Core 2: sub "MUST NOT exceed 255 ASCII characters"; LtiUser.sub holds 255,
    # so a longer one failed on save on PostgreSQL (a 500) and was stored whole on SQLite.
    from eduai.accounts.models import User

    before = User.objects.count()
    resp = registered.launch(Client(), sub="s" * 256, roles=[LEARNER])
    assert resp.status_code == 400
    assert "sub" in resp.content.decode()
    assert User.objects.count() == before


def test_roster_sync_skips_a_member_whose_user_id_is_longer_than_a_sub_may_be(registered):
    from eduai.lti.models import LtiContext, LtiUser
    from eduai.lti.services import roster_sync

    sim = registered
    assert sim.launch(Client(), sub="teacher-1", roles=[INSTRUCTOR]).status_code == 302
    context = LtiContext.objects.get()
    sim.members[context.context_id] = [
        {"user_id": "s-1", "roles": [LEARNER], "status": "Active"},
        {"user_id": "x" * 256, "roles": [LEARNER], "status": "Active"},
    ]
    result = roster_sync(context_pk=context.pk)
    assert (result.active, result.skipped) == (1, 1)
    assert not LtiUser.objects.filter(sub__startswith="xxx").exists()


def _tweak(key, value):
    def change(conf, base):
        conf[key] = value.format(base=base) if isinstance(value, str) else value
        return conf

    return change


def _register(sim, world, change):
    from eduai.lti.services import invite_create

    _, token = invite_create(school_id=world.school.pk, name="x", created_by_id=None)
    good = sim.openid_configuration
    sim.openid_configuration = lambda: change(good(), sim.base)
    params = {
        "openid_configuration": sim.base + "/.well-known/openid-configuration",
        "registration_token": "reg-token-1",
    }
    return Client().get(f"/lti/register/{token}/", params)


@pytest.mark.parametrize(
    "change",
    [
        _tweak("https://purl.imsglobal.org/spec/lti-platform-configuration", "not an object"),
        _tweak("scopes_supported", 5),
        _tweak("scopes_supported", [{"not": "a scope"}, ["nested"]]),  # set() of these: TypeError
        _tweak("authorization_server", ["not", "text"]),
    ],
)
def test_an_optional_configuration_member_of_the_wrong_shape_is_ignored(sim, world, change):
    from eduai.lti.models import Platform

    resp = _register(sim, world, change)
    assert resp.status_code == 200, resp.content[:300]
    platform = Platform.objects.get()
    assert platform.auth_audience == "" and platform.product_family_code in ("", "simlms")


@pytest.mark.parametrize(
    "change",
    [
        _tweak("issuer", "{base}/" + "i" * 300),  # Platform.issuer holds 255
        _tweak("jwks_uri", "{base}/" + "k" * 600),  # the URLs hold 500
        _tweak("token_endpoint", "{base}/" + "t" * 600),
    ],
)
def test_a_configuration_value_too_long_to_store_is_refused(sim, world, change):
    from eduai.lti.models import Platform

    resp = _register(sim, world, change)
    assert resp.status_code == 502, resp.content[:300]
    assert Platform.objects.count() == 0


@pytest.mark.parametrize(
    ("key", "value"),
    [("client_id", "c" * 256), ("deployment_id", "d" * 256)],  # Platform.client_id, Deployment.deployment_id: 255
)
def test_a_registration_answer_too_long_to_store_is_refused(sim, world, key, value):
    from eduai.lti.models import Deployment, Platform

    handle = sim.handle

    def answer(method, path, query, headers, body):
        status, payload, extra = handle(method, path, query, headers, body)
        if path == "/register" and status == 200:
            if key == "client_id":
                payload["client_id"] = value
            else:
                payload["https://purl.imsglobal.org/spec/lti-tool-configuration"]["deployment_id"] = value
        return status, payload, extra

    sim.handle = answer
    resp = _register(sim, world, lambda conf, base: conf)
    assert resp.status_code == 502, resp.content[:300]
    assert Platform.objects.count() == 0 and Deployment.objects.count() == 0


def test_request_values_with_a_nul_are_not_looked_up(registered, django_assert_num_queries):
    # PostgreSQL refuses a NUL even as a query parameter (psycopg DataError: a 500): the launch's
    # state field and the login's issuer/client id reach lookups before anything is verified.
    from eduai.lti.tool import DbLaunchDataStorage, DbToolConf

    storage, conf = DbLaunchDataStorage(), DbToolConf()
    with django_assert_num_queries(0):
        assert storage.get_value("state-\x00") is None
        assert not storage.check_value("state-\x00")
        assert not storage.consume("state-\x00")
        assert conf.find_registration_by_params(registered.issuer + "\x00", registered.client_id) is None
        assert conf.find_registration_by_params(registered.issuer, registered.client_id + "\x00") is None
        assert conf.find_registration_by_issuer("\x00") is None
    resp = Client().post("/lti/launch/", {"id_token": "a.b.c", "state": "st\x00ate"})
    assert resp.status_code == 400
    login = {"iss": registered.issuer + "\x00", "login_hint": "h", "target_link_uri": "http://testserver/lti/launch/"}
    resp = Client().post("/lti/login/", {**login, "client_id": registered.client_id})
    assert 400 <= resp.status_code < 500
