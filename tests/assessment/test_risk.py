"""Students at risk: calibrated probabilities, and reasons in plain words for every flag."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from assessment import api, risk, risk_eval, services
from assessment.models import Mastery
from tests import factories as f

from .conftest import BASE, answer

NOW = BASE + timedelta(days=20)


def test_every_flagged_simulated_student_has_a_reason(small_risk_model):
    snaps, _y = risk.simulate_cohort(200, seed=11)
    p = small_risk_model.predict_proba(np.stack([risk.features(s) for s in snaps]))
    flagged = [s for s, q in zip(snaps, p, strict=True) if q >= 0.5]
    assert flagged
    for s in flagged:
        reasons = risk.reasons(small_risk_model, s, flagged=True)
        assert 1 <= len(reasons) <= 3 and all(isinstance(r, str) and r for r in reasons)


def test_probabilities_are_calibrated_on_a_fresh_simulated_cohort(small_risk_model):
    snaps, y = risk.simulate_cohort(600, seed=12)
    p = small_risk_model.predict_proba(np.stack([risk.features(s) for s in snaps]))
    report = risk.calibration_report(y, p)
    assert report["auc"] > 0.8
    assert report["brier"] < 0.6 * report["brier_base_rate"]
    assert report["ece"] < 0.08
    assert sum(r["n"] for r in report["reliability"]) == 600


def test_reasons_are_worded_with_the_students_own_numbers(small_risk_model):
    s = risk.Snapshot(
        student_id=1,
        days_inactive=12.4,
        events_14d=0,
        n_due=4,
        n_missing=3,
        n_late=1,
        mean_grade=0.3,
        skills=(risk.SkillState("Fractions", 0.35, -0.3), risk.SkillState("Decimals", 0.8, 0.0)),
    )
    text = risk.reasons(small_risk_model, s, flagged=True)
    assert "no activity for 12 days" in text or "3 of 4 assignments due so far not submitted" in text
    every = {risk._reason(name, s) for name in risk.FEATURES} - {None}
    assert "mastery of Fractions falling (65% to 35%)" in every
    assert "low mastery of Fractions (35%)" in every


def test_model_json_round_trip(small_risk_model, tmp_path):
    small_risk_model.save(tmp_path / "risk.json")
    again = risk.RiskModel.load(tmp_path / "risk.json")
    x = np.stack([risk.features(s) for s in risk.simulate_cohort(20, seed=3)[0]])
    np.testing.assert_allclose(again.predict_proba(x), small_risk_model.predict_proba(x))
    with pytest.raises(ValueError):
        risk.RiskModel.from_json({**again.to_json(), "features": ["other"]})
    with pytest.raises(ValueError, match="both outcomes"):
        risk.RiskModel().fit(x, np.zeros(len(x)))


@pytest.mark.django_db
def test_inactive_student_with_missing_work_is_flagged_with_reasons(world, maths):
    # given an active student who practises and hands in work, and one silent for 12 days
    active, silent = world.student, f.UserFactory(username="silent")
    f.EnrollmentFactory(course=maths.course, user=silent)
    due = [f.AssignmentFactory(course=maths.course, due_at=NOW - timedelta(days=d)) for d in (10, 3)]
    for a in due:
        f.SubmissionFactory(assignment=a, author=active, attempt=1, submitted_at=a.due_at - timedelta(hours=2))
    ids = [answer(maths.course, active, maths.item_f, True, NOW - timedelta(days=1, minutes=i)).pk for i in range(8)]
    ids.append(answer(maths.course, silent, maths.item_f, False, NOW - timedelta(days=12)).pk)
    services.evidence_from_events(event_ids=ids)
    # when the teacher asks who is at risk
    everyone = api.course_risk(course_id=maths.course.pk, now=NOW)
    by_id = {r.student_id: r for r in everyone}
    # then the silent student is at risk, with reasons a teacher can act on; the active one is not
    assert by_id[silent.pk].probability > 0.5 > by_id[active.pk].probability
    assert by_id[silent.pk].reasons
    assert any("no activity for 12 days" == r or "2 of 2 assignments" in r for r in by_id[silent.pk].reasons)
    assert everyone[0].student_id == silent.pk
    flagged = api.students_at_risk(course_id=maths.course.pk)
    assert all(r.reasons for r in flagged)


@pytest.mark.django_db
def test_a_course_without_students_has_no_one_at_risk(world):
    empty = f.CourseFactory(school=world.school)
    assert api.course_risk(course_id=empty.pk) == []
    with pytest.raises(ValueError):
        api.students_at_risk(course_id=empty.pk, threshold=1.5)


def test_log_protocol_labels_use_only_later_responses():
    from assessment.kt.base import Response
    from assessment.kt.bkt import BKT
    from assessment.kt.io import StudentLog

    good = StudentLog("a", "1", tuple(Response("i", ("S",), 1.0) for _ in range(40)))
    bad_later = StudentLog("b", "1", tuple(Response("i", ("S",), 1.0 if i < 20 else 0.0) for i in range(40)))
    short = StudentLog("c", "1", tuple(Response("i", ("S",), 1.0) for _ in range(12)))
    snaps, y = risk_eval.log_dataset([good, bad_later, short], BKT(), "low_later_accuracy")
    # same first halves, different labels: the features cannot see the future
    assert list(y) == [0, 1]
    assert risk.features(snaps[0]).tolist() == risk.features(snaps[1]).tolist()
    snaps, y = risk_eval.log_dataset([good, bad_later, short], BKT(), "early_stop")
    assert list(y) == [0, 0, 1]
    assert Mastery  # the log protocol never touches the database
