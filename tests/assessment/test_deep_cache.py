"""The deep model's KV cache in buffers with spare rows (``_KVCache``) computes exactly what the
caches grown by ``np.concatenate`` computed (the code before it, kept below as the reference),
over more answers than the window, across eviction and across a state reload, and it writes an
answer in place instead of copying the window."""

from __future__ import annotations

import numpy as np
import pytest

from assessment.kt.base import Response
from assessment.kt.deep import PAD, DeepHyper, DeepKT, DeepState, _Layer, _masked_attend

from .test_kt_deep import TINY, histories

WINDOW = 12


class _ConcatState(DeepState):
    # the six caches as plain arrays again (class attributes shadow the views of ``DeepState``)
    pos = srows = r_keys = r_vals = q_cache = k_cache = None  # type: ignore[assignment]


def _overlap_all_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The skill-set overlap as it was computed before: every pair of slots at once."""
    if len(b) == 0:
        return np.zeros((len(a), 0))
    same = (a[:, None, :, None] == b[None, :, None, :]) & (a[:, None, :, None] != PAD)
    inter = same.sum((2, 3))
    na = (a != PAD).sum(1)
    nb = (b != PAD).sum(1)
    return inter / np.sqrt(np.maximum(na[:, None] * nb[None, :], 1))


class ConcatKT(DeepKT):
    """The online update as it was before the buffers: every answer concatenates one row onto
    every cache (a copy of the window) and eviction slices them."""

    def new_state(self) -> DeepState:
        d = self.hyper.d_model
        empty = np.zeros((0, d))
        state = _ConcatState()
        state.q_cache = [(empty, empty) for _ in self._q_layers]
        state.k_cache = [(empty, empty) for _ in self._k_layers]
        state.r_keys, state.r_vals = empty, empty
        state.pos = np.zeros(0, dtype=np.int64)
        state.srows = np.zeros((0, self.hyper.max_skills), dtype=np.int64)
        return state

    def _append(self, state, q, s, c) -> None:  # type: ignore[no-untyped-def]
        n = len(q)
        x = self._x(q, s)
        y = self._y(x, q, s, c)
        new_pos = state.t + np.arange(n)
        all_pos = np.concatenate([state.pos, new_pos])
        all_rows = np.concatenate([state.srows, s])
        dist = new_pos[:, None] - all_pos[None, :]
        causal = dist >= 0
        big = np.where(causal, dist, 0).astype(float)
        overlap = _overlap_all_pairs(s, all_rows)

        def run(layers: list[_Layer], cache: list, h: np.ndarray) -> np.ndarray:
            for li, layer in enumerate(layers):
                K, V = cache[li]
                K2 = np.concatenate([K, layer.keys(h)])
                V2 = np.concatenate([V, layer.values(h)])
                cache[li] = (K2, V2)
                if n == 1:
                    h = layer.attend(h, K2, V2, big, overlap)
                else:
                    h = _masked_attend(layer, h, K2, V2, big, overlap, causal)
            return h

        xh = run(self._q_layers, state.q_cache, x)
        yh = run(self._k_layers, state.k_cache, y)
        state.r_keys = np.concatenate([state.r_keys, self._retriever.keys(xh)])
        state.r_vals = np.concatenate([state.r_vals, self._retriever.values(yh)])
        state.pos = all_pos
        state.srows = all_rows
        state.t += n

    def _evict(self, state, k: int) -> None:  # type: ignore[no-untyped-def]
        state.recent = state.recent[k:]
        state.pos = state.pos[k:]
        state.srows = state.srows[k:]
        state.q_cache = [(K[k:], V[k:]) for K, V in state.q_cache]
        state.k_cache = [(K[k:], V[k:]) for K, V in state.k_cache]
        state.r_keys, state.r_vals = state.r_keys[k:], state.r_vals[k:]


@pytest.fixture(scope="module")
def pair() -> tuple[DeepKT, ConcatKT]:
    """A fitted model with a question-encoder and a knowledge-encoder layer (both caches), and
    the same weights behind the reference update."""
    model = DeepKT(DeepHyper(**TINY, n_question_layers=1, n_knowledge_layers=1, window=WINDOW))
    model.fit(histories(40, seed=0), seed=0)
    ref = ConcatKT(model.hyper)
    ref.vocab, ref.weights = model.vocab, model.weights
    ref._compile()
    return model, ref


def _answers(n: int) -> list[Response]:
    """``n`` answers of one student: one- and two-skill items, unknown items and skills, an
    item without skills, partial credit."""
    base = [r for h in histories(8, seed=11, length=(20, 21)) for r in h]
    out = []
    for k in range(n):
        r = base[k % len(base)]
        if k % 9 == 4:
            r = Response("never seen", ("new skill",), r.correct)
        elif k % 13 == 6:
            r = Response(r.item, (), 0.5)
        out.append(r)
    return out


QUERIES = [("0-1", ("0",)), ("1-2", ("1", "2")), ("unknown", ("3", "new skill")), ("x", ())]
SKILLS = ["0", "1", "2", "3", "new skill"]


def _same(model: DeepKT, state: DeepState, ref: ConcatKT, ref_state: DeepState) -> None:
    got = model.predict_many(state, QUERIES) + list(model.mastery(state, SKILLS).values())
    want = ref.predict_many(ref_state, QUERIES) + list(ref.mastery(ref_state, SKILLS).values())
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_buffers_give_the_numbers_of_the_concatenated_caches_past_the_window(pair):
    model, ref = pair
    state, ref_state = model.new_state(), ref.new_state()
    # given five windows of answers (the buffers grow, fill, evict and move their rows down)
    for r in _answers(5 * WINDOW):
        model.update(state, r)
        ref.update(ref_state, r)
        # then after every answer each prediction and mastery is the reference's
        _same(model, state, ref, ref_state)
    assert len(state.r_keys) == WINDOW and state.t == 5 * WINDOW
    np.testing.assert_array_equal(state.pos, ref_state.pos)
    np.testing.assert_array_equal(state.srows, ref_state.srows)
    for (K, V), (rK, rV) in zip(state.q_cache + state.k_cache, ref_state.q_cache + ref_state.k_cache, strict=True):
        np.testing.assert_allclose(K, rK, rtol=0, atol=1e-12)
        np.testing.assert_allclose(V, rV, rtol=0, atol=1e-12)


@pytest.mark.parametrize("reload_at", [3, WINDOW, WINDOW + 1, 2 * WINDOW + 5])
@pytest.mark.parametrize("compact", [False, True])
def test_a_reloaded_state_goes_on_as_the_reference_does(pair, reload_at, compact):
    model, ref = pair
    answers = _answers(reload_at + 2 * WINDOW)
    state, ref_state = model.new_state(), ref.new_state()
    for r in answers[:reload_at]:
        model.update(state, r)
        ref.update(ref_state, r)
    # when both states are written out and read back (a worker without them in memory)
    recent = answers[:reload_at][-WINDOW:]
    state = model.state_load(model.state_dump(state, compact=compact), recent)
    ref_state = ref.state_load(ref.state_dump(ref_state, compact=compact), recent)
    _same(model, state, ref, ref_state)
    # then they go on identically for two more windows
    for r in answers[reload_at:]:
        model.update(state, r)
        ref.update(ref_state, r)
        _same(model, state, ref, ref_state)


def test_an_answer_at_a_full_window_writes_in_place(pair):
    model, _ = pair
    state = model.new_state()
    answers = _answers(8 * WINDOW)
    for r in answers[: 2 * WINDOW]:
        model.update(state, r)
    kv = state.kv
    copies = 0
    for r in answers[2 * WINDOW :]:
        before = kv.r[0]
        model.update(state, r)
        copies += kv.r[0] is not before
        # the live rows are views of the buffers, not copies
        assert np.shares_memory(state.r_keys, kv.r[0]) and np.shares_memory(state.k_cache[0][1], kv.k[0][1])
    # the window's rows were copied once per ``spare`` (window / 2) answers, not on every answer
    spare = WINDOW // 2
    assert kv.cap == WINDOW + spare
    assert copies == pytest.approx(6 * WINDOW / spare, abs=1)


def test_rows_a_reader_holds_are_never_overwritten(pair):
    # given views of a full window's caches taken by a reader (``live_states`` shares states)
    model, _ = pair
    state = model.new_state()
    answers = _answers(5 * WINDOW)
    for r in answers[: 2 * WINDOW]:
        model.update(state, r)
    held = [state.pos, state.srows, state.r_keys, state.r_vals, *state.q_cache[0], *state.k_cache[0]]
    snapshot = [a.copy() for a in held]
    # when the student goes on answering (appends, evictions, copies to new buffers)
    for r in answers[2 * WINDOW :]:
        model.update(state, r)
    # then what the reader holds is what it was
    for a, b in zip(held, snapshot, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_failed_update_leaves_the_cache_as_it_was(pair, monkeypatch):
    model, _ = pair
    state = model.new_state()
    for r in _answers(WINDOW + 3):
        model.update(state, r)
    before = (state.kv.start, state.kv.end, state.t, state.r_vals.copy(), [k.copy() for k, _ in state.q_cache])
    calls = []

    def broken(x):
        calls.append(1)
        raise RuntimeError("out of memory")

    # the failure comes half-way through the append: after every encoder layer wrote its row
    monkeypatch.setattr(model._retriever, "values", broken)
    with pytest.raises(RuntimeError):
        model.update(state, Response("0-1", ("0",), 1.0))
    monkeypatch.undo()
    assert calls, "the update did not reach the append"
    assert (state.kv.start, state.kv.end, state.t) == before[:3]
    np.testing.assert_array_equal(state.r_vals, before[3])
    for (k, _), held in zip(state.q_cache, before[4], strict=True):
        np.testing.assert_array_equal(k, held)


def test_a_fork_goes_on_alone_and_the_state_it_came_from_does_not_change(pair):
    # given a state a reader holds (the service publishes states and updates forks of them)
    model, ref = pair
    answers = _answers(3 * WINDOW)
    state, ref_state = model.new_state(), ref.new_state()
    for r in answers[:WINDOW]:
        model.update(state, r)
        ref.update(ref_state, r)
    held = (model.predict_many(state, QUERIES), model.mastery(state, SKILLS), model.state_dump(state))
    # when a fork takes every later answer (appends, evictions, new buffers)
    fork = model.state_fork(state)
    for r in answers[WINDOW:]:
        model.update(fork, r)
        ref.update(ref_state, r)
    # then the fork computes what one state taking every answer computes
    _same(model, fork, ref, ref_state)
    # and the state it came from still gives what it gave, counters and all
    assert model.predict_many(state, QUERIES) == held[0]
    assert model.mastery(state, SKILLS) == held[1]
    assert model.state_dump(state) == held[2]
