"""LTI and an archived course (``Course.is_active=False``, docs/courses.md): a launch still lets
the course's members in, read-only, with the role they had in EduAI; it enrols no one, changes no
role and does not rename the course. Roster sync (NRPS) skips the course and says so; deep linking
creates no assignment in it."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from eduai.courses.models import Assignment, Course, Enrollment, Role, SchoolMembership
from eduai.lti.models import LtiContext, LtiUser
from eduai.lti.services import roster_sync
from eduai.lti.tasks import sync_all_rosters, sync_roster
from tests.factories import UserFactory

from . import conftest
from .platform import INSTRUCTOR, LEARNER

REFUSAL = "This course is archived"


def _course_with_members(sim) -> Course:
    """The LMS course launched by its teacher and a student, then archived in EduAI."""
    assert sim.launch(Client(), sub="teacher-1", roles=[INSTRUCTOR]).status_code == 302
    assert sim.launch(Client(), sub="student-1", roles=[LEARNER]).status_code == 302
    course = LtiContext.objects.get(context_id="ctx-1").course
    course.is_active = False
    course.title = "English Composition (2025)"
    course.save(update_fields=["is_active", "title"])
    return course


def _roster(course) -> dict[str, tuple[str, bool]]:
    return {
        e.user.lti_identities.get().sub: (e.role, e.is_active)
        for e in Enrollment.objects.filter(course=course).select_related("user")
    }


def test_members_still_launch_into_an_archived_course_with_their_eduai_role(registered):
    sim = registered
    course = _course_with_members(sim)
    before = _roster(course)
    # the student, now an instructor in the LMS, still lands on the student's course page
    student = sim.launch(Client(), sub="student-1", roles=[INSTRUCTOR])
    assert student.status_code == 302 and student["Location"] == f"/courses/{course.pk}/"
    teacher = Client()
    response = sim.launch(teacher, sub="teacher-1", roles=[INSTRUCTOR])
    assert response.status_code == 302 and response["Location"] == f"/review/courses/{course.pk}/"
    # and reads the course, read-only
    page = teacher.get(response["Location"])
    assert page.status_code == 200 and "This course is archived." in page.content.decode()
    assert _roster(course) == before == {"teacher-1": (Role.TEACHER, True), "student-1": (Role.STUDENT, True)}
    course.refresh_from_db()
    assert course.title == "English Composition (2025)"  # the LMS's title does not rename it


@pytest.mark.parametrize("sub", ["newcomer", "leaver"])
def test_nobody_joins_an_archived_course_through_a_launch(registered, sub):
    sim = registered
    if sub == "leaver":
        assert sim.launch(Client(), sub="leaver", roles=[LEARNER]).status_code == 302
    course = _course_with_members(sim)
    Enrollment.objects.filter(user__lti_identities__sub="leaver").update(is_active=False)
    before = _roster(course)
    response = sim.launch(Client(), sub=sub, roles=[LEARNER])
    assert response.status_code == 403
    assert REFUSAL in response.content.decode()
    assert _roster(course) == before
    # a refused launch creates nothing: a newcomer is not even a user
    assert LtiUser.objects.filter(sub="newcomer").exists() is False


def test_roster_sync_skips_an_archived_course_and_says_so(registered):
    sim = registered
    course = _course_with_members(sim)
    before = _roster(course)
    sim.members["ctx-1"] = [
        {"user_id": "teacher-1", "roles": [INSTRUCTOR], "status": "Active"},
        {"user_id": "s-new", "roles": [LEARNER], "status": "Active"},
    ]
    context = LtiContext.objects.get(context_id="ctx-1")
    result = roster_sync(context_pk=context.pk)
    assert result.archived and (result.active, result.deactivated, result.skipped) == (0, 0, 0)
    assert sync_roster.apply(args=[context.pk]).get() == {"active": 0, "deactivated": 0, "skipped": 0, "archived": 1}
    assert _roster(course) == before and not LtiUser.objects.filter(sub="s-new").exists()
    assert LtiContext.objects.get(pk=context.pk).roster_synced_at is None
    # the scheduled sync does not even queue it
    assert sync_all_rosters.apply().get() == 0


def test_deep_linking_creates_no_assignment_in_an_archived_course(registered):
    sim = registered
    course = _course_with_members(sim)
    kept = Assignment.objects.create(course=course, title="Old essay", prompt="Write.", min_score=0, max_score=6)
    client = Client()
    page = sim.launch(client, sub="teacher-1", roles=[INSTRUCTOR], message_type="LtiDeepLinkingRequest")
    html = page.content.decode()
    assert page.status_code == 200 and REFUSAL in html and "Old essay" in html
    assert 'name="title"' not in html  # no "create" form: only picking an existing assignment
    created = client.post(
        f"/lti/deep-link/{conftest.launch_id_from(html)}/",
        {"action": "create", "title": "New essay", "prompt": "Write more.", "min_score": "0", "max_score": "6"},
    )
    assert created.status_code == 403 and REFUSAL in created.content.decode()
    assert list(Assignment.objects.filter(course=course)) == [kept]
    # picking the existing one still works (a link in the LMS; nothing changes in EduAI)
    picked = client.post(f"/lti/deep-link/{conftest.launch_id_from(html)}/", {"action": "pick", "assignment": kept.pk})
    assert picked.status_code == 200


def test_sync_the_roster_now_in_the_admin_skips_an_archived_course_and_says_so(registered, client, monkeypatch):
    sim = registered
    course = _course_with_members(sim)
    queued: list[int] = []
    monkeypatch.setattr(sync_roster, "delay", queued.append)
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    context = LtiContext.objects.get(course=course)
    response = client.post("/admin/lti/lticontext/", {"action": "sync_roster", "_selected_action": [context.pk]})
    assert response.status_code == 302 and queued == []
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert shown == ["Roster sync queued. 1 archived course(s) skipped: their roster is frozen."]


def _school_admin(sim, world, sub: str):
    """An LMS user who is one of the school's EduAI admins (they came in through another LMS course)."""
    assert sim.launch(Client(), sub=sub, roles=[LEARNER], context_id="ctx-2").status_code == 302
    user = LtiUser.objects.get(sub=sub).user
    SchoolMembership.objects.filter(user=user, school=world.school).update(is_admin=True)
    return user


