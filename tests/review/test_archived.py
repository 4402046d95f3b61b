"""The review loop in an archived course (``Course.is_active=False``, docs/courses.md): its staff
still read the queue, every essay and the agreement figures, but grades, releases and the release
policy change only by the school's admins, as on /api/v1/grading/."""

from __future__ import annotations

import pytest
from django.urls import reverse

from eduai.courses.models import ReleasePolicy, SubmissionStatus
from grading.models import TeacherGrade
from grading.review.models import EventKind, GradeRelease, ReviewEvent

pytestmark = pytest.mark.django_db

NOTICE = "This course is archived."


def _archive(course) -> None:
    course.is_active = False
    course.save(update_fields=["is_active"])


@pytest.fixture
def waiting(rw, make_sub, propose):
    """A scored essay waiting for review, then the course is archived."""
    sub = make_sub()
    p = propose(sub, 4)
    _archive(rw.world.course)
    return sub, p


def _state(sub) -> tuple:
    sub.refresh_from_db()
    return sub.status, sub.final_score, TeacherGrade.objects.filter(submission=sub).exists()


@pytest.mark.parametrize("who", ["teacher", "ta"])
def test_staff_read_an_archived_courses_review_pages_with_the_form_disabled(client, rw, waiting, who):
    sub, _p = waiting
    client.force_login(getattr(rw.world, who))
    course = rw.world.course.pk
    queue = client.get(reverse("review:queue", args=[course]))
    assert queue.status_code == 200 and NOTICE in queue.content.decode()
    assert f'id="submission-{sub.pk}"' in queue.content.decode()
    page = client.get(reverse("review:item", args=[course, sub.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and NOTICE in html and "only the school's admins can change it" in html
    # the form is shown (what was proposed, what the student would see) but cannot be sent
    assert '<fieldset class="decision" disabled>' in html
    agreement = client.get(reverse("review:agreement", args=[course])).content.decode()
    assert NOTICE in agreement and 'type="submit">Save</button>' not in agreement


@pytest.mark.parametrize("who", ["teacher", "ta"])
def test_staff_cannot_grade_or_release_on_the_pages_of_an_archived_course(client, rw, waiting, who):
    sub, p = waiting
    client.force_login(getattr(rw.world, who))
    url = reverse("review:decide", args=[rw.world.course.pk, sub.pk])
    for data in (
        {"action": "accept", "prediction": p.pk, "revision": 0, "release": "on"},
        {"action": "override", "score": "2", "prediction": p.pk, "revision": 0, "release": "on"},
        {"action": "release", "prediction": p.pk, "revision": 0, "release": "on"},
    ):
        response = client.post(url, data)
        assert response.status_code == 403
        assert NOTICE in response.content.decode()  # the page again, saying why; nothing is stored
    assert _state(sub) == (SubmissionStatus.SCORED, None, False)
    assert not GradeRelease.objects.filter(submission=sub).exists()


def test_a_teacher_cannot_change_the_release_policy_of_an_archived_course(client, rw, waiting):
    client.force_login(rw.world.teacher)
    url = reverse("review:policy", args=[rw.world.course.pk, rw.assignment.pk])
    data = {"release_policy": "auto_release_confident", "auto_release_max_interval": "1.5",
            "auto_release_min_qwk": "0.75"}  # fmt: skip
    assert client.post(url, data).status_code == 403
    rw.assignment.refresh_from_db()
    assert rw.assignment.release_policy == "review_all"


def test_a_school_admin_still_grades_releases_and_sets_the_policy_there(client, rw, waiting):
    sub, p = waiting
    client.force_login(rw.world.admin)
    course = rw.world.course.pk
    html = client.get(reverse("review:item", args=[course, sub.pk])).content.decode()
    assert "as a school admin you can still change it" in html and 'class="decision" disabled' not in html
    posted = client.post(reverse("review:decide", args=[course, sub.pk]),
                         {"action": "accept", "prediction": p.pk, "revision": 0, "release": "on"})  # fmt: skip
    assert posted.status_code == 302
    assert _state(sub) == (SubmissionStatus.RELEASED, 4, True)
    url = reverse("review:policy", args=[course, rw.assignment.pk])
    data = {"release_policy": "auto_release_confident", "auto_release_max_interval": "1.5",
            "auto_release_min_qwk": "0.75"}  # fmt: skip
    assert client.post(url, data).status_code == 302
    rw.assignment.refresh_from_db()
    assert rw.assignment.release_policy == "auto_release_confident"


@pytest.mark.parametrize("who", ["teacher", "ta"])
def test_staff_read_but_cannot_decide_over_the_api_in_an_archived_course(api_as, rw, waiting, who):
    sub, p = waiting
    client = api_as(getattr(rw.world, who))
    assert client.get(reverse("review-api-queue", args=[rw.world.course.pk])).status_code == 200
    assert client.get(reverse("review-api-item", args=[sub.pk])).status_code == 200
    for name, body in (
        ("review-api-accept", {"prediction": p.pk}),
        ("review-api-override", {"score": 2}),
        ("review-api-release", {}),
    ):
        response = client.post(reverse(name, args=[sub.pk]), body, format="json")
        assert response.status_code == 403, name
        assert response.json()["detail"] == "This course is archived: only its school's admins can change it."
    assert _state(sub) == (SubmissionStatus.SCORED, None, False)


def test_a_school_admin_still_decides_over_the_api_in_an_archived_course(api_as, rw, waiting):
    sub, _p = waiting
    admin = api_as(rw.world.admin)
    assert admin.post(reverse("review-api-override", args=[sub.pk]), {"score": 2}, format="json").status_code == 200
    assert _state(sub) == (SubmissionStatus.RELEASED, 2, True)


def test_an_active_courses_review_pages_carry_no_archive_notice(client, rw, make_sub, propose):
    sub = make_sub()
    propose(sub, 4)
    client.force_login(rw.world.teacher)
    html = client.get(reverse("review:item", args=[rw.world.course.pk, sub.pk])).content.decode()
    assert NOTICE not in html and 'class="decision" disabled' not in html


def test_a_proposal_arriving_after_archiving_waits_instead_of_being_released_by_the_policy(rw, make_sub, propose):
    # given work handed in before the course was archived, under the auto-release policy
    rw.assignment.release_policy = ReleasePolicy.AUTO_RELEASE_CONFIDENT
    rw.assignment.auto_release_max_interval = 2.0
    rw.assignment.auto_release_min_qwk = 0.5
    rw.assignment.save()
    sub = make_sub()
    _archive(rw.world.course)
    # when the model's confident proposal comes in
    propose(sub, 4, 3.6, 4.4)
    # then it waits for a school admin: no grade changes in an archived course by the policy either
    assert _state(sub) == (SubmissionStatus.SCORED, None, False)
    assert not GradeRelease.objects.filter(submission=sub).exists()
    assert ReviewEvent.objects.get(submission=sub, kind=EventKind.PROPOSED).detail["auto_release"] == (
        "the course is archived"
    )
