"""Lazy, once-per-process loading of knowledge-tracing models and a small cache of live states.

Nothing loads at import (house style: models load in the worker that uses them, never before a
fork). ``model_for`` keeps every loaded artefact keyed by its path (a few MB at most: the deep
model's weights are ~1.3M floats on ASSISTments-size vocabularies). ``StateCache`` keeps the
deep model's per-student KV caches between updates so that a student answering item after item
pays one position per response instead of a rebuild; it is bounded (LRU) because a state with a
full window is ~1.25 MB (its KV buffers keep half a window of spare rows so that an answer writes
one row instead of copying the window): the default 128 states are ~160 MB per worker.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from .base import KnowledgeTracer
from .bkt import BKT
from .deep import DeepKT

METHODS: dict[str, type[KnowledgeTracer]] = {"bkt": BKT, "deep": DeepKT}

_lock = threading.Lock()
_models: dict[str, KnowledgeTracer] = {}
_default: BKT | None = None
# registry version id -> (method, artefact path): what loading it needs, which never changes
# once a version has its artefact (a retrained model is a new version)
VERSIONS: dict[int, tuple[str, str]] = {}


def default_model() -> BKT:
    """The cold-start model: BKT with default parameters for every skill (no training data)."""
    global _default
    if _default is None:
        _default = BKT()
    return _default


class ArtefactRefused(ValueError):
    """An artefact that failed to load before and has not changed since (``model_for``)."""


# key -> (the artefact's files when it failed, the message): an unreadable or refused artefact
# (e.g. a deep model of a format this code no longer serves) is not read and parsed again, under
# the lock, on every answer; it is tried again once its files change (a retrained or restored one)
_refused: dict[str, tuple[tuple[tuple[str, int, int], ...], str]] = {}


def _files(path: Path) -> tuple[tuple[str, int, int], ...]:
    try:
        entries = sorted(path.iterdir()) if path.is_dir() else [path]
        stats = [(p.name, p.stat()) for p in entries]
        return tuple((name, st.st_mtime_ns, st.st_size) for name, st in stats)
    except OSError:
        return ()


def model_for(method: str, path: Path) -> KnowledgeTracer:
    """The model of the artefact at ``path``, loaded once per process. Raises ``OSError``,
    ``ValueError`` or ``KeyError`` for an unreadable artefact, and ``ArtefactRefused`` (a
    ``ValueError``) when the same unchanged artefact failed before: callers log the first
    failure and fall back; the repeats are cheap and need no traceback each time."""
    if method not in METHODS:
        raise ValueError(f"unknown knowledge-tracing method {method!r}")
    key = f"{method}:{path}"
    with _lock:
        model = _models.get(key)
        if model is not None:
            return model
        files = _files(path)
        refused = _refused.get(key)
        if refused is not None and refused[0] == files:
            raise ArtefactRefused(refused[1])
        try:
            model = METHODS[method].load(path)
        except (OSError, ValueError, KeyError) as exc:
            _refused[key] = (files, f"{path}: {exc}")
            raise
        _refused.pop(key, None)
        _models[key] = model
        return model


def forget_models() -> None:
    """Drop loaded models (tests, and after an artefact is deleted)."""
    global _default
    with _lock:
        _models.clear()
        _refused.clear()
        _default = None
        VERSIONS.clear()
    STATES.clear()


class StateCache:
    """LRU of live states keyed by the state row, valid only for an exact (version, position)."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._data: OrderedDict[int, tuple[tuple[Any, ...], Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: int, stamp: tuple[Any, ...]) -> Any | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None or hit[0] != stamp:
                return None
            self._data.move_to_end(key)
            return hit[1]

    def put(self, key: int, stamp: tuple[Any, ...], state: Any) -> None:
        with self._lock:
            self._data[key] = (stamp, state)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def discard(self, key: int) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


STATES = StateCache()