@pytest.mark.parametrize(
    ("roles", "lands_on"), [([INSTRUCTOR], "/review/courses/{pk}/"), ([LEARNER], "/courses/{pk}/")]
)
def test_a_school_admin_reads_an_archived_course_through_a_launch_without_being_enrolled(
    registered, world, roles, lands_on
):
    """Admins read every course of their school without an enrolment (access.course_role); a
    launch into an archived course enrols nobody, admins included."""
    sim = registered
    course = _course_with_members(sim)
    admin = _school_admin(sim, world, "admin-1")
    before = _roster(course)
    client = Client()
    response = sim.launch(client, sub="admin-1", roles=roles)
    assert response.status_code == 302 and response["Location"] == lands_on.format(pk=course.pk)
    page = client.get(response["Location"])
    assert page.status_code == 200 and "This course is archived." in page.content.decode()
    assert _roster(course) == before
    assert not Enrollment.objects.filter(course=course, user=admin).exists()


def test_a_school_admin_who_is_a_member_keeps_their_enrolment_as_it_was(registered, world):
    sim = registered
    assert sim.launch(Client(), sub="admin-1", roles=[LEARNER]).status_code == 302
    assert sim.launch(Client(), sub="admin-2", roles=[LEARNER]).status_code == 302
    course = _course_with_members(sim)
    for sub in ("admin-1", "admin-2"):
        SchoolMembership.objects.filter(user__lti_identities__sub=sub, school=world.school).update(is_admin=True)
    Enrollment.objects.filter(course=course, user__lti_identities__sub="admin-2").update(is_active=False)
    before = _roster(course)
    assert before["admin-1"] == (Role.STUDENT, True) and before["admin-2"] == (Role.STUDENT, False)
    # an LMS instructor now: the EduAI role stays, and a left member is not brought back
    assert sim.launch(Client(), sub="admin-1", roles=[INSTRUCTOR]).status_code == 302
    assert sim.launch(Client(), sub="admin-2", roles=[INSTRUCTOR]).status_code == 302
    assert _roster(course) == before


def test_a_school_admin_launch_into_a_current_course_enrols_as_usual(registered, world):
    sim = registered
    _course_with_members(sim)
    admin = _school_admin(sim, world, "admin-1")
    assert sim.launch(Client(), sub="admin-1", roles=[INSTRUCTOR], context_id="ctx-3").status_code == 302
    current = LtiContext.objects.get(context_id="ctx-3").course
    assert Enrollment.objects.get(course=current, user=admin).role == Role.TEACHER
