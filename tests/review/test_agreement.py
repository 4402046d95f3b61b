"""Agreement and fairness figures against hand computations on small cases."""

from __future__ import annotations

import pytest
from django.urls import reverse

from grading.review import api as review
from grading.review import fairness
from tests import factories as f

from .conftest import GradingModelFactory

# (model proposal, teacher grade) on a 0-3 rubric, in the order the teacher decided them.
PAIRS = [(0, 0), (1, 2), (2, 2), (3, 3), (2, 1)]


def test_qwk_exact_adjacent_match_a_hand_computation():
    # Hand computation (k = 4 rubric points, weights (i - j)^2 / 9):
    #   observed weighted disagreement: pairs (1,2) and (2,1) -> 2 * 1/9 over 5 pairs = 2/45
    #   marginals are [1, 1, 2, 1] for both raters; sum (i-j)^2 r_i c_j = 52 -> expected 52/9/25 = 52/225
    #   kappa = 1 - (2/45) / (52/225) = 1 - 450/2340 = 21/26
    result = fairness.agreement([m for m, _ in PAIRS], [t for _, t in PAIRS], 0, 3)
    assert result.n == 5
    assert result.qwk == pytest.approx(21 / 26)
    assert result.exact == pytest.approx(3 / 5)
    assert result.adjacent == pytest.approx(1.0)
    assert result.mean_signed_difference == pytest.approx(0.0)


def test_qwk_is_undefined_rather_than_perfect_when_both_raters_use_one_score():
    assert fairness.agreement([2, 2, 2], [2, 2, 2], 0, 3).qwk is None
    assert fairness.agreement([2], [3], 0, 3).qwk is None
    assert fairness.agreement([], [], 0, 3) == fairness.Agreement(0, None, None, None, None)


def test_signed_differences_per_group_with_interval():
    rows = [("zh", 3, 2), ("zh", 4, 2), ("en", 2, 3), ("", 1, 1)]
    by = {g.group: g for g in fairness.signed_differences(rows)}
    assert by["zh"].mean == pytest.approx(1.5) and by["zh"].n == 2
    # s = sd([1, 2]) = 0.7071; half-width 1.96 * 0.7071 / sqrt(2) = 0.98
    assert by["zh"].ci_low == pytest.approx(1.5 - 0.98, abs=0.005)
    assert by["en"].mean == pytest.approx(-1.0) and by["en"].ci_low is None


def test_length_bands_in_words_and_han_characters():
    assert fairness.length_band("word " * 149, "en") == "short"
    assert fairness.length_band("word " * 150, "en") == "medium"
    assert fairness.length_band("word " * 350, "en") == "long"
    assert fairness.length_band("我" * 224, "zh") == "short"
    assert fairness.length_band("我" * 525, "zh") == "long"


def test_drift_between_identical_distributions_is_zero_and_grows_with_a_shift():
    same = fairness.distribution_drift([1, 2, 2, 3], [1, 2, 2, 3], 0, 4)
    assert same.psi == pytest.approx(0.0, abs=1e-9) and same.wasserstein == pytest.approx(0.0)
    shifted = fairness.distribution_drift([1, 2, 2, 3], [2, 3, 3, 4], 0, 4)
    assert shifted.mean_shift == pytest.approx(1.0) and shifted.wasserstein == pytest.approx(1.0)
    assert shifted.psi > 0.25


