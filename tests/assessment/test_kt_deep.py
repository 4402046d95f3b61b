"""Deep KT: the numpy online path computes exactly what the torch model trained, states survive
a round trip, unknown keys and bad credit are handled, the cache stays bounded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from assessment.kt.base import Response, replay
from assessment.kt.deep import (
    FORMAT,
    GBM_ABILITY,
    GBM_MAX_BANDS,
    GBM_SKILL,
    N_COUNTER_INPUTS,
    N_GBM,
    SET_LIMIT,
    DeepHyper,
    DeepKT,
    DeepState,
    Vocab,
    _band_counts,
    _band_rates,
    _gbm_matrix,
    _gbm_more,
    _GbmTables,
    _item_ease,
    _stack_matrix,
    _Trees,
    counter_features,
    gbm_width,
    set_key,
)
from eduai.inference import kt as deep_torch

TINY = {
    "d_model": 16,
    "n_heads": 2,
    "d_ff": 32,
    "d_out": 16,
    "max_epochs": 2,
    "batch_size": 16,
    "threads": 1,
    # leaves small enough for the tiny histories, so that the trees split (on the format-5 inputs too)
    "gbm_min_leaf": 20,
    "gbm_leaves": 15,
}


def histories(n: int, seed: int, length=(5, 30)) -> list[list[Response]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        last: dict[str, bool] = {}
        h = []
        for _ in range(int(rng.integers(*length))):
            k = str(rng.integers(4))
            skills = (k,) if rng.random() < 0.8 else (k, str((int(k) + 1) % 4))
            p = 0.85 if last.get(k, rng.random() < 0.5) else 0.25
            c = float(rng.random() < p)
            last[k] = c > 0.5
            h.append(Response(item=f"{k}-{rng.integers(6)}", skills=skills, correct=c))
        out.append(h)
    return out


@pytest.fixture(scope="module")
def model() -> DeepKT:
    m = DeepKT(DeepHyper(**TINY, n_question_layers=1, n_knowledge_layers=1, window=1000))
    m.fit(histories(60, seed=0), seed=0)
    return m


def _gbm_logits(model: DeepKT, h: list[Response]) -> np.ndarray:
    """The boosted trees' logits over the whole history, their inputs computed in one batch
    (``_gbm_matrix``, as for the validation students in training), not by the online path."""
    hp, v = model.hyper, model.vocab
    q = np.array([v.item(r.item) for r in h], dtype=np.int64)
    eases = [_item_ease(v, q, v.item_n, v.item_k, hp.ease_prior)]
    X, _ = _gbm_matrix(
        [h],
        v,
        model.weights["stack.gbm.skill_cat"],
        eases,
        ability_prior=hp.ability_prior,
        ability=hp.ability_features,
        counters=hp.gbm_counters,
    )
    if model._gbm_tables is not None:
        S = np.stack([v.skill_row(r.skills, hp.max_skills) for r in h])
        rates = _band_rates(model._gbm_tables, hp, v.item_n, v.item_k, v.base_rate)
        X = _gbm_more(X, q, S, hp, model._gbm_tables, rates)
    assert model._trees is not None
    return model._trees.decision(X)


def _torch_probs(model: DeepKT, h: list[Response]) -> np.ndarray:
    """The torch net's forward over the whole history, blended with the stacked logistic model
    (and the boosted trees) computed in one batch from the history (not through the online
    counters)."""
    net = deep_torch.Net(len(model.vocab.items), len(model.vocab.skills), model.hyper)
    net.load_state_dict(
        {k: torch.tensor(np.asarray(v), dtype=torch.float32) for k, v in model.weights.items() if "stack" not in k}
    )
    net.eval()
    arrays = model.encode([h])[0]
    with torch.no_grad():
        logits = net(*(torch.tensor(a)[None] for a in arrays))[0].numpy().astype(float)
    if model.hyper.stack:
        X, _ = _stack_matrix([h], model.vocab)
        blend = model.weights["stack.blend"]
        logits = blend[0] * logits + blend[1] * (X @ model.weights["stack.w"] + model.weights["stack.b"][0]) + blend[-1]
        if model.hyper.gbm:
            logits = logits + blend[2] * _gbm_logits(model, h)
    return 1.0 / (1.0 + np.exp(-logits))


def _replay_online(model: DeepKT, h) -> tuple[list[float], DeepState]:
    """Each response's prediction from the earlier ones through the online path, and the state
    after the last one."""
    state = model.new_state()
    online = []
    for r in h:
        online.append(model.predict(state, r.item, r.skills))
        model.update(state, r)
    return online, state


def test_online_numpy_update_equals_the_trained_torch_forward(model):
    # given a student history the model has not seen
    h = histories(1, seed=9, length=(40, 41))[0]
    # when it is replayed one response at a time through the online path
    online, _ = _replay_online(model, h)
    # then every prediction is what the full causal torch forward gives
    np.testing.assert_allclose(online, _torch_probs(model, h), atol=1e-5)


def test_state_round_trip_predicts_the_same(model):
    state = model.new_state()
    for r in histories(1, seed=3)[0]:
        model.update(state, r)
    restored = model.state_load(model.state_dump(state))
    for item, skills in [("0-1", ("0",)), ("unknown", ("3", "1")), ("x", ())]:
        assert model.predict(restored, item, skills) == pytest.approx(model.predict(state, item, skills), abs=1e-9)
    with pytest.raises(ValueError):
        model.state_load({"method": "bkt", "p": {}, "n": {}})


def test_asking_many_skills_at_once_equals_asking_one_by_one(model):
    state = model.new_state()
    for r in histories(1, seed=4)[0]:
        model.update(state, r)
    together = model.mastery(state, ["0", "1", "2", "3", "new skill"])
    for k, p in together.items():
        assert model.mastery(state, [k])[k] == pytest.approx(p, abs=1e-9)
        assert 0.0 < p < 1.0


def test_unknown_items_and_skills_never_raise(model):
    state = model.new_state()
    model.update(state, Response("brand-new item", ("brand-new skill",), 1.0))
    model.update(state, Response("another", (), 0.0))
    p = model.predict(state, "?", ("??",))
    assert 0.0 < p < 1.0


def test_empty_history_predicts_from_the_item_alone(model):
    p = model.predict(model.new_state(), "0-1", ("0",))
    assert 0.0 < p < 1.0
    assert model.mastery(model.new_state(), []) == {}


def test_bad_credit_is_refused_and_the_state_is_untouched(model):
    state = model.new_state()
    model.update(state, Response("0-1", ("0",), 1.0))
    before = model.state_dump(state)
    with pytest.raises(ValueError):
        model.update(state, Response("0-1", ("0",), 3.0))
    assert model.state_dump(state) == before
    assert state.r_keys is not None and len(state.r_keys) == 1


def test_the_online_cache_is_bounded_by_the_window(model):
    small = DeepKT(DeepHyper(**{**TINY, "window": 8}, n_question_layers=1, n_knowledge_layers=1))
    small.vocab, small.weights = model.vocab, model.weights
    small._compile()
    state = small.new_state()
    for r in histories(1, seed=5, length=(30, 31))[0]:
        small.update(state, r)
    assert state.t == 30
    assert len(state.recent) == 8 and state.r_keys is not None and len(state.r_keys) == 8
    assert len(small.state_dump(state)["recent"]) == 8


def test_artefact_round_trip(model, tmp_path):
    model.save(tmp_path / "deep")
    again = DeepKT.load(tmp_path / "deep")
    test = histories(5, seed=7)
    np.testing.assert_allclose(replay(again, test).y_pred, replay(model, test).y_pred, atol=1e-12)


def test_training_refuses_an_empty_history():
    with pytest.raises(ValueError, match="empty"):
        DeepKT(DeepHyper(**TINY)).fit([[]])


def test_training_is_bounded_by_its_time_budget():
    m = DeepKT(DeepHyper(**{**TINY, "max_epochs": 50, "max_train_cpu_seconds": 0.0}))
    info = m.fit(histories(30, seed=1))
    assert info["epochs"] == 1 and info["stopped"] == "time_budget"


def test_a_state_rebuilt_from_its_window_stays_close_to_the_live_one(model):
    small = DeepKT(DeepHyper(**{**TINY, "window": 10}, n_question_layers=1, n_knowledge_layers=1))
    small.vocab, small.weights = model.vocab, model.weights
    small._compile()
    live = small.new_state()
    for r in histories(1, seed=8, length=(40, 41))[0]:
        small.update(live, r)
    rebuilt = small.state_load(small.state_dump(live))
    for item, skills in [("0-1", ("0",)), ("1-2", ("1",)), ("3-3", ("3", "0"))]:
        assert abs(small.predict(rebuilt, item, skills) - small.predict(live, item, skills)) < 0.05


def test_with_ability_features_the_online_path_still_equals_torch_and_survives_a_round_trip():
    m = DeepKT(DeepHyper(**TINY, ability_features=True, window=1000))
    m.fit(histories(60, seed=0), seed=0)
    h = histories(1, seed=9, length=(30, 31))[0]
    online, state = _replay_online(m, h)
    np.testing.assert_allclose(online, _torch_probs(m, h), atol=1e-5)
    assert state.res and state.res_all != 0.0
    restored = m.state_load(m.state_dump(state, compact=True), h)
    assert m.predict(restored, "0-1", ("0",)) == pytest.approx(m.predict(state, "0-1", ("0",)), abs=1e-9)


def test_with_the_logistic_logit_in_the_head_the_online_path_still_equals_torch(tmp_path):
    # given a model whose attention head also reads the stacked logistic model's logit
    m = DeepKT(DeepHyper(**TINY, stack_in_head=True, stack_folds=3, window=1000))
    info = m.fit(histories(60, seed=0), seed=0)
    assert info["n_train_students"] == 54
    # then the head has one more input, and the online path gives the torch forward's numbers
    h = histories(1, seed=9, length=(30, 31))[0]
    online, state = _replay_online(m, h)
    np.testing.assert_allclose(online, _torch_probs(m, h), atol=1e-5)
    # and the artefact keeps the option
    m.save(tmp_path / "m")
    again = DeepKT.load(tmp_path / "m")
    assert again.hyper.stack_in_head
    assert again.predict(state, "0-1", ("0",)) == pytest.approx(m.predict(state, "0-1", ("0",)), abs=1e-12)


def test_the_logistic_logit_in_the_head_needs_the_stack():
    with pytest.raises(ValueError, match="stack_in_head needs"):
        DeepKT(DeepHyper(**TINY, stack=False, stack_in_head=True)).fit(histories(10, seed=0), seed=0)


def test_predicting_many_items_at_once_equals_one_by_one(model):
    state = model.new_state()
    for r in histories(1, seed=4)[0]:
        model.update(state, r)
    queries = [("0-1", ("0",)), ("unknown", ("3", "1")), ("x", ()), ("2-2", ("2",))]
    assert model.predict_many(state, queries) == pytest.approx(
        [model.predict(state, i, k) for i, k in queries], abs=1e-12
    )
    assert model.predict_many(state, []) == []


def test_the_stack_is_fitted_and_blended_and_old_artefacts_load_without_it(model, tmp_path):
    # the stacked logistic model has one weight per column and a blend that uses the three models
    assert model.hyper.stack and model.hyper.gbm
    a_deep, a_lr, a_gbm, _ = model.weights["stack.blend"]
    assert a_deep != 0.0 and a_lr != 0.0 and a_gbm != 0.0
    # a format-1 artefact (before the stack: no "format", no stack weights) still loads, stack off
    import json

    model.save(tmp_path / "old")
    meta = json.loads((tmp_path / "old" / "deep.json").read_text())
    del meta["format"]
    for key in [k for k in meta["hyper"] if k.startswith(("stack", "gbm"))]:
        meta["hyper"].pop(key)
    (tmp_path / "old" / "deep.json").write_text(json.dumps(meta))
    old = DeepKT.load(tmp_path / "old")
    assert not old.hyper.stack
    h = histories(1, seed=9, length=(20, 21))[0]
    state = old.new_state()
    for r in h:
        old.update(state, r)
    assert 0.0 < old.predict(state, "0-1", ("0",)) < 1.0


def test_an_artefact_of_an_unknown_format_is_refused_clearly(model, tmp_path):
    import json

    model.save(tmp_path / "new")
    meta = json.loads((tmp_path / "new" / "deep.json").read_text())
    meta["format"] = FORMAT + 1
    (tmp_path / "new" / "deep.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=f"format {FORMAT + 1}.*retrain"):
        DeepKT.load(tmp_path / "new")


def test_a_format_2_artefact_is_refused_clearly(model, tmp_path):
    # format 2's logistic model weighed counts on the same item, which states no longer keep:
    # serving it without them would be silently wrong
    import json

    model.save(tmp_path / "f2")
    meta = json.loads((tmp_path / "f2" / "deep.json").read_text())
    meta["format"] = 2
    (tmp_path / "f2" / "deep.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"format 2 is no longer served.*retrain"):
        DeepKT.load(tmp_path / "f2")


def test_the_stored_state_does_not_grow_with_the_items_answered(model):
    # given a student who answers a new item every time (known items, then unknown ones)
    import json

    state = model.new_state()
    sizes = {}
    for t in range(1, 1201):
        model.update(state, Response(item=f"new-{t}", skills=(str(t % 4),), correct=float(t % 3 != 0)))
        if t in (100, 1200):
            sizes[t] = len(json.dumps(model.state_dump(state, compact=True)))
    # then the compact state (written on every answer) stays the same size, bar digits
    assert sizes[1200] <= sizes[100] + 64, sizes


def test_the_recency_counters_follow_the_answers(model):
    # given answers on skills 0, 1, 0 (the last one wrong twice in a row on skill 0)
    state = model.new_state()
    for item, skill, c in [("0-1", "0", 0.0), ("1-1", "1", 1.0), ("0-2", "0", 0.0)]:
        model.update(state, Response(item=item, skills=(skill,), correct=c))
    # then the counters know when each skill was last answered and the run on it
    assert state.seen == {"0": 2, "1": 1}
    assert state.streak == {"0": -2.0, "1": 1.0}
    assert state.prev_skills == ["0"] and state.prev_item == "0-2"
    # and they survive a compact round trip
    restored = model.state_load(model.state_dump(state, compact=True), [])
    assert (restored.seen, restored.streak, restored.prev_item) == (state.seen, state.streak, state.prev_item)


def test_a_compact_state_with_the_old_same_item_counts_still_loads(model):
    h = histories(1, seed=12, length=(25, 26))[0]
    state = model.new_state()
    for r in h:
        model.update(state, r)
    data = model.state_dump(state, compact=True)
    data["item_c"] = {r.item: [1.0, 2.0] for r in h}  # written by format-2 code
    restored = model.state_load(data, h)
    assert model.predict(restored, "0-1", ("0",)) == pytest.approx(model.predict(state, "0-1", ("0",)), abs=1e-9)


def test_a_compact_state_written_before_the_stack_rebuilds_its_counters_from_the_window(model):
    h = histories(1, seed=11, length=(25, 26))[0]
    state = model.new_state()
    for r in h:
        model.update(state, r)
    data = model.state_dump(state, compact=True)
    for key in ("last", "last_any", "ema", "ema_all", "seen", "streak", "prev_skills", "prev_item"):
        data.pop(key)
    restored = model.state_load(data, h)  # the whole history fits the window: exact
    for item, skills in [("0-1", ("0",)), (h[-1].item, h[-1].skills)]:
        assert model.predict(restored, item, skills) == pytest.approx(model.predict(state, item, skills), abs=1e-9)


def test_partial_credit_trains_the_stack():
    hs = histories(40, seed=2)
    hs = [[Response(r.item, r.skills, 0.5 if i % 7 == 0 else r.correct) for i, r in enumerate(h)] for h in hs]
    m = DeepKT(DeepHyper(**TINY))
    m.fit(hs, seed=0)
    state = m.new_state()
    for r in hs[0]:
        m.update(state, r)
    assert 0.0 < m.predict(state, "0-1", ("0",)) < 1.0


def test_a_history_of_right_answers_only_trains_without_a_stack_to_blend():
    hs = [[Response(r.item, r.skills, 1.0) for r in h] for h in histories(20, seed=3)]
    m = DeepKT(DeepHyper(**TINY))
    m.fit(hs, seed=0)
    assert list(m.weights["stack.blend"]) == [1.0, 0.0, 0.0, 0.0]
    assert len(m.weights["stack.gbm.roots"]) == 0  # no trees
    state = m.new_state()
    m.update(state, hs[0][0])
    assert 0.0 < m.predict(state, "0-1", ("0",)) < 1.0


def test_the_exported_trees_give_what_scikit_learn_gives():
    # given boosted trees on numeric inputs and one categorical input (as the skill category)
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 4))
    X[:, 1] = rng.integers(0, 12, size=3000)  # categories 0..11, a column before numeric ones
    y = (X[:, 0] + np.isin(X[:, 1], [2, 5, 7]) + rng.normal(scale=0.5, size=3000) > 0.5).astype(int)
    est = HistGradientBoostingClassifier(max_iter=40, max_leaf_nodes=15, categorical_features=[1], random_state=0)
    est.fit(X, y)
    trees = _Trees(_Trees.export(est, est.n_iter_))
    # when rows with known and unseen categories (12, 200) are scored by the numpy walk
    Z = rng.normal(size=(500, 4))
    Z[:, 1] = rng.choice([0, 2, 5, 7, 11, 12, 200], size=500)
    Z[:5, 0] = X[:5, 0]  # and values on a split threshold's side exactly as in training
    # then it is scikit-learn's decision function (its private tree arrays are what we export)
    np.testing.assert_allclose(trees.decision(Z), est.decision_function(Z), atol=1e-9)
    # and fewer trees are the staged prediction at that iteration
    staged = list(est.staged_decision_function(Z))[9]
    np.testing.assert_allclose(_Trees(_Trees.export(est, 10)).decision(Z), staged, atol=1e-9)


def test_the_trees_read_only_the_counters_of_the_state(model):
    # the trees' inputs come from the counters a compact state keeps: a state restored from
    # its compact dump (no window of answers) predicts what the live one does on the trees' side
    h = histories(1, seed=13, length=(30, 31))[0]
    state = model.new_state()
    for r in h:
        model.update(state, r)
    restored = model.state_load(model.state_dump(state, compact=True), [])
    q = np.array([model.vocab.item("0-1"), model.vocab.item("new")])
    items, keys = ["0-1", "new"], [("0",), ("2", "9")]
    s = np.stack([model.vocab.skill_row(k, model.hyper.max_skills) for k in keys])
    rows = model._gbm_rows(state, q, s, items, keys)
    np.testing.assert_array_equal(model._gbm_rows(restored, q, s, items, keys), rows)
    assert rows[:, GBM_SKILL].tolist()[1] > 0  # skill "2" has a category


def test_a_format_3_artefact_loads_without_the_trees(tmp_path):
    # given an artefact saved before the trees (format 3: a three-weight blend, no gbm hyper)
    import json

    m = DeepKT(DeepHyper(**TINY, gbm=False))
    m.fit(histories(40, seed=0), seed=0)
    m.save(tmp_path / "f3")
    meta = json.loads((tmp_path / "f3" / "deep.json").read_text())
    meta["format"] = 3
    for key in [k for k in meta["hyper"] if k.startswith("gbm")]:
        meta["hyper"].pop(key)
    (tmp_path / "f3" / "deep.json").write_text(json.dumps(meta))
    # when it is loaded, then it serves with the trees off and predicts what it did
    old = DeepKT.load(tmp_path / "f3")
    assert old.hyper.stack and not old.hyper.gbm
    state = old.new_state()
    for r in histories(1, seed=9, length=(20, 21))[0]:
        old.update(state, r)
    assert old.predict(state, "0-1", ("0",)) == pytest.approx(m.predict(state, "0-1", ("0",)), abs=1e-12)


def test_without_the_stack_there_are_no_trees_either():
    m = DeepKT(DeepHyper(**TINY, stack=False))
    info = m.fit(histories(20, seed=0), seed=0)
    assert "gbm_trees" not in info and not any(k.startswith("stack.") for k in m.weights)
    state = m.new_state()
    m.update(state, Response("0-1", ("0",), 1.0))
    assert 0.0 < m.predict(state, "0-1", ("0",)) < 1.0


def test_a_model_saved_with_the_trees_predicts_the_same_after_loading(model, tmp_path):
    model.save(tmp_path / "m")
    again = DeepKT.load(tmp_path / "m")
    assert again.hyper.gbm
    state = model.new_state()
    for r in histories(1, seed=5, length=(20, 21))[0]:
        model.update(state, r)
    assert again.predict(state, "0-1", ("0",)) == pytest.approx(model.predict(state, "0-1", ("0",)), abs=1e-12)


# ---- format 5: the ability bands and the skill set as inputs of the trees, the refit ----------


def test_the_tiny_models_trees_split_on_the_format_5_inputs(model):
    # so that the online-versus-torch test above checks each group of them as well
    feature = model.weights["stack.gbm.feature"]
    read = set(feature[np.isfinite(model.weights["stack.gbm.threshold"])].tolist())
    assert model.hyper.gbm_counters and model.hyper.gbm_bands and model.hyper.gbm_sets
    counters = set(range(N_GBM, N_GBM + N_COUNTER_INPUTS))
    bands = set(range(N_GBM + N_COUNTER_INPUTS, N_GBM + N_COUNTER_INPUTS + 5))
    assert read & counters and read & bands and gbm_width(model.hyper) - 1 in read


def test_a_training_rows_band_inputs_read_only_the_other_folds_counts():
    # given rows of two folds of students, with their items, skills, answers and ability bands
    hp = DeepHyper(**TINY, gbm_bands=4, gbm_sets=False)
    rng = np.random.default_rng(0)
    n = 600
    q = rng.integers(1, 6, n)
    S = np.zeros((n, hp.max_skills), dtype=np.int64)
    S[:, 0] = rng.integers(1, 4, n)
    S[::3, 1] = 4
    credit = rng.integers(0, 2, n).astype(float)
    fold = rng.integers(0, 2, n)
    X = np.zeros((n, N_GBM))
    X[:, GBM_ABILITY] = rng.normal(size=n)
    cuts = np.quantile(X[:, GBM_ABILITY], [0.25, 0.5, 0.75])
    band = np.searchsorted(cuts, X[:, GBM_ABILITY])
    per = [_band_counts(q[fold == f], S[fold == f], band[fold == f], credit[fold == f], 6, 6, 4) for f in (0, 1)]
    every = _GbmTables(cuts, per[0][0] + per[1][0], per[0][1] + per[1][1], {})
    item_n, item_k = np.bincount(q, minlength=6).astype(float), np.bincount(q, credit, minlength=6)
    rows = fold == 0
    # when fold 0's rows read the tables of every fold with their own fold left out
    rates = _band_rates(every, hp, item_n, item_k, 0.6, per[0])
    left_out = _gbm_more(X[rows], q[rows], S[rows], hp, every, rates)
    # then they read what fold 1's counts alone give, and their own answers move nothing
    only_1 = _GbmTables(cuts, per[1][0], per[1][1], {})
    alone = _gbm_more(X[rows], q[rows], S[rows], hp, only_1, _band_rates(only_1, hp, item_n, item_k, 0.6))
    np.testing.assert_allclose(left_out, alone, atol=1e-12)
    assert left_out.shape[1] == N_GBM + 5 and np.ptp(left_out[:, N_GBM + 1]) > 0
    # (and without the leave-out they would not)
    with_own = _gbm_more(X[rows], q[rows], S[rows], hp, every, _band_rates(every, hp, item_n, item_k, 0.6))
    assert not np.allclose(with_own, alone)


def test_the_skill_set_category_knows_frequent_sets_and_gives_0_to_others(model):
    v, hp = model.vocab, model.hyper
    state = model.new_state()
    keys = [("0", "1"), ("0", "2"), ("9",)]  # frequent pair, never-seen pair, unknown skill
    s = np.stack([v.skill_row(k, hp.max_skills) for k in keys])
    rows = model._gbm_rows(state, np.zeros(3, dtype=np.int64), s, [None] * 3, keys)
    assert rows[0, -1] > 0 and rows[1, -1] == 0 and rows[2, -1] == 0


def test_the_refit_keeps_the_blend_and_refits_the_logistic_model_and_trees():
    hs = histories(60, seed=6)
    plain = DeepKT(DeepHyper(**TINY, stack_refit=False))
    plain.fit(hs, seed=0)
    refit = DeepKT(DeepHyper(**TINY))
    info = refit.fit(hs, seed=0)
    assert "stack_refit_cpu_seconds" in info
    np.testing.assert_array_equal(refit.weights["stack.blend"], plain.weights["stack.blend"])
    assert not np.array_equal(refit.weights["stack.w"], plain.weights["stack.w"])
    assert not np.array_equal(refit.weights["stack.gbm.value"], plain.weights["stack.gbm.value"])
    # as many trees as were kept
    assert len(refit.weights["stack.gbm.roots"]) == len(plain.weights["stack.gbm.roots"])


def test_a_format_4_artefact_loads_without_the_format_5_inputs(tmp_path):
    import json

    m = DeepKT(DeepHyper(**TINY, gbm_bands=0, gbm_sets=False, gbm_counters=False, stack_refit=False))
    m.fit(histories(40, seed=0), seed=0)
    m.save(tmp_path / "f4")
    meta = json.loads((tmp_path / "f4" / "deep.json").read_text())
    meta["format"] = 4
    for key in ("gbm_bands", "gbm_sets", "gbm_counters", "stack_refit"):
        meta["hyper"].pop(key)
    (tmp_path / "f4" / "deep.json").write_text(json.dumps(meta))
    old = DeepKT.load(tmp_path / "f4")
    assert old.hyper.gbm and not old.hyper.gbm_bands and not old.hyper.gbm_sets and not old.hyper.gbm_counters
    state = old.new_state()
    for r in histories(1, seed=9, length=(20, 21))[0]:
        old.update(state, r)
    assert old.predict(state, "0-1", ("0",)) == pytest.approx(m.predict(state, "0-1", ("0",)), abs=1e-12)


@pytest.mark.parametrize("bands", [1, -1, GBM_MAX_BANDS + 1])
def test_a_band_count_that_cannot_cut_is_refused(bands):
    with pytest.raises(ValueError, match="gbm_bands"):
        DeepHyper(gbm_bands=bands)


def test_a_compact_state_without_the_trees_counters_gets_them_from_the_window(model):
    # given a compact state written before the trees' counters existed (no sur / sets keys)
    h = histories(1, seed=21, length=(30, 31))[0]
    state = model.new_state()
    for r in h:
        model.update(state, r)
    data = model.state_dump(state, compact=True)
    assert data["sets"] and data["sur"]
    for key in ("sur", "sur_all", "sur_last", "sets"):
        del data[key]
    # when it is loaded with the student's recent answers (the whole history fits the window)
    restored = model.state_load(data, h)
    # then the trees read what they read from the live state
    q = np.array([model.vocab.item(h[-1].item), 0])
    keys = [h[-1].skills, ("1",)]
    s = np.stack([model.vocab.skill_row(k, model.hyper.max_skills) for k in keys])
    np.testing.assert_allclose(
        model._gbm_rows(restored, q, s, [h[-1].item, None], keys),
        model._gbm_rows(state, q, s, [h[-1].item, None], keys),
        atol=1e-12,
    )


def test_the_skill_set_counters_count_the_exact_set_only(model):
    state = model.new_state()
    for r in [Response("0-1", ("0",), 1.0), Response("0-2", ("0", "1"), 0.0), Response("0-3", ("1", "0"), 0.0)]:
        model.update(state, r)
    pair = counter_features(state, ["0", "1"], 0.5)
    alone = counter_features(state, ["0"], 0.5)
    never = counter_features(state, ["2"], 0.5)
    assert pair[3] == pytest.approx(np.log1p(2)) and pair[6] == -2.0  # two answers, two wrong in a row
    assert alone[3] == pytest.approx(np.log1p(1)) and alone[6] == 1.0
    assert never[3:] == [0.0, 0.5, 0.0, 0.0, -1.0]


def test_trees_that_read_inputs_the_hyperparameters_do_not_give_are_refused(model, tmp_path):
    # an artefact whose hyperparameters lost an input group its trees split on (here the
    # counters: a missing key reads as "off") must not serve shifted columns silently
    import json

    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "deep.json").read_text())
    meta["hyper"].pop("gbm_counters")
    (tmp_path / "m" / "deep.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"do not match its trees.*retrain"):
        DeepKT.load(tmp_path / "m")


def test_fit_gbm_gives_each_training_row_the_band_and_set_inputs_of_its_own_fold():
    # given the trees fitted on tiny histories, and the fold of each student as _fit_gbm draws it
    hs = histories(40, seed=4)
    m = DeepKT(DeepHyper(**TINY))
    m.vocab = v = Vocab.build(hs)
    hp = m.hyper
    gbm, _ = m._fit_gbm(hs, [], np.random.default_rng(0), 0)
    assert gbm is not None
    fold = np.random.default_rng(0).permutation(len(hs)) % hp.gbm_folds
    tables = _GbmTables.from_arrays({k: gbm.arrays[k] for k in _GbmTables.KEYS})
    start = np.cumsum([0] + [len(h) for h in hs])
    rows = [slice(start[i], start[i + 1]) for i in range(len(hs))]
    base = N_GBM + N_COUNTER_INPUTS
    for i in (0, 1, 2, 17):
        f = fold[i]
        # the counts of the student's own fold, from that fold's rows as fitted
        mine = [j for j in range(len(hs)) if fold[j] == f]
        q = np.array([v.item(r.item) for j in mine for r in hs[j]])
        S = np.concatenate([np.stack([v.skill_row(r.skills, hp.max_skills) for r in hs[j]]) for j in mine])
        credit = np.array([r.correct for j in mine for r in hs[j]])
        X_f = np.concatenate([gbm.X[rows[j]] for j in mine])
        band = np.searchsorted(tables.cuts, X_f[:, GBM_ABILITY])
        own = _band_counts(q, S, band, credit, len(v.items) + 1, len(v.skills) + 2, hp.gbm_bands)
        n_f = np.bincount(q, minlength=len(v.item_n)).astype(float)
        k_f = np.bincount(q, credit, minlength=len(v.item_n))
        rates = _band_rates(tables, hp, v.item_n - n_f, v.item_k - k_f, v.base_rate, own)
        qi = np.array([v.item(r.item) for r in hs[i]])
        Si = np.stack([v.skill_row(r.skills, hp.max_skills) for r in hs[i]])
        # then the student's rows read exactly those inputs: its own answers in no table
        expected = _gbm_more(gbm.X[rows[i], :base], qi, Si, hp, tables, rates)
        np.testing.assert_allclose(gbm.X[rows[i]], expected, atol=1e-12)


def test_a_state_keeps_counters_for_a_bounded_number_of_skill_sets(model):
    state = model.new_state()
    for j in range(SET_LIMIT + 5):
        model.update(state, Response(f"x-{j}", (f"new-{j}",), float(j % 2)))
    assert len(state.sets) == SET_LIMIT
    assert set_key(["new-0"]) not in state.sets and set_key([f"new-{SET_LIMIT + 4}"]) in state.sets
    assert 0.0 < model.predict(state, "0-1", ("0",)) < 1.0
