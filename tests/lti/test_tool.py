"""Role mapping, the tool's keys and their rotation, roster sync (NRPS), dynamic registration."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from eduai.courses.models import Enrollment, Role
from eduai.lti.models import Deployment, LtiContext, LtiUser, Platform, RegistrationOrigin, ToolKey
from eduai.lti.roles import role_from_lti
from eduai.lti.services import LtiRefused, invite_create, outbox_send, roster_sync
from eduai.lti.tasks import sync_all_rosters
from tests.factories import UserFactory

from .platform import INSTRUCTOR, LEARNER, MENTOR, TA

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ([LEARNER], Role.STUDENT),
        ([INSTRUCTOR], Role.TEACHER),
        ([TA], Role.TA),
        ([INSTRUCTOR, TA], Role.TEACHER),
        ([LEARNER, TA], Role.TA),
        (["Instructor"], Role.TEACHER),  # deprecated short name, still allowed by LTI 1.3
        (["Learner"], Role.STUDENT),
        ([MEMBERSHIP + "ContentDeveloper"], Role.TEACHER),
        (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"], Role.TEACHER),
        (["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"], None),
        ([MENTOR], None),
        ([], None),
        ([42, None], None),
    ],
)
def test_lti_roles_map_to_the_strongest_eduai_role(roles, expected):
    assert role_from_lti(roles) == expected


def test_jwks_publishes_public_keys_only(db):
    keys = Client().get("/lti/jwks/").json()["keys"]
    assert len(keys) == 1
    (key,) = keys
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig" and key["kid"]
    assert "d" not in key and "p" not in key  # no private parts


def test_key_rotation_does_not_break_a_platform_that_caches_our_jwks(registered, django_capture_on_commit_callbacks):
    """Stage -> the platform refreshes its cache as usual -> promote -> grade pass-back still verifies."""
    from .test_story import _deep_link_new_assignment, _release, _student_submits

    sim = registered
    link, assignment = _deep_link_new_assignment(sim, Client())
    _, _, submission = _student_submits(sim, Client(), link, assignment, django_capture_on_commit_callbacks)
    old_kid = ToolKey.objects.get(status="active").kid

    call_command("lti_rotate_key", "stage", stdout=open("/dev/null", "w"))
    published = {k["kid"] for k in Client().get("/lti/jwks/").json()["keys"]}
    assert len(published) == 2 and old_kid in published
    sim.learn_tool_keys(Client())  # the platform's routine refresh of its cached key set

    call_command("lti_rotate_key", "promote", stdout=open("/dev/null", "w"))
    new_kid = ToolKey.objects.get(status="active").kid
    assert new_kid != old_kid
    _release(django_capture_on_commit_callbacks, submission, 6, None)
    # the token request was signed with the new key, and the platform accepted it
    assert [s["scoreGiven"] for s in sim.scores_for(link["lineitem"])] == [6]

    call_command("lti_rotate_key", "retire", stdout=open("/dev/null", "w"))
    assert {k["kid"] for k in Client().get("/lti/jwks/").json()["keys"]} == {new_kid}


def test_platform_that_never_learned_the_new_key_rejects_and_the_post_waits(
    registered, django_capture_on_commit_callbacks
):
    """Why staging matters: promoting a key the platform has not seen fails the post (401) —
    and the outbox keeps the score rather than losing it."""
    from .test_story import _deep_link_new_assignment, _release, _student_submits

    sim = registered
    link, assignment = _deep_link_new_assignment(sim, Client())
    _, _, submission = _student_submits(sim, Client(), link, assignment, django_capture_on_commit_callbacks)
    call_command("lti_rotate_key", "promote", stdout=open("/dev/null", "w"))
    _release(django_capture_on_commit_callbacks, submission, 2, None)
    assert sim.scores_for(link["lineitem"]) == []
    sim.learn_tool_keys(Client())
    from eduai.lti.models import GradeOutbox

    # a 401 waits for a retry (the platform may refresh its key cache); "retry now" resends at once
    row = GradeOutbox.objects.get()
    assert row.status == "pending" and row.attempts == 1 and "401" in row.last_error
    from eduai.lti.services import outbox_retry

    outbox_retry(outbox_ids=[row.pk])
    assert outbox_send()["sent"] == 1
    assert [s["scoreGiven"] for s in sim.scores_for(link["lineitem"])] == [2]


def _launch_course(sim) -> LtiContext:
    resp = sim.launch(Client(), sub="teacher-1", roles=[INSTRUCTOR])
    assert resp.status_code == 302
    return LtiContext.objects.get(context_id="ctx-1")


def test_roster_sync_enrols_members_and_deactivates_leavers(registered):
    sim = registered
    context = _launch_course(sim)
    leaver = sim.launch(Client(), sub="old-student", roles=[LEARNER])
    assert leaver.status_code == 302
    native = UserFactory(username="native")
    Enrollment.objects.create(course=context.course, user=native, role=Role.STUDENT)
    sim.members["ctx-1"] = [
        {"user_id": "teacher-1", "roles": [INSTRUCTOR], "status": "Active", "name": "Grace Hopper"},
        {"user_id": "s-1", "roles": [LEARNER], "status": "Active", "name": "Ada Lovelace", "email": "ada@x.org"},
        {"user_id": "s-2", "roles": [LEARNER], "name": "Alan Turing"},
        {"user_id": "ta-1", "roles": [TA], "status": "Active", "name": "Tim Berners"},
        {"user_id": "mentor-1", "roles": [MENTOR], "status": "Active"},
        {"user_id": "gone-1", "roles": [LEARNER], "status": "Inactive"},
    ]

    result = roster_sync(context_pk=context.pk)

    assert (result.active, result.skipped) == (4, 1)
    roles = {
        e.user.lti_identities.get().sub: (e.role, e.is_active)
        for e in Enrollment.objects.filter(course=context.course).exclude(user=native)
    }
    assert roles["s-1"] == (Role.STUDENT, True) and roles["s-2"] == (Role.STUDENT, True)
    assert roles["ta-1"] == (Role.TA, True) and roles["teacher-1"] == (Role.TEACHER, True)
    assert roles["old-student"] == (Role.STUDENT, False)  # left the LMS course
    assert "gone-1" not in roles  # inactive in the LMS: known, not enrolled
    assert "mentor-1" not in roles
    assert Enrollment.objects.get(course=context.course, user=native).is_active  # EduAI's own stays
    assert LtiUser.objects.get(sub="s-1").user.email == "ada@x.org"
    assert LtiContext.objects.get(pk=context.pk).roster_synced_at is not None


def test_scheduled_roster_sync_is_in_the_beat_schedule_and_runs(registered):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"eduai.lti.tasks.sync_all_rosters", "eduai.lti.tasks.send_outbox"} <= tasks
    sim = registered
    _launch_course(sim)
    sim.members["ctx-1"] = [{"user_id": "s-1", "roles": [LEARNER], "status": "Active"}]
    assert sync_all_rosters.apply().get() == 1
    assert LtiUser.objects.filter(sub="s-1").exists()


def test_roster_sync_without_nrps_says_so(registered):
    context = _launch_course(registered)
    LtiContext.objects.filter(pk=context.pk).update(memberships_url="")
    with pytest.raises(LtiRefused, match="Names and Role"):
        roster_sync(context_pk=context.pk)


def test_dynamic_registration_registers_the_platform_once(sim, world):
    _, token = invite_create(school_id=world.school.pk, name="Moodle of North High", created_by_id=None)
    params = {
        "openid_configuration": sim.base + "/.well-known/openid-configuration",
        "registration_token": "reg-token-1",
    }
    resp = Client().get(f"/lti/register/{token}/", params)
    assert resp.status_code == 200, resp.content[:500]
    assert "org.imsglobal.lti.close" in resp.content.decode()
    platform = Platform.objects.get(client_id="dyn-client-7")
    assert platform.issuer == sim.issuer and platform.school == world.school
    assert platform.origin == RegistrationOrigin.DYNAMIC and platform.key_set_url == sim.jwks_url
    assert Deployment.objects.filter(platform=platform, deployment_id="dyn-deployment-1").exists()
    (sent,) = sim.registrations
    assert sent["initiate_login_uri"] == "http://testserver/lti/login/"
    assert sent["jwks_uri"] == "http://testserver/lti/jwks/"
    assert sent["redirect_uris"] == ["http://testserver/lti/launch/"]

    again = Client().get(f"/lti/register/{token}/", params)
    assert again.status_code == 403
    assert Platform.objects.count() == 1


@pytest.mark.parametrize(
    ("token_ok", "params", "status"),
    [
        (False, {"openid_configuration": "{base}/.well-known/openid-configuration"}, 403),
        (True, {}, 400),
        (True, {"openid_configuration": "{base}/nothing-here"}, 502),
        (True, {"openid_configuration": "file:///etc/passwd"}, 400),
    ],
)
def test_bad_dynamic_registration_is_refused(sim, world, token_ok, params, status):
    _, token = invite_create(school_id=world.school.pk, name="x", created_by_id=None)
    params = {k: v.format(base=sim.base) for k, v in params.items()}
    resp = Client().get(f"/lti/register/{token if token_ok else 'wrong-token'}/", params)
    assert resp.status_code == status
    assert Platform.objects.count() == 0


def test_canvas_json_configuration_lists_our_urls(db):
    conf = Client().get("/lti/canvas.json").json()
    assert conf["oidc_initiation_url"] == "http://testserver/lti/login/"
    assert conf["public_jwk_url"] == "http://testserver/lti/jwks/"
    placements = conf["extensions"][0]["settings"]["placements"]
    assert {
        "placement": "assignment_selection",
        "message_type": "LtiDeepLinkingRequest",
        "target_link_uri": "http://testserver/lti/launch/",
    } in placements
