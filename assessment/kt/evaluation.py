"""Held-out evaluation shared by ``manage.py evaluate_mastery`` and ``bench/mastery.py``.

Protocol: fit on the train students' whole histories (the deep model keeps 10% of them aside
for early stopping — never a test student), then replay every test student's responses in
order through the online path (``base.replay``): each response is predicted from that
student's earlier responses only, then folded in. AUC/accuracy/RMSE are over all test
responses pooled; update times are per response (update + reading back its skills' mastery).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from .base import History, KnowledgeTracer, replay
from .bkt import BKT
from .deep import DeepHyper, DeepKT


def make_model(name: str, hyper: dict[str, Any] | None = None) -> KnowledgeTracer:
    if name == "bkt":
        return BKT(**(hyper or {}))
    if name == "deep":
        return DeepKT(DeepHyper(**(hyper or {})))
    raise ValueError(f"unknown model {name!r}; expected bkt or deep")


def evaluate(
    name: str,
    train: Sequence[History],
    test: Sequence[History],
    *,
    hyper: dict[str, Any] | None = None,
    seed: int = 0,
) -> tuple[dict[str, Any], dict[str, Any], KnowledgeTracer]:
    """Returns (metrics in the evaluate_mastery format, fit details, the fitted model)."""
    train = [h for h in train if len(h)]
    test = [h for h in test if len(h)]
    if not train:
        raise ValueError("no training students with responses")
    if not test:
        raise ValueError("no test students with responses")
    model = make_model(name, hyper)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    info = model.fit(train, seed=seed)
    train_seconds = time.perf_counter() - wall0
    info["train_cpu_seconds"] = time.process_time() - cpu0
    result = replay(model, test).metrics()
    metrics = {
        "auc": result["auc"],
        "acc": result["acc"],
        "rmse": result["rmse"],
        "n_test_responses": result["n_test_responses"],
        "train_seconds": train_seconds,
        "update_ms_p50": result["update_ms_p50"],
        "update_ms_p99": result["update_ms_p99"],
    }
    return metrics, info, model
