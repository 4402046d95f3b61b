"""The service path with the deep model serving: the stored state is compact (no response
window as JSON), a worker without the state in memory rebuilds it from the evidence, and
the numbers are the same as a worker that kept it."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from django.conf import settings

from assessment import api, services
from assessment.kt import loader
from assessment.kt.base import Response
from assessment.kt.deep import DeepHyper, DeepKT
from assessment.models import KTModelVersion, Mastery, MasteryHistory, StudentKTState

from .conftest import answer, at

pytestmark = pytest.mark.django_db

WINDOW = 6
TINY = {"d_model": 16, "n_heads": 2, "d_ff": 32, "d_out": 16, "max_epochs": 2, "batch_size": 16, "threads": 1}
ITEMS = {"F": ("f",), "D": ("d",), "FD": ("f", "d"), "N": ()}


@pytest.fixture(scope="module")
def fitted() -> DeepKT:
    rng = np.random.default_rng(0)
    hist = []
    for _ in range(40):
        skill_p = {"f": rng.random(), "d": rng.random()}
        h = []
        for _ in range(int(rng.integers(5, 25))):
            key = str(rng.choice(list(ITEMS)))
            p = np.mean([skill_p[k] for k in ITEMS[key]]) if ITEMS[key] else 0.5
            h.append(Response(key, ITEMS[key], float(rng.random() < p)))
        hist.append(h)
    m = DeepKT(DeepHyper(**TINY, n_knowledge_layers=1, window=WINDOW))
    m.fit(hist, seed=0)
    return m


@pytest.fixture
def deep(world, maths, fitted) -> DeepKT:
    """The fitted model with its keys renamed to this test's item and skill ids, registered as
    the school's active model."""
    m = copy.deepcopy(fitted)
    items = {"F": maths.item_f, "D": maths.item_d, "FD": maths.item_fd, "N": maths.item_none}
    skills = {"f": maths.fractions, "d": maths.decimals}
    m.vocab.items = {str(items[k].pk): i for k, i in fitted.vocab.items.items()}
    m.vocab.skills = {str(skills[k].pk): i for k, i in fitted.vocab.skills.items()}
    m.save(settings.EDUAI_MODEL_ROOT / "assessment" / "deep-test")
    KTModelVersion.objects.create(
        school=world.school, method="deep", version=1, status="active", artefact_path="assessment/deep-test"
    )
    loader.forget_models()
    return services.serving_model(course_id=maths.course.pk)[0]  # type: ignore[return-value]


def _response(item, correct):
    return Response(str(item.pk), tuple(sorted(str(s.pk) for s in item.skills.all())), 1.0 if correct else 0.0)


def _answer(maths, student, plan, capture, *, minutes=None):
    """Answer each (item, correct) of ``plan`` through the service, one event at a time;
    ``capture`` runs the on-commit hooks (the state cache is filled) when given."""
    for k, (item, correct) in enumerate(plan):
        e = answer(maths.course, student, item, correct, at(minutes[k] if minutes else k))
        if capture is None:
            services.evidence_from_events(event_ids=[e.pk])
        else:
            with capture(execute=True):
                services.evidence_from_events(event_ids=[e.pk])


def _plan(maths, n, seed=0):
    rng = np.random.default_rng(seed)
    items = [maths.item_f, maths.item_d, maths.item_fd, maths.item_none]
    return [(items[int(rng.integers(4))], bool(rng.random() < 0.6)) for _ in range(n)]


def _stored(student, maths):
    return {m.skill_id: m.p for m in Mastery.objects.filter(student=student, course=maths.course)}


def _history(student):
    return list(MasteryHistory.objects.filter(student=student).order_by("at", "id").values_list("skill_id", "p"))


def _expected(deep, responses, *, window=None):
    """(skill, p) after every response, as one process replaying the history would store them;
    with ``window``, as a worker that rebuilds the state from the stored dump and the last
    ``window`` responses before every update."""
    out = []
    state = deep.new_state()
    for k, r in enumerate(responses):
        if window and k:
            state = deep.state_load(deep.state_dump(state, compact=True), responses[:k][-window:])
        deep.update(state, r)
        out += [(int(s), p) for s, p in deep.mastery(state, r.skills).items()]
    return out


