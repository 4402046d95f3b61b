"""The review loop in a real browser: a teacher accepts one proposal and overrides another, and
each student then sees exactly the grade released to them.

The small demo school has teacher-graded essays but no model (it skips training to stay fast);
the test trains the English essay's fast scorer (a few seconds, 64-token embeddings), which
scores the waiting essays through the production path and puts them in the review queue.
Screenshots: test-artifacts/screenshots/review-*.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from eduai.courses.models import Assignment, Submission, SubmissionStatus
from grading import api as grading
from grading.models import Prediction

from .helpers import login_as, save_screenshot

pytestmark = pytest.mark.slow

ESSAY = "A place that matters to me"


@pytest.fixture
def scored_queue(demo_site, settings, tmp_path):
    settings.EDUAI_MODEL_ROOT = tmp_path / "models"
    settings.EDUAI_EMBED_MAX_TOKENS = 64
    settings.EDUAI_TRAIN_EAGER_IN_THREAD = False
    settings.EDUAI_GRADER_AUTO_TRAIN = "0"
    assignment = Assignment.objects.get(title=ESSAY)
    result = grading.model_train(assignment_id=assignment.pk, method="fast", trigger="browser-test")
    assert result.activated
    waiting = list(Submission.objects.filter(assignment=assignment, status=SubmissionStatus.SCORED).order_by("id"))
    assert len(waiting) >= 2, "the small demo should leave at least two English essays for review"
    return assignment, waiting


def test_teacher_accepts_and_overrides_then_students_see_exactly_their_released_grades(page, scored_queue):
    assignment, waiting = scored_queue
    course_id = assignment.course_id
    # Given: the teacher opens the review queue of the English course
    login_as(page, "li.wei")
    page.goto(f"/review/courses/{course_id}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Review queue")
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(len(waiting))
    widths = [float(w) for w in rows.evaluate_all("rows => rows.map(r => r.dataset.width)")]
    assert widths == sorted(widths, reverse=True), "least confident (widest interval) first"
    save_screenshot(page, "review-01-queue")

    # When: they open the first essay, it shows the proposal and the evidence
    rows.first.get_by_role("link").click()
    expect(page.locator("#proposed-score")).to_be_visible()
    expect(page.locator("#evidence")).to_contain_text("Raised the score")
    expect(page.locator("#evidence")).to_contain_text("Similar essays you already graded")
    expect(page.locator(".essay .sentence.up, .essay .sentence.down").first).to_be_visible()
    save_screenshot(page, "review-02-essay-with-evidence")
    first_id = int(re.search(r"/submissions/(\d+)/", page.url).group(1))
    first_proposal = int(page.locator("#proposed-score").inner_text())

    # And: they accept it with one keystroke; the next essay opens
    page.keyboard.press("a")
    expect(page.locator(".messages")).to_contain_text(f"Accepted {first_proposal}")
    second_id = int(re.search(r"/submissions/(\d+)/", page.url).group(1))
    assert second_id != first_id
    second_proposal = int(page.locator("#proposed-score").inner_text())

    # And: they override the second with their own score and a comment
    teacher_score = second_proposal - 1 if second_proposal > assignment.min_score else second_proposal + 1
    page.locator("#id_score").fill(str(teacher_score))
    page.locator("#id_comment").fill("Your second paragraph wanders; the ending is strong.")
    page.locator("#override-button").click()
    expect(page.locator(".messages")).to_contain_text(f"Saved {teacher_score}")
    save_screenshot(page, "review-03-after-decisions")

    # Then: the grades of record are the teacher's decisions, released
    first = Submission.objects.get(pk=first_id)
    second = Submission.objects.get(pk=second_id)
    assert (first.status, first.final_score) == (SubmissionStatus.RELEASED, first_proposal)
    assert (second.status, second.final_score) == (SubmissionStatus.RELEASED, teacher_score)
    assert Prediction.objects.filter(submission=second).latest("id").score == second_proposal

    # And: each author sees exactly their released grade, and nothing of unreleased proposals
    page.get_by_role("button", name="Sign out").click()
    for sub, score in ((first, first_proposal), (second, teacher_score)):
        login_as(page, sub.author.username)
        page.goto("/review/my/")
        mine = Submission.objects.filter(author=sub.author)
        released = {s.pk: s.final_score for s in mine if s.status == SubmissionStatus.RELEASED}
        assert released[sub.pk] == score
        for s in mine:
            row = page.locator(f"#my-{s.pk}")
            if s.pk in released:
                expect(row.locator(".score")).to_have_text(str(released[s.pk]))
            else:
                expect(row).to_contain_text("not graded yet")
                expect(row.locator(".score")).to_have_count(0)
        page.goto(f"/review/my/{sub.pk}/")
        expect(page.locator("#released-score")).to_have_text(str(score))
        if sub.pk == second.pk:
            expect(page.locator("#teacher-comment")).to_contain_text("second paragraph wanders")
            save_screenshot(page, "review-04-student-released-grade")
        page.get_by_role("button", name="Sign out").click()

    # And: the course dashboard charts agreement over the one week these decisions make: ticked
    # in days, not in milliseconds around midnight ("23:59:59.9995"), with round kappa steps
    login_as(page, "li.wei")
    page.goto(f"/dashboards/courses/{course_id}/")
    figure = page.locator("#figure-agreement_time")
    expect(figure.locator(".xtick text").first).to_be_visible()
    ticks = figure.locator(".xtick text").all_text_contents()
    assert ticks and not any(re.search(r"\d:\d\d", t) for t in ticks), ticks
    kappa = figure.locator(".y2tick text").all_text_contents()
    assert kappa and set(kappa) <= {"0", "0.2", "0.4", "0.6", "0.8", "1"}, kappa
    save_screenshot(page, "review-05-agreement-over-one-week")
