"""The "ask the course" box in a real browser: after asking, the address bar holds a GET address, so a
reload shows the same answer again without sending (or storing) the question a second time."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from eduai.courses.models import Course
from recommender.models import Question

from .helpers import login_as

pytestmark = pytest.mark.slow


def test_reloading_the_answer_does_not_ask_again(page, demo_people):
    student = next(username for role, username, _note in demo_people.logins if role == "student")
    maths = Course.objects.get(code="MATH9")
    login_as(page, student)
    page.goto(f"/recommender/course/{maths.pk}/")
    # When the student asks the course a question
    page.locator("#id_question").fill("How do I solve a linear equation?")
    with page.expect_navigation():
        page.locator("#ask button[type=submit]").click()
    # Then the answer is shown at a GET address of the same page
    expect(page).to_have_url(re.compile(rf"/recommender/course/{maths.pk}/\?asked=\d+#ask$"))
    expect(page.locator("#ask .answer")).to_be_visible()
    answer = page.locator("#ask .answer").inner_text()
    assert Question.objects.filter(course=maths).count() == 1

    # When they reload the page (F5): no "resend the form?" and no second question
    page.reload()
    expect(page.locator("#ask .answer")).to_have_text(answer)
    assert Question.objects.filter(course=maths).count() == 1
    # and the back button leads back to the same answer, not to a re-post
    page.goto(f"/recommender/course/{maths.pk}/")
    page.go_back()
    expect(page.locator("#ask .answer")).to_have_text(answer)
    assert Question.objects.filter(course=maths).count() == 1
