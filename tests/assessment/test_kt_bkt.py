"""BKT: EM recovers known parameters, the online update is Bayes' rule, bad credit is refused."""

from __future__ import annotations

import math

import numpy as np
import pytest

from assessment.kt.base import Response, check_credit, replay
from assessment.kt.bkt import BKT


def simulate(n_students: int, params: dict[str, dict[str, float]], length: int, seed: int) -> list[list[Response]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_students):
        history = []
        known = {k: rng.random() < p["L0"] for k, p in params.items()}
        for t in range(length):
            k = list(params)[t % len(params)]
            p = params[k]
            right = rng.random() < (1 - p["S"] if known[k] else p["G"])
            history.append(Response(item=f"{k}-{t}", skills=(k,), correct=float(right)))
            if not known[k] and rng.random() < p["T"]:
                known[k] = True
        out.append(history)
    return out


TRUE = {
    "A": {"L0": 0.2, "T": 0.15, "G": 0.2, "S": 0.08},
    "B": {"L0": 0.5, "T": 0.05, "G": 0.25, "S": 0.15},
}


def test_em_recovers_the_parameters_that_generated_the_data():
    # given 1,500 simulated students with known per-skill parameters
    data = simulate(1500, TRUE, 24, seed=1)
    # when BKT is fitted by EM
    model = BKT()
    info = model.fit(data)
    # then each skill's parameters are close to the truth
    assert info["n_skills"] == 2
    for skill, truth in TRUE.items():
        for name, value in truth.items():
            assert model.params[skill][name] == pytest.approx(value, abs=0.06), (skill, name)


def test_fitted_bkt_predicts_held_out_students_better_than_chance():
    model = BKT()
    model.fit(simulate(300, TRUE, 20, seed=2))
    metrics = replay(model, simulate(100, TRUE, 20, seed=3)).metrics()
    assert metrics["auc"] > 0.7
    assert metrics["n_test_responses"] == 2000


def test_online_update_is_bayes_rule_then_learning():
    model = BKT()
    model.params = {"A": {"L0": 0.3, "T": 0.1, "G": 0.2, "S": 0.1}}
    state = model.new_state()
    assert model.predict(state, "x", ("A",)) == pytest.approx(0.3 * 0.9 + 0.7 * 0.2)
    model.update(state, Response("x", ("A",), 1.0))
    post = 0.3 * 0.9 / (0.3 * 0.9 + 0.7 * 0.2)
    assert model.mastery(state, ["A"])["A"] == pytest.approx(post + (1 - post) * 0.1)
    model.update(state, Response("x", ("A",), 0.0))
    p = post + (1 - post) * 0.1
    post2 = p * 0.1 / (p * 0.1 + (1 - p) * 0.8)
    assert model.mastery(state, ["A"])["A"] == pytest.approx(post2 + (1 - post2) * 0.1)


def test_partial_credit_lies_between_wrong_and_right():
    model = BKT()
    outcomes = []
    for credit in (0.0, 0.5, 1.0):
        state = model.new_state()
        model.update(state, Response("essay", ("A",), credit))
        outcomes.append(model.mastery(state, ["A"])["A"])
    assert outcomes[0] < outcomes[1] < outcomes[2]


def test_several_skills_one_prediction_each_skill_updated():
    model = BKT()
    state = model.new_state()
    p = model.predict(state, "q", ("A", "B"))
    assert 0 < p < 1
    model.update(state, Response("q", ("A", "B"), 1.0))
    assert state.n == {"A": 1, "B": 1}
    # a skill listed twice is still one update
    model.update(state, Response("q", ("A", "A"), 1.0))
    assert state.n["A"] == 2


def test_unknown_skill_and_no_skill_use_the_average_skill():
    model = BKT()
    model.fit(simulate(200, TRUE, 10, seed=4))
    state = model.new_state()
    p_unknown = model.predict(state, "new item", ("never seen",))
    p_none = model.predict(state, "new item", ())
    assert 0 < p_unknown < 1 and p_unknown == pytest.approx(p_none)


@pytest.mark.parametrize("bad", [2, -0.1, float("nan"), float("inf"), "1", None, [1]])
def test_a_credit_that_is_not_a_boolean_or_unit_number_is_refused(bad):
    model = BKT()
    state = model.new_state()
    with pytest.raises(ValueError, match="correct must be"):
        model.update(state, Response("q", ("A",), bad))  # type: ignore[arg-type]
    # and the state is untouched
    assert state.p == {} and state.n == {}


@pytest.mark.parametrize("good,expected", [(True, 1.0), (False, 0.0), (1, 1.0), (0, 0.0), (0.25, 0.25)])
def test_booleans_and_unit_numbers_are_credits(good, expected):
    assert check_credit(good) == expected


def test_state_and_artefact_round_trip(tmp_path):
    model = BKT()
    model.fit(simulate(100, TRUE, 10, seed=5))
    state = model.new_state()
    for r in simulate(1, TRUE, 7, seed=6)[0]:
        model.update(state, r)
    model.save(tmp_path / "m")
    again = BKT.load(tmp_path / "m")
    restored = again.state_load(model.state_dump(state))
    assert again.predict(restored, "q", ("A",)) == model.predict(state, "q", ("A",))
    with pytest.raises(ValueError):
        again.state_load({"method": "deep", "t": 0, "recent": [], "n": {}})


def test_fit_on_empty_history_is_a_no_op_model():
    model = BKT()
    info = model.fit([])
    assert info["n_observations"] == 0
    assert math.isclose(model.predict(model.new_state(), "q", ("A",)), 0.3 * 0.9 + 0.7 * 0.2)