def _same(got, expected):
    assert [s for s, _ in got] == [s for s, _ in expected]
    assert [p for _, p in got] == pytest.approx([p for _, p in expected], abs=1e-9)


def test_the_stored_deep_state_is_compact_and_a_cold_worker_gets_the_same_numbers(
    world, maths, deep, django_capture_on_commit_callbacks
):
    # given the same answers, once with the state kept in memory and once rebuilt every time
    plan = _plan(maths, WINDOW - 1)
    twin = type(world.student).objects.create(username="twin")
    _answer(maths, world.student, plan, django_capture_on_commit_callbacks)
    loader.STATES.clear()
    _answer(maths, twin, plan, None)
    # then the stored state holds counters, not the responses, and both give the same mastery
    row = StudentKTState.objects.get(student=world.student)
    assert row.state["method"] == "deep" and "recent" not in row.state and row.n_evidence == WINDOW - 1
    _same(_history(twin), _history(world.student))
    # and both equal the model replaying the whole history in one process
    _same(_history(world.student), _expected(deep, [_response(i, c) for i, c in plan]))


def test_beyond_the_window_a_cold_worker_rebuilds_from_the_last_evidence(world, maths, deep):
    # given more answers than the window, every update on a cold worker
    plan = _plan(maths, 2 * WINDOW + 3, seed=1)
    _answer(maths, world.student, plan, None)
    # then each update was: counters from the stored state, the window from the evidence
    responses = [_response(i, c) for i, c in plan]
    _same(_history(world.student), _expected(deep, responses, window=WINDOW))
    # which differs from a worker that kept everything in memory, but not by much
    assert [p for _, p in _history(world.student)] == pytest.approx([p for _, p in _expected(deep, responses)], abs=0.1)


def test_a_worker_with_an_outdated_state_in_memory_does_not_use_it(
    world, maths, deep, django_capture_on_commit_callbacks
):
    plan = _plan(maths, 4, seed=2)
    # worker A keeps the state after two answers; worker B (its own cache) folds in the third
    _answer(maths, world.student, plan[:2], django_capture_on_commit_callbacks)
    mine = loader.STATES
    loader.STATES = loader.StateCache()
    try:
        _answer(maths, world.student, plan[2:3], django_capture_on_commit_callbacks, minutes=[2])
    finally:
        loader.STATES = mine
    # A gets the fourth: its state is stale (it missed the third), so it rebuilds
    _answer(maths, world.student, plan[3:], django_capture_on_commit_callbacks, minutes=[3])
    _same(_history(world.student), _expected(deep, [_response(i, c) for i, c in plan]))
    assert StudentKTState.objects.get(student=world.student).n_evidence == 4


def test_late_and_duplicate_events_with_the_deep_model(world, maths, deep):
    plan = _plan(maths, 4, seed=3)
    _answer(maths, world.student, plan, None, minutes=[0, 1, 3, 4])
    late = answer(maths.course, world.student, maths.item_f, False, at(2))
    services.evidence_from_events(event_ids=[late.pk])
    before = (_stored(world.student, maths), StudentKTState.objects.get(student=world.student).state)
    services.evidence_from_events(event_ids=[late.pk])  # delivered twice: nothing changes
    assert (_stored(world.student, maths), StudentKTState.objects.get(student=world.student).state) == before
    ordered = [*plan[:2], (maths.item_f, False), *plan[2:]]
    _same(_history(world.student), _expected(deep, [_response(i, c) for i, c in ordered]))


