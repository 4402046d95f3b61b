"""The ranking on its own (no database): each design rule moves the list the way the design says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.utils import translation

from recommender import ranking
from recommender.data import Activity, Catalog, DueInfo, LearnerState, MasteryData, SkillInfo, WeakTrait
from recommender.reasons import render

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday
FRACTIONS, RATIOS, PERCENTAGES = 1, 2, 3


def _catalog(**kw) -> Catalog:
    skills = {
        FRACTIONS: SkillInfo(FRACTIONS, "Fractions"),
        RATIOS: SkillInfo(RATIOS, "Ratios", (FRACTIONS,)),
        PERCENTAGES: SkillInfo(PERCENTAGES, "Percentages", (RATIOS,)),
    }
    acts = [
        Activity("resource", 10, "Adding fractions", (FRACTIONS,), 0.2),
        Activity("resource", 20, "Ratios explained", (RATIOS,), 0.4),
        Activity("resource", 30, "Percent basics", (PERCENTAGES,), 0.5),
    ]
    for skill, base in ((FRACTIONS, 100), (RATIOS, 200), (PERCENTAGES, 300)):
        for n, d in enumerate((0.2, 0.5, 0.8)):
            acts.append(Activity("practice", base + n, f"Item {base + n}", (skill,), d))
    return Catalog(course_id=1, skills=skills, activities=tuple(kw.pop("activities", acts)), **kw)


def _state(mastery: dict[int, float], **kw) -> LearnerState:
    return LearnerState(mastery={k: MasteryData(p=v, n_evidence=5) for k, v in mastery.items()}, **kw)


def test_weakest_prerequisite_comes_first_with_a_plain_reason():
    # given a student weak in Ratios (0.41), weaker still in Percentages, and a quiz on Percentages on Friday
    due = DueInfo(7, "Percentages quiz", NOW + timedelta(days=4))
    catalog = _catalog(due={PERCENTAGES: due, RATIOS: due, FRACTIONS: due})
    state = _state({FRACTIONS: 0.9, RATIOS: 0.41, PERCENTAGES: 0.2})
    # when ranked
    recs = ranking.rank(catalog, state, now=NOW, limit=5)
    # then the top activity works on Ratios (the weakest prerequisite), not on Percentages
    assert recs[0].skill_ids == (RATIOS,)
    reason = recs[0].reasons[0]
    assert reason.code == "weak_prerequisite"
    with translation.override("en"):
        text = render(reason, now=NOW)
    assert "Ratios is 0.41" in text and "prerequisite of Percentages" in text
    assert "Percentages quiz is due Friday" in text


def test_a_skill_waits_for_its_weak_prerequisite():
    catalog = _catalog()
    state = _state({FRACTIONS: 0.25, RATIOS: 0.1, PERCENTAGES: 0.05})
    prio = ranking.skill_priorities(catalog, state, now=NOW)
    # the weakest-looking skill (Percentages) has the lowest need: its prerequisite is not ready
    assert prio[FRACTIONS].need > prio[RATIOS].need > prio[PERCENTAGES].need
    recs = ranking.rank(catalog, state, now=NOW, limit=1)
    assert recs[0].skill_ids == (FRACTIONS,)


def test_practice_in_the_target_success_band_beats_too_easy_and_too_hard():
    catalog = _catalog(
        activities=[Activity("practice", i, f"Item {i}", (FRACTIONS,), 0.5) for i in (1, 2, 3)],
    )
    state = _state({FRACTIONS: 0.5, RATIOS: 0.5, PERCENTAGES: 0.5}, predicted={1: 0.95, 2: 0.7, 3: 0.3})
    recs = ranking.rank(catalog, state, now=NOW, limit=3)
    assert [r.id for r in recs] == [2, 1, 3]
    assert any(r.code == "desirable_difficulty" for r in recs[0].reasons)
    assert ranking.success_fit(0.7) == pytest.approx(1.0)
    assert ranking.success_fit(0.6) == pytest.approx(ranking.success_fit(0.8))
    assert ranking.success_fit(0.95) < ranking.success_fit(0.6)


def test_a_slipping_skill_rises():
    catalog = _catalog()
    steady = LearnerState(mastery={k: MasteryData(p=0.5, trend=0.0, n_evidence=5) for k in (1, 2, 3)})
    slipping = LearnerState(mastery={**steady.mastery, PERCENTAGES: MasteryData(p=0.5, trend=-0.2, n_evidence=5)})
    before = ranking.skill_priorities(catalog, steady, now=NOW)[PERCENTAGES].need
    after = ranking.skill_priorities(catalog, slipping, now=NOW)[PERCENTAGES].need
    assert after > before * 1.3


def test_recently_done_and_completed_activities_sink():
    catalog = _catalog()
    fresh = _state({FRACTIONS: 0.3, RATIOS: 0.2, PERCENTAGES: 0.1})
    top = ranking.rank(catalog, fresh, now=NOW, limit=1)[0]
    done = _state(
        {FRACTIONS: 0.3, RATIOS: 0.2, PERCENTAGES: 0.1},
        days_since={top.key: 0.1},
        completed=frozenset({top.key}),
    )
    assert ranking.rank(catalog, done, now=NOW, limit=1)[0].key != top.key


def test_the_list_is_diverse_across_skills():
    catalog = _catalog()
    state = _state({FRACTIONS: 0.6, RATIOS: 0.55, PERCENTAGES: 0.5})
    recs = ranking.rank(catalog, state, now=NOW, limit=4)
    assert len({r.skill_ids for r in recs}) >= 2


def test_cold_start_recommends_the_foundations_with_start_here():
    catalog = _catalog()
    recs = ranking.rank(catalog, LearnerState(mastery={}), now=NOW, limit=3)
    assert recs[0].skill_ids == (FRACTIONS,)
    assert recs[0].reasons[0].code == "start_here"
    assert recs[0].reasons[0].params["unlocks_count"] == 2
    with translation.override("en"):
        assert "good place to start" in render(recs[0].reasons[0])


def test_excluded_keys_never_come_back():
    catalog = _catalog()
    state = _state({FRACTIONS: 0.3})
    recs = ranking.rank(catalog, state, now=NOW, limit=50, exclude={"resource:10"})
    assert "resource:10" not in {r.key for r in recs}
    assert len(recs) == len(catalog.activities) - 1


def test_empty_catalogue_gives_an_empty_list_and_skill_less_courses_still_rank():
    empty = Catalog(course_id=1, skills={}, activities=())
    assert ranking.rank(empty, LearnerState(mastery={}), now=NOW) == []
    no_skills = Catalog(
        course_id=1, skills={}, activities=(Activity("resource", 1, "Notes", ()), Activity("practice", 2, "Quiz", ()))
    )
    recs = ranking.rank(no_skills, LearnerState(mastery={}), now=NOW)
    assert {r.key for r in recs} == {"resource:1", "practice:2"}
    assert recs[0].reasons[0].code == "course_material"


def _unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_a_resource_about_a_weak_essay_trait_rises():
    # two untagged resources; one is about the trait the student's essays are weak in
    organisation = _unit(1, 0, 0)
    catalog = Catalog(
        course_id=1,
        skills={},
        activities=(
            Activity("resource", 1, "Spelling drills", (), vector=_unit(0, 1, 0)),
            Activity("resource", 2, "Paragraph structure", (), vector=_unit(0.9, 0.1, 0)),
        ),
    )
    state = LearnerState(mastery={}, weak_traits=(WeakTrait("Organization", 0.8, organisation),))
    recs = ranking.rank(catalog, state, now=NOW)
    assert recs[0].id == 2
    assert recs[0].reasons[-1].code == "essay_trait"


def test_what_helped_similar_students_lifts_a_resource():
    catalog = _catalog(
        activities=[
            Activity("resource", 1, "A", (FRACTIONS,), 0.3),
            Activity("resource", 2, "B", (FRACTIONS,), 0.3),
        ],
        profile={"help": {"0": {"resource:2": [0.12, 9], "resource:1": [-0.02, 9]}}, "centroids": [[0.3]]},
    )
    state = _state({FRACTIONS: 0.3}, cluster=0)
    recs = ranking.rank(catalog, state, now=NOW)
    assert recs[0].id == 2
    assert any(r.code == "helped_similar" for r in recs[0].reasons)
    # and without the profile the order falls back to the catalogue order
    plain = ranking.rank(_catalog(activities=catalog.activities), _state({FRACTIONS: 0.3}), now=NOW)
    assert plain[0].id == 1


def test_all_reason_codes_render_in_english_and_chinese():
    catalog = _catalog(due={RATIOS: DueInfo(1, "Quiz", NOW + timedelta(days=2))})
    state = _state({FRACTIONS: 0.9, RATIOS: 0.4, PERCENTAGES: 0.1}, predicted={200: 0.7})
    recs = ranking.rank(catalog, state, now=NOW, limit=12)
    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            for r in recs:
                for reason in r.reasons:
                    assert render(reason, now=NOW).strip()