@pytest.mark.django_db
def test_assignment_agreement_end_to_end_with_recent_window_and_warning(
    client, rw, make_sub, propose, student2, settings
):
    # given a 0-3 assignment whose teachers decided five proposals, and "recent" = the last three
    settings.EDUAI_REVIEW_RECENT = "3"
    settings.EDUAI_REVIEW_MIN_PAIRS = "3"
    a = f.AssignmentFactory(course=rw.world.course, title="Short answers", min_score=0, max_score=3)
    model = GradingModelFactory(assignment=a, version=1)
    authors = [rw.world.student, student2, rw.world.student, student2, student2]
    texts = ["One. Two.", "word " * 200, "Three. Four.", "word " * 400, "Five. Six."]
    for k, ((proposed, teacher), author, text) in enumerate(zip(PAIRS, authors, texts, strict=True)):
        sub = make_sub(assignment=a, author=author, text=text, attempt=100 + k)
        p = propose(sub, proposed, model=model, traits={})
        review.review_override(submission_id=sub.pk, user_id=rw.world.teacher.pk, score=teacher, prediction_id=p.pk)
    # when the agreement of the assignment is read
    report = review.agreement_for_assignment(user=rw.world.teacher, assignment_id=a.pk)
    row = report.by_assignment[0]
    # then the overall figures are the hand-computed ones
    assert row.overall.qwk == pytest.approx(21 / 26) and row.overall.exact == pytest.approx(0.6)
    # recent = last three decisions (2,2), (3,3), (2,1): kappa by hand = 1 - (1/27)/(1/9) = 2/3
    assert row.recent.n == 3
    assert row.recent.qwk == pytest.approx(2 / 3)
    assert row.recent.exact == pytest.approx(2 / 3)
    assert row.recent.mean_signed_difference == pytest.approx(1 / 3)
    # 2/3 is below the assignment's floor of 0.7: a warning
    assert row.floor == pytest.approx(0.7) and row.below_floor and report.below_floor
    # per language background: stu ("" -> unspecified): pairs 1, 3 -> diffs 0, 0; Bea ("zh"): -1, 0, +1
    groups = {g.group: g for g in report.by_language_background}
    assert groups["unspecified"].mean == pytest.approx(0.0) and groups["unspecified"].n == 2
    assert groups["zh"].mean == pytest.approx(0.0) and groups["zh"].n == 3
    bands = {g.group: (g.n, g.mean) for g in report.by_length}
    assert bands == {"short": (3, pytest.approx(1 / 3)), "medium": (1, -1.0), "long": (1, 0.0)}
    # and the review page warns about it
    client.force_login(rw.world.teacher)
    html = client.get(reverse("review:queue", args=[rw.world.course.pk])).content.decode()
    assert f'id="agreement-warning-{a.pk}"' in html and "QWK 0.67 over the last 3 decisions" in html


@pytest.mark.django_db
def test_no_warning_while_too_few_decisions_to_judge(client, rw, make_sub, propose):
    sub = make_sub()
    p = propose(sub, 6)
    review.review_override(submission_id=sub.pk, user_id=rw.world.teacher.pk, score=0, prediction_id=p.pk)
    report = review.agreement_for_course(user=rw.world.teacher, course_id=rw.world.course.pk, detail=False)
    assert not report.below_floor and report.notes


@pytest.mark.django_db
def test_grades_entered_outside_review_pair_with_the_proposal_made_before_them(rw, make_sub, propose):
    from grading import api as grading

    sub = make_sub()
    propose(sub, 5)
    grading.teacher_grade_set(submission_id=sub.pk, score=2, grader_id=rw.world.teacher.pk)
    # a later model (which may have trained on that grade) proposes again: not an independent opinion
    propose(sub, 2, model=GradingModelFactory(assignment=rw.assignment, version=2, is_active=False))
    report = review.agreement_for_assignment(user=rw.world.teacher, assignment_id=rw.assignment.pk)
    assert report.overall.n == 1 and report.overall.mean_signed_difference == pytest.approx(3.0)


@pytest.mark.django_db
def test_drift_between_model_versions_on_the_api(api_as, rw, make_sub, propose):
    v2 = GradingModelFactory(assignment=rw.assignment, version=2, is_active=False)
    subs = [make_sub() for _ in range(4)]
    for sub, s1 in zip(subs, [1, 2, 3, 4], strict=True):
        propose(sub, s1)
    for sub, s2 in zip(subs[:2], [2, 3], strict=True):
        propose(sub, s2, model=v2)
    body = api_as(rw.world.teacher).get(reverse("review-api-assignment-agreement", args=[rw.assignment.pk])).json()
    (drift,) = body["drift"]
    assert (drift["from_version"], drift["to_version"], drift["paired_n"]) == (1, 2, 2)
    assert drift["paired_mean_change"] == pytest.approx(1.0)
    assert drift["drift"]["mean_shift"] == pytest.approx(2.5 - 2.5)


def test_qwk_equals_scikit_learns_on_random_ratings():
    import numpy as np
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(2, 40))
        t = rng.integers(0, 7, size=n)
        m = np.clip(t + rng.integers(-2, 3, size=n), 0, 6)
        ours = fairness.qwk(m.tolist(), t.tolist(), 0, 6)
        theirs = cohen_kappa_score(t, m, weights="quadratic", labels=list(range(7)))
        if ours is None:
            assert len(set(t) | set(m)) == 1
        else:
            assert ours == pytest.approx(theirs)