def test_bulk_reads_rebuild_cold_deep_states_in_one_query(world, maths, deep, django_assert_num_queries):
    others = [type(world.student).objects.create(username=f"s{i}") for i in range(3)]
    plans = [_plan(maths, n, seed=10 + n) for n in (2, WINDOW, WINDOW + 4)]
    for student, plan in zip(others, plans, strict=True):
        _answer(maths, student, plan, None)
    loader.STATES.clear()
    items = [maths.item_f.pk, maths.item_fd.pk]
    ids = [s.pk for s in others]
    # users, items, the serving model, the states, the recent evidence of all of them
    with django_assert_num_queries(5):
        bulk = api.predicted_success_for_students(student_ids=ids, item_ids=items, course_id=maths.course.pk)
    for student, plan in zip(others, plans, strict=True):
        one = api.predicted_success(student_id=student.pk, item_ids=items)
        assert bulk[student.pk] == pytest.approx(one, abs=1e-9)
        responses = [_response(i, c) for i, c in plan]
        row = StudentKTState.objects.get(student=student)
        state = deep.state_load(row.state, responses[-WINDOW:])
        expected = {
            i: deep.predict(state, str(i), _response(type(maths.item_f).objects.get(pk=i), True).skills) for i in items
        }
        assert bulk[student.pk] == pytest.approx(expected, abs=1e-9)


def test_a_state_a_reader_holds_does_not_change_when_the_student_answers_again(
    world, maths, deep, django_capture_on_commit_callbacks
):
    # given a reader (predictions for the recommender) holding the student's cached live state,
    # past the window so that the buffers evict and get replaced
    _answer(maths, world.student, _plan(maths, 2 * WINDOW), django_capture_on_commit_callbacks)
    version = KTModelVersion.objects.get(school=world.school)
    held = services.live_states(student_ids=[world.student.pk], course_id=maths.course.pk, model=deep, version=version)[
        world.student.pk
    ]
    queries = [(str(maths.item_f.pk), (str(maths.fractions.pk),)), (str(maths.item_d.pk), (str(maths.decimals.pk),))]
    before = (deep.predict_many(held, queries), deep.state_dump(held))
    # when the student goes on answering through the service (a worker with the state in memory)
    later = list(range(2 * WINDOW, 4 * WINDOW))  # after the first answers: the online path, no replay
    _answer(maths, world.student, _plan(maths, 2 * WINDOW, seed=1), django_capture_on_commit_callbacks, minutes=later)
    # then the held state still gives what it gave: the update worked on a fork of it
    assert (deep.predict_many(held, queries), deep.state_dump(held)) == before
    # and the answers were folded in: the cache has moved on
    now = services.live_states(student_ids=[world.student.pk], course_id=maths.course.pk, model=deep, version=version)
    assert now[world.student.pk] is not held
    assert now[world.student.pk].t == held.t + 2 * WINDOW


def test_a_refused_artefact_is_read_once_logged_once_and_tried_again_when_it_changes(
    world, maths, deep, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    import json
    import logging

    # given the school's deep artefact rewritten in a format this code refuses (an upgrade)
    folder = settings.EDUAI_MODEL_ROOT / "assessment" / "deep-test"
    meta = json.loads((folder / "deep.json").read_text())
    (folder / "deep.json").write_text(json.dumps({**meta, "format": 2}))
    loader.forget_models()
    loads = []
    real_load = DeepKT.load.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(DeepKT, "load", classmethod(lambda cls, path: loads.append(path) or real_load(cls, path)))
    # when three answers arrive
    with caplog.at_level(logging.ERROR, logger=services.log.name):
        _answer(maths, world.student, _plan(maths, 3), django_capture_on_commit_callbacks)
    # then mastery went on with the cold-start BKT, and the artefact was read and logged once
    assert StudentKTState.objects.get(student=world.student).state["method"] == "bkt"
    assert len(loads) == 1
    assert len([r for r in caplog.records if "unreadable" in r.getMessage()]) == 1
    # and once the artefact is fixed (retrained, restored), the next answer loads and serves it
    (folder / "deep.json").write_text(json.dumps({**meta, "note": "restored"}))
    _answer(maths, world.student, [(maths.item_f, True)], django_capture_on_commit_callbacks, minutes=[10])
    assert len(loads) == 2
    assert StudentKTState.objects.get(student=world.student).state["method"] == "deep"
