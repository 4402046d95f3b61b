"""The recommender in an archived course (``Course.is_active=False``, docs/courses.md): a student
still reads their recommendations, questions and answers, but asks nothing new and sends nothing
to the teacher (nothing new is recorded there); replies and pins/hides change only by the
school's admins. The pages say why, with the forms disabled, instead of a refusal after typing."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from eduai.courses.models import ActivityEvent
from recommender import api
from recommender.models import Question, QuestionStatus, ResourceOverride

API = "/api/v1/recommender/courses/{}/"
NO_NEW_WORK = "This course is archived: nothing new can be submitted or recorded in it."
READ_ONLY = "This course is archived: only its school's admins can change it."
NOTICE = "This course is archived."


@pytest.fixture
def archived(world, maths):
    """An answered question and a question sent to the teacher, then the course is archived."""
    answered = api.ask_course(user=world.student, course_id=maths.course.pk, text="What does per cent mean?")
    sent = Question.objects.create(
        course=maths.course, student=world.student, text="Why is 0.999... equal to 1?", status=QuestionStatus.SENT
    )
    maths.course.is_active = False
    maths.course.save(update_fields=["is_active"])
    return Question.objects.get(pk=answered.question_id), sent


def _frozen(course, questions) -> None:
    """Nothing was stored or logged since the archiving."""
    assert Question.objects.filter(course=course).count() == 2
    assert ActivityEvent.objects.filter(course=course, object_type="question").count() == 1
    assert [Question.objects.get(pk=q.pk).status for q in questions] == [q.status for q in questions]
    assert not ResourceOverride.objects.exists()


def test_a_student_cannot_ask_or_send_a_question_in_an_archived_course(world, maths, archived):
    answered, _sent = archived
    with pytest.raises(PermissionDenied, match=NO_NEW_WORK):
        api.ask_course(user=world.student, course_id=maths.course.pk, text="How do I add fractions?")
    with pytest.raises(PermissionDenied, match=NO_NEW_WORK):
        api.question_send_to_teacher(user=world.student, course_id=maths.course.pk, question_id=answered.pk)
    _frozen(maths.course, archived)
    # what they asked before stays readable, with its answer
    assert api.student_answer(user=world.student, course_id=maths.course.pk, question_id=answered.pk)[1].found


@pytest.mark.parametrize("who", ["teacher", "ta"])
def test_staff_cannot_resolve_or_pin_in_an_archived_course(world, maths, archived, who):
    _answered, sent = archived
    user = getattr(world, who)
    listed = api.course_questions(user=user, course_id=maths.course.pk, status=QuestionStatus.SENT)
    assert [q.pk for q in listed] == [sent.pk]  # still read
    with pytest.raises(PermissionDenied, match=READ_ONLY):
        api.question_resolve(user=user, course_id=maths.course.pk, question_id=sent.pk, reply="Limits.")
    if who == "teacher":
        with pytest.raises(PermissionDenied, match=READ_ONLY):
            api.override_set(user=user, course_id=maths.course.pk, resource_id=maths.r_general.pk, action="pin")
    _frozen(maths.course, archived)


def test_a_school_admin_still_resolves_and_pins_in_an_archived_course(world, maths, archived):
    _answered, sent = archived
    api.question_resolve(user=world.admin, course_id=maths.course.pk, question_id=sent.pk, reply="Limits.")
    api.override_set(user=world.admin, course_id=maths.course.pk, resource_id=maths.r_general.pk, action="pin")
    sent.refresh_from_db()
    assert sent.status == QuestionStatus.RESOLVED and ResourceOverride.objects.get().action == "pin"


def test_the_api_refuses_with_the_rules_messages(world, maths, archived, api_as):
    answered, sent = archived
    base = API.format(maths.course.pk)
    student, teacher = api_as(world.student), api_as(world.teacher)
    assert student.get(base + "recommendations/").status_code == 200
    assert student.get(base + "questions/").status_code == 200
    for response, message in (
        (student.post(base + "ask/", {"question": "How do I add fractions?"}, format="json"), NO_NEW_WORK),
        (student.post(base + f"questions/{answered.pk}/send/"), NO_NEW_WORK),
        (teacher.post(base + f"questions/{sent.pk}/resolve/", {"reply": "Limits."}, format="json"), READ_ONLY),
        (
            teacher.post(base + "overrides/", {"resource": maths.r_general.pk, "action": "hide"}, format="json"),
            READ_ONLY,
        ),
    ):
        assert response.status_code == 403 and response.json()["detail"] == message
    assert teacher.get(base + "overrides/").status_code == 200
    _frozen(maths.course, archived)


def test_the_student_page_shows_the_ask_box_disabled_and_says_why(world, maths, archived, client):
    answered, _sent = archived
    client.force_login(world.student)
    html = client.get(reverse("recommender:course", args=[maths.course.pk]), {"asked": answered.pk}).content.decode()
    assert NOTICE in html and "you cannot ask or send new questions" in html
    assert 'maxlength="1000" required disabled>' in html and 'class="primary" disabled>' in html
    assert reverse("recommender:send-question", args=[maths.course.pk, answered.pk]) not in html
    assert "What does per cent mean?" in html  # their earlier question stays


def test_a_question_posted_from_a_page_opened_before_the_archiving_is_refused_and_kept(world, maths, archived, client):
    answered, _sent = archived
    client.force_login(world.student)
    response = client.post(reverse("recommender:ask", args=[maths.course.pk]), {"question": "How do I add fractions?"})
    html = response.content.decode()
    assert response.status_code == 403
    assert NO_NEW_WORK in html and "How do I add fractions?</textarea>" in html
    sent = client.post(reverse("recommender:send-question", args=[maths.course.pk, answered.pk]))
    assert sent.status_code == 302
    assert [str(m) for m in get_messages(sent.wsgi_request)] == [NO_NEW_WORK]
    _frozen(maths.course, archived)


@pytest.mark.parametrize("who", ["teacher", "ta"])
def test_the_teacher_page_disables_replies_and_pins_and_says_why(world, maths, archived, client, who):
    _answered, sent = archived
    client.force_login(getattr(world, who))
    html = client.get(reverse("recommender:course", args=[maths.course.pk])).content.decode()
    assert NOTICE in html and "only the school's admins can change it" in html
    assert "Why is 0.999... equal to 1?" in html
    assert f'<textarea id="reply-{sent.pk}" name="reply" rows="2" maxlength="5000" disabled>' in html
    assert 'value="pin"' not in html
    posted = client.post(reverse("recommender:resolve-question", args=[maths.course.pk, sent.pk]), {"reply": "x"})
    assert posted.status_code == 302
    assert [str(m) for m in get_messages(posted.wsgi_request)] == [READ_ONLY]
    _frozen(maths.course, archived)


def test_the_admins_teacher_page_keeps_its_forms(world, maths, archived, client):
    client.force_login(world.admin)
    html = client.get(reverse("recommender:course", args=[maths.course.pk])).content.decode()
    assert "as a school admin you can still change it" in html
    assert " disabled>" not in html and 'value="pin"' in html


def test_an_active_courses_pages_carry_no_archive_notice(world, maths, client):
    client.force_login(world.student)
    html = client.get(reverse("recommender:course", args=[maths.course.pk])).content.decode()
    assert NOTICE not in html and " disabled>" not in html


def test_the_refusal_is_translated(world, maths, archived, api_as):
    response = api_as(world.student).post(
        API.format(maths.course.pk) + "ask/",
        {"question": "分数怎么加？"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert (
        response.status_code == 403 and response.json()["detail"] == "本课程已归档：不能再在其中提交或记录任何新内容。"
    )
