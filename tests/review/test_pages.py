"""The review pages as a teacher and a student use them (plain forms, no JavaScript)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from eduai.courses.models import SubmissionStatus
from grading.models import TeacherGrade
from grading.review.models import GradeRelease
from tests import factories as f

pytestmark = pytest.mark.django_db


def _client(client, user):
    client.force_login(user)
    return client


def _queue_order(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr id="submission-(\d+)"', html)]


def test_queue_lists_waiting_proposals_least_confident_first(client, rw, make_sub, propose):
    # given three proposals with intervals of widths 1, 4 and 2.5
    narrow, wide, middle = make_sub(), make_sub(), make_sub()
    propose(narrow, 3, 2.5, 3.5)
    propose(wide, 3, 1.0, 5.0)
    propose(middle, 4, 2.5, 5.0)
    decided = make_sub()
    p = propose(decided, 2, 0.0, 6.0)
    from grading.review import api as review

    review.review_accept(submission_id=decided.pk, user_id=rw.world.teacher.pk, prediction_id=p.pk)
    # when the teacher opens the queue
    response = _client(client, rw.world.teacher).get(reverse("review:queue", args=[rw.world.course.pk]))
    # then the waiting ones are listed widest interval first; the decided one is not waiting
    assert response.status_code == 200
    assert _queue_order(response.content.decode()) == [wide.pk, middle.pk, narrow.pk]
    # and the released filter shows the decided one
    released = client.get(reverse("review:queue", args=[rw.world.course.pk]), {"status": "released"})
    assert _queue_order(released.content.decode()) == [decided.pk]


def test_queue_filters_by_assignment(client, rw, make_sub, propose):
    other = f.AssignmentFactory(course=rw.world.course, title="Second essay")
    a_sub = make_sub()
    b_sub = make_sub(assignment=other)
    propose(a_sub, 3)
    propose(b_sub, 3)
    response = _client(client, rw.world.ta).get(
        reverse("review:queue", args=[rw.world.course.pk]), {"assignment": other.pk, "status": "waiting"}
    )
    assert _queue_order(response.content.decode()) == [b_sub.pk]


def test_nonsense_filters_fall_back_to_defaults(client, rw, make_sub, propose):
    sub = make_sub()
    propose(sub, 3)
    response = _client(client, rw.world.teacher).get(
        reverse("review:queue", args=[rw.world.course.pk]), {"assignment": "x", "status": "nope", "page": "-3"}
    )
    assert response.status_code == 200 and _queue_order(response.content.decode()) == [sub.pk]


@pytest.mark.parametrize("who", ["student", "other_teacher", "other_admin"])
def test_people_outside_the_course_staff_cannot_see_the_queue_or_an_essay(client, rw, make_sub, propose, who):
    sub = make_sub()
    propose(sub, 3)
    c = _client(client, getattr(rw.world, who))
    assert c.get(reverse("review:queue", args=[rw.world.course.pk])).status_code == 404
    assert c.get(reverse("review:item", args=[rw.world.course.pk, sub.pk])).status_code == 404
    post = c.post(reverse("review:decide", args=[rw.world.course.pk, sub.pk]), {"action": "override", "score": 6,
                                                                                  "revision": 0})  # fmt: skip
    assert post.status_code == 404
    sub.refresh_from_db()
    assert sub.final_score is None


def test_review_page_shows_the_essay_proposal_traits_and_feedback(client, rw, make_sub, propose):
    sub = make_sub(text="Rivers shape towns. <b>Mine</b> floods in spring. We rebuild every year.")
    propose(sub, 4, 3.2, 4.8, traits={"Ideas": 4, "Conventions": 1})
    response = _client(client, rw.world.teacher).get(reverse("review:item", args=[rw.world.course.pk, sub.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="proposed-score">4<' in html
    assert "3.2" in html and "4.8" in html
    assert "&lt;b&gt;Mine&lt;/b&gt;" in html and "<b>Mine</b>" not in html  # the essay is escaped
    assert "Ideas is a strength (4 of 4)." in html
    assert "Focus on Conventions next (1 of 4)." in html
    # no model artefact exists in this test: the page says the evidence cannot be computed
    assert "cannot be loaded now" in html


def test_accept_with_one_click_then_the_next_essay_opens(client, rw, make_sub, propose):
    first, second = make_sub(), make_sub()
    p1 = propose(first, 4, 0, 6)
    propose(second, 2, 1, 3)
    c = _client(client, rw.world.teacher)
    page = c.get(reverse("review:item", args=[rw.world.course.pk, first.pk]))
    assert 'id="accept-button"' in page.content.decode()
    response = c.post(
        reverse("review:decide", args=[rw.world.course.pk, first.pk]) + "?status=waiting",
        {"action": "accept", "prediction": p1.pk, "revision": 0, "release": "on", "feedback": ["overall"]},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("review:item", args=[rw.world.course.pk, second.pk]))
    first.refresh_from_db()
    assert (first.status, first.final_score) == (SubmissionStatus.RELEASED, 4)
    assert GradeRelease.objects.get(submission=first).feedback[0]["code"] == "overall-mid"


def test_an_accepted_proposal_is_not_offered_again_but_an_overridden_one_is(client, rw, make_sub, propose):
    accepted, overridden = make_sub(), make_sub()
    pa, po = propose(accepted, 4), propose(overridden, 4)
    c = _client(client, rw.world.teacher)
    for sub, p, data in ((accepted, pa, {"action": "accept"}), (overridden, po, {"action": "override", "score": "2"})):
        posted = c.post(
            reverse("review:decide", args=[rw.world.course.pk, sub.pk]), {**data, "prediction": p.pk, "revision": 0}
        )
        assert posted.status_code == 302
    page = c.get(reverse("review:item", args=[rw.world.course.pk, accepted.pk])).content.decode()
    assert 'id="accept-button"' not in page and 'id="release-button"' in page
    page = c.get(reverse("review:item", args=[rw.world.course.pk, overridden.pk])).content.decode()
    assert 'id="accept-button"' in page and "Change to the proposal (4)" in page


def test_override_form_with_a_bad_score_explains_and_stores_nothing(client, rw, make_sub, propose):
    sub = make_sub()
    p = propose(sub, 4)
    c = _client(client, rw.world.teacher)
    response = c.post(reverse("review:decide", args=[rw.world.course.pk, sub.pk]),
                      {"action": "override", "score": "17", "prediction": p.pk, "revision": 0})  # fmt: skip
    assert response.status_code == 400
    assert "Ensure this value is less than or equal to 6." in response.content.decode()
    response = c.post(reverse("review:decide", args=[rw.world.course.pk, sub.pk]),
                      {"action": "override", "score": "", "prediction": p.pk, "revision": 0})  # fmt: skip
    assert response.status_code == 400 and "Enter your score" in response.content.decode()
    assert not TeacherGrade.objects.filter(submission=sub).exists()


def test_override_via_the_form_and_a_stale_second_form_is_refused(client, rw, make_sub, propose):
    sub = make_sub()
    p = propose(sub, 4)
    c = _client(client, rw.world.teacher)
    url = reverse("review:decide", args=[rw.world.course.pk, sub.pk])
    ok = c.post(url, {"action": "override", "score": "2", "trait_0": "1", "trait_1": "", "comment": "See me.",
                      "model_mistake": "on", "prediction": p.pk, "revision": 0, "release": "on"})  # fmt: skip
    assert ok.status_code == 302
    stale = c.post(url, {"action": "accept", "prediction": p.pk, "revision": 0, "release": "on"})
    assert stale.status_code == 409 and "Someone else decided" in stale.content.decode()
    grade = TeacherGrade.objects.get(submission=sub)
    assert (grade.score, grade.trait_scores, grade.comment) == (2, {"Ideas": 1}, "See me.")


def test_student_sees_only_released_grades_with_the_released_feedback(client, rw, make_sub, propose):
    waiting, decided = make_sub(), make_sub()
    propose(waiting, 5, 4.9, 5.1)
    pd = propose(decided, 4)
    from grading.review import api as review

    review.review_override(
        submission_id=decided.pk, user_id=rw.world.teacher.pk, score=3, prediction_id=pd.pk, comment="Good start.",
        choice=review.ReleaseChoice(feedback_keys=frozenset({"overall"})),
    )  # fmt: skip
    c = _client(client, rw.world.student)
    listing = c.get(reverse("review:my-grades")).content.decode()
    assert re.search(rf'id="my-{decided.pk}".*?<span class="score">3</span>', listing, re.S)
    assert re.search(rf'id="my-{waiting.pk}".*?not graded yet', listing, re.S)
    page = c.get(reverse("review:my-submission", args=[waiting.pk])).content.decode()
    assert 'id="not-released"' in page and 'class="score' not in page and ">5<" not in page
    page = c.get(reverse("review:my-submission", args=[decided.pk])).content.decode()
    assert 'id="released-score">3<' in page and "Good start." in page
    assert "A solid base to build on (3 of 6)" in page
    assert "is a strength" not in page and "Focus on" not in page  # trait comments were not released
    # another student cannot open it at all
    other = f.UserFactory(username="nosy")
    client.force_login(other)
    assert client.get(reverse("review:my-submission", args=[decided.pk])).status_code == 404


def test_ta_cannot_change_the_release_policy_but_a_teacher_can(client, rw):
    url = reverse("review:policy", args=[rw.world.course.pk, rw.assignment.pk])
    data = {"release_policy": "auto_release_confident", "auto_release_max_interval": "1.5",
            "auto_release_min_qwk": "0.75"}  # fmt: skip
    assert _client(client, rw.world.ta).post(url, data).status_code == 403
    assert _client(client, rw.world.teacher).post(url, {**data, "auto_release_max_interval": "60"}).status_code == 302
    rw.assignment.refresh_from_db()
    assert rw.assignment.release_policy == "review_all"  # 60 points is wider than the 0-6 rubric: refused
    assert client.post(url, data).status_code == 302
    rw.assignment.refresh_from_db()
    assert (rw.assignment.release_policy, rw.assignment.auto_release_max_interval) == ("auto_release_confident", 1.5)


def test_agreement_page_shows_figures_per_assignment(client, rw, make_sub, propose):
    from grading.review import api as review

    for proposed, teacher in [(4, 4), (3, 2), (5, 5)]:
        sub = make_sub()
        p = propose(sub, proposed)
        review.review_override(submission_id=sub.pk, user_id=rw.world.teacher.pk, score=teacher, prediction_id=p.pk)
    html = (
        _client(client, rw.world.teacher).get(reverse("review:agreement", args=[rw.world.course.pk])).content.decode()
    )
    row = re.search(rf'id="assignment-agreement-{rw.assignment.pk}".*?</tr>', html, re.S).group(0)
    assert ">3<" in row and "67%" in row and "100%" in row and "+0.33" in row  # model minus teacher: (0 + 1 + 0) / 3


def test_queue_page_query_count_does_not_grow_with_the_queue(client, rw, make_sub, propose, django_assert_num_queries):
    for _ in range(3):
        propose(make_sub(), 3)
    client.force_login(rw.world.teacher)
    url = reverse("review:queue", args=[rw.world.course.pk])
    client.get(url)  # warm the session
    # session, user, course + access (school admin, enrolment), assignments for the filter,
    # count, rows, proposals, agreement (assignments, grades, proposals)
    with django_assert_num_queries(12):
        assert client.get(url).status_code == 200
    for _ in range(20):
        propose(make_sub(), 4)
    with django_assert_num_queries(12):
        assert len(_queue_order(client.get(url).content.decode())) == 23


def test_review_pages_speak_chinese(client, rw, make_sub, propose):
    sub = make_sub()
    propose(sub, 4)
    rw.world.teacher.language = "zh-hans"
    rw.world.teacher.save(update_fields=["language"])
    c = _client(client, rw.world.teacher)
    queue = c.get(reverse("review:queue", args=[rw.world.course.pk])).content.decode()
    assert "审核队列" in queue and "等待审核" in queue
    page = c.get(reverse("review:item", args=[rw.world.course.pk, sub.pk])).content.decode()
    assert "模型的建议" in page and "采纳 4 分" in page and "Ideas" in page
