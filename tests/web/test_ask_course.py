"""The "ask the course" box follows post/redirect/get: a valid question is answered, stored, and the
answer shown at a GET address, so a reload shows it again instead of asking a second time."""

from __future__ import annotations

import pytest
from django.urls import reverse

from recommender.models import Question
from tests import factories as f

pytestmark = pytest.mark.django_db

QUESTION = "How do I add fractions with unlike denominators?"
ANSWER = "<mark>To add fractions with unlike denominators, first find a common denominator.</mark>"


@pytest.fixture
def resource(world):
    skill = f.SkillFactory(course=world.course, name="Fractions")
    r = f.LearningResourceFactory(
        course=world.course,
        title="Adding fractions",
        body="To add fractions with unlike denominators, first find a common denominator. "
        "Then add the numerators and keep the denominator.",
    )
    r.skills.add(skill)
    return r


def _answer_part(html: str) -> str:
    return html.split('class="answer"', 1)[1] if 'class="answer"' in html else ""


def test_a_question_redirects_to_a_page_that_shows_its_answer(client, world, resource):
    client.force_login(world.student)
    ask_url = reverse("recommender:ask", args=[world.course.pk])
    # When the student asks the course
    response = client.post(ask_url, {"question": QUESTION})
    # Then the browser is sent on to a GET address (303: the follow-up request is a GET)
    assert response.status_code == 303
    question = Question.objects.get()
    course_url = reverse("recommender:course", args=[world.course.pk])
    assert response["Location"] == f"{course_url}?asked={question.pk}#ask"
    # which shows the stored answer, its source and the offer to send it to the teacher
    page = client.get(response["Location"])
    assert page.status_code == 200
    answer = _answer_part(page.content.decode())
    assert ANSWER in answer and "Adding fractions" in answer
    assert reverse("recommender:send-question", args=[world.course.pk, question.pk]) in answer
    assert f">{QUESTION}</textarea>" in page.content.decode()
    # and reloading that page neither asks again nor logs the question again
    again = client.get(response["Location"])
    assert ANSWER in _answer_part(again.content.decode())
    assert Question.objects.count() == 1


def test_the_answer_page_shows_what_was_answered_then(client, world, resource):
    client.force_login(world.student)
    location = client.post(reverse("recommender:ask", args=[world.course.pk]), {"question": QUESTION})["Location"]
    # Given the resource is rewritten after the student asked
    resource.body = "Something else entirely."
    resource.save()
    # Then the answer page still quotes what the student was shown (stored with the question)
    assert ANSWER in _answer_part(client.get(location).content.decode())


@pytest.mark.parametrize("withdraw", ["hide", "deactivate", "delete"])
def test_the_answer_page_no_longer_quotes_a_resource_withdrawn_since(client, world, resource, withdraw):
    # Given a second resource that answers the question too
    other = f.LearningResourceFactory(
        course=world.course,
        title="Fractions workbook",
        body="A common denominator lets you add fractions with unlike denominators: add the numerators.",
    )
    client.force_login(world.student)
    location = client.post(reverse("recommender:ask", args=[world.course.pk]), {"question": QUESTION})["Location"]
    before = _answer_part(client.get(location).content.decode())
    assert ANSWER in before and "Adding fractions" in before and "Fractions workbook" in before
    # When the teacher hides one of them, or it is deactivated or deleted
    if withdraw == "hide":
        client.force_login(world.teacher)
        hide = client.post(reverse("recommender:override", args=[world.course.pk, resource.pk]), {"action": "hide"})
        assert hide.status_code == 302
        client.force_login(world.student)
    elif withdraw == "deactivate":
        resource.is_active = False
        resource.save()
    else:
        resource.delete()
    # Then the student's answer page no longer shows its passage, only the other resource's
    after = _answer_part(client.get(location).content.decode())
    assert ANSWER not in after and "Adding fractions" not in after
    assert "Fractions workbook" in after and other.body[:40] in after


def test_an_unanswerable_question_redirects_too(client, world, resource):
    client.force_login(world.student)
    response = client.post(reverse("recommender:ask", args=[world.course.pk]), {"question": "who won the cup?"})
    assert response.status_code == 303
    answer = _answer_part(client.get(response["Location"]).content.decode())
    assert "could not find an answer" in answer
    assert "Send my question to my teacher" in answer


def test_an_invalid_question_is_shown_again_with_its_error_and_no_redirect(client, world, resource):
    client.force_login(world.student)
    response = client.post(reverse("recommender:ask", args=[world.course.pk]), {"question": "   "})
    assert response.status_code == 400
    assert "Text is empty." in response.content.decode()
    assert Question.objects.count() == 0


def test_nobody_else_sees_a_students_answer(client, world, resource):
    # Given a student's asked question
    client.force_login(world.student)
    location = client.post(reverse("recommender:ask", args=[world.course.pk]), {"question": QUESTION})["Location"]
    # When a classmate opens the same address
    classmate = f.UserFactory(username="mate")
    f.EnrollmentFactory(course=world.course, user=classmate)
    client.force_login(classmate)
    page = client.get(location)
    # Then they get their own page without anyone's answer
    assert page.status_code == 200
    assert _answer_part(page.content.decode()) == "" and QUESTION not in page.content.decode()
    # and someone outside the course gets no page at all
    client.force_login(world.other_student)
    assert client.get(location).status_code == 404


@pytest.mark.parametrize("asked", ["abc", "0", "-1", str(2**63), "1e3", ""])
def test_nonsense_in_the_address_shows_the_page_without_an_answer(client, world, resource, asked):
    client.force_login(world.student)
    page = client.get(reverse("recommender:course", args=[world.course.pk]), {"asked": asked})
    assert page.status_code == 200 and _answer_part(page.content.decode()) == ""


def test_staff_cannot_ask_and_their_page_ignores_the_parameter(client, world, resource):
    client.force_login(world.teacher)
    assert client.post(reverse("recommender:ask", args=[world.course.pk]), {"question": QUESTION}).status_code == 403
    # Given a student's question (not sent to the teacher)
    client.force_login(world.student)
    location = client.post(reverse("recommender:ask", args=[world.course.pk]), {"question": QUESTION})["Location"]
    asked = Question.objects.get().pk
    # When the teacher opens the student's answer address
    client.force_login(world.teacher)
    page = client.get(reverse("recommender:course", args=[world.course.pk]), {"asked": str(asked)})
    # Then they get their own question list: no answer block, not the student's question
    assert page.status_code == 200
    html = page.content.decode()
    assert _answer_part(html) == "" and QUESTION not in html
    # while the student's own address still shows it to the student
    client.force_login(world.student)
    assert ANSWER in _answer_part(client.get(location).content.decode())
