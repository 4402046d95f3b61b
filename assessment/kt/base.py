"""The one interface both knowledge-tracing models implement, and the replay that evaluates them.

Contract:

- A student's history is a sequence of :class:`Response` in time order. A response tagged with
  several skills is ONE response: the model makes one prediction for it and one update that
  touches each of its skills.
- ``correct`` is a credit in ``[0, 1]``: 1.0 right, 0.0 wrong, anything between is partial
  credit (a released essay grade). Anything else (``NaN``, ``True``-ish strings, 2) is refused
  with ``ValueError`` by :func:`check_credit` before it can reach a model's state.
- Items and skills are opaque string keys. Keys the model never saw in training are allowed:
  an unknown skill uses the model's average skill, an unknown item the average difficulty.
  No key ever raises.
- ``update`` changes the state in place and costs O(window) for the deep model and O(skills
  of the response) for BKT — never a recomputation of the whole history.
- States serialise to plain JSON (``state_dump``/``state_load``) so they can be stored in the
  database between requests; a compact dump leaves out the last ``recent_needed`` responses,
  which ``state_load`` then takes as an argument (the service reads them from its evidence).
  A loaded BKT state predicts exactly what the live one did; a loaded deep state too while
  the history fits its window (beyond it, the rebuilt cache has seen only the window, the live
  one had seen more: a small difference, tested bounded).
"""

from __future__ import annotations

import copy
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True, slots=True)
class Response:
    item: str
    skills: tuple[str, ...]
    correct: float


History = Sequence[Response]


def check_credit(value: object) -> float:
    """Return ``value`` as a credit in [0, 1], or raise ``ValueError`` with a plain message.

    Booleans and the integers 0/1 are the usual case; floats in [0, 1] are partial credit.
    """
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        if math.isfinite(v) and 0.0 <= v <= 1.0:
            return v
    raise ValueError(f"correct must be a boolean or a credit between 0 and 1, got {value!r}")


class KnowledgeTracer(ABC):
    """A fitted (or default) knowledge-tracing model with an online, per-student state."""

    method: ClassVar[str]

    @abstractmethod
    def fit(
        self,
        train: Sequence[History],
        *,
        valid: Sequence[History] | None = None,
        seed: int = 0,
    ) -> dict[str, Any]:
        """Fit on whole student histories; return what was learned about the fit (for the registry)."""

    @abstractmethod
    def new_state(self) -> Any:
        """The state of a student with no evidence yet."""

    @abstractmethod
    def predict(self, state: Any, item: str, skills: tuple[str, ...]) -> float:
        """P(correct) on ``item`` given everything folded into ``state`` so far."""

    def predict_many(self, state: Any, queries: Sequence[tuple[str, tuple[str, ...]]]) -> list[float]:
        """``predict`` for many (item, skills) at once; the same numbers, cheaper where a model
        can batch them (the recommender scores every practice item of a course)."""
        return [self.predict(state, item, skills) for item, skills in queries]

    @abstractmethod
    def update(self, state: Any, response: Response) -> None:
        """Fold one response into ``state`` in place."""

    @abstractmethod
    def mastery(self, state: Any, skills: Iterable[str]) -> dict[str, float]:
        """Current mastery estimate in [0, 1] per skill (see each model for what it means)."""

    #: How many of the student's latest responses a *compact* dump leaves out and ``state_load``
    #: then needs as ``recent`` (the deep model's window); 0: a dump is the whole state.
    recent_needed: int = 0

    def state_fork(self, state: Any) -> Any:
        """A copy of ``state`` that ``update`` may change while readers go on using ``state``.

        The service never changes a state other workers' readers may hold (``live_states``
        shares cached states): it forks the cached one, updates the fork and publishes that
        after its commit. Models override this with something cheaper than a deep copy."""
        return copy.deepcopy(state)

    @abstractmethod
    def state_dump(self, state: Any, *, compact: bool = False) -> dict[str, Any]:
        """JSON-serialisable form of ``state``. ``compact``: without the last ``recent_needed``
        responses, which the caller keeps elsewhere (the service has them as evidence)."""

    @abstractmethod
    def state_load(self, data: dict[str, Any], recent: Sequence[Response] | None = None) -> Any:
        """Inverse of ``state_dump``; refuses a payload written by another method. A compact
        dump needs ``recent``: the student's last ``recent_needed`` responses (or all, when
        fewer), oldest first."""

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write the artefact (parameters and vocabulary) into ``directory``."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path) -> KnowledgeTracer:
        """Read an artefact written by ``save``."""

    def hyperparameters(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class ReplayResult:
    y_true: np.ndarray
    y_pred: np.ndarray
    update_ms: np.ndarray

    def metrics(self) -> dict[str, float | int]:
        from sklearn.metrics import roc_auc_score

        y = (self.y_true >= 0.5).astype(int)
        p = self.y_pred
        both = len(set(y.tolist())) == 2
        return {
            "auc": float(roc_auc_score(y, p)) if both else float("nan"),
            "acc": float(np.mean((p >= 0.5) == (y == 1))) if len(y) else float("nan"),
            "rmse": float(np.sqrt(np.mean((p - self.y_true) ** 2))) if len(y) else float("nan"),
            "n_test_responses": len(y),
            "update_ms_p50": float(np.percentile(self.update_ms, 50)) if len(self.update_ms) else float("nan"),
            "update_ms_p99": float(np.percentile(self.update_ms, 99)) if len(self.update_ms) else float("nan"),
        }


def replay(model: KnowledgeTracer, histories: Iterable[History]) -> ReplayResult:
    """Predict every response from the student's earlier responses only, through the online path.

    The timed part is what a live update costs: folding the response into the state and reading
    back the mastery of its skills (what ``services`` stores). The prediction before it is not
    timed: a live system predicts only when someone asks.
    """
    y_true: list[float] = []
    y_pred: list[float] = []
    times: list[float] = []
    for history in histories:
        state = model.new_state()
        for response in history:
            y_pred.append(model.predict(state, response.item, response.skills))
            y_true.append(response.correct)
            t0 = time.perf_counter()
            model.update(state, response)
            model.mastery(state, response.skills)
            times.append((time.perf_counter() - t0) * 1000.0)
    return ReplayResult(np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float), np.asarray(times))
