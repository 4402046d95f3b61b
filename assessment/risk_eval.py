"""Evaluation protocols of the at-risk model (``manage.py evaluate_risk``; docs/assessment.md).

1. Simulated population. Fit the risk model on one simulated cohort (seed 0), evaluate on a
   fresh cohort (seed 1): AUC, Brier score (and the base-rate Brier to beat), expected
   calibration error, and a 10-bin reliability table.

2. Interaction logs (e.g. ASSISTments 2009, student folds). The logs have no dates, grades or
   assignments, so only the mastery features vary; engagement features are held constant.
   Two labels, each from information strictly after what the features see:
   - ``low_later_accuracy``: students with at least ``2 * MIN_HALF`` responses; features from
     the first half of their log, label = accuracy on the second half below 50%;
   - ``early_stop``: students with at least ``PREFIX`` responses; features from the first
     ``PREFIX`` responses, label = the log ends before ``STOP_BEFORE`` responses.
   Mastery per skill comes from a BKT fitted on the train-fold students' logs and replayed
   over the observed prefix exactly as the live service does (p, and trend = p now minus p
   five pieces of evidence ago on that skill). The risk model is fitted on train-fold students
   and evaluated on test-fold students. The simulation-trained default model is also scored on
   the same test students without refitting, to show how far its calibration transfers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import risk
from .kt.base import Response
from .kt.bkt import BKT
from .kt.io import StudentLog

MIN_HALF = 10
PREFIX = 10
STOP_BEFORE = 30
TREND_WINDOW = 5


def evaluate_simulated(
    n: int = risk.DEFAULT_SIM_STUDENTS, *, train_seed: int = 0, test_seed: int = 1
) -> dict[str, Any]:
    snaps, y = risk.simulate_cohort(n, seed=train_seed)
    model = risk.RiskModel().fit(np.stack([risk.features(s) for s in snaps]), y, source="simulated")
    test, y_test = risk.simulate_cohort(n, seed=test_seed)
    p = model.predict_proba(np.stack([risk.features(s) for s in test]))
    report = risk.calibration_report(y_test, p)
    flagged = [s for s, q in zip(test, p, strict=True) if q >= risk.DEFAULT_THRESHOLD]
    report["flagged"] = len(flagged)
    report["flagged_with_reasons"] = sum(1 for s in flagged if risk.reasons(model, s, flagged=True))
    report["coefficients"] = dict(zip(risk.FEATURES, np.round(model.coef, 3).tolist(), strict=True))
    return report


def _snapshot(sid: int, prefix: Sequence[Response], bkt: BKT) -> risk.Snapshot:
    state = bkt.new_state()
    per_skill: dict[str, list[float]] = defaultdict(list)
    for r in prefix:
        bkt.update(state, r)
        for k, p in bkt.mastery(state, r.skills).items():
            per_skill[k].append(p)
    skills = tuple(
        risk.SkillState(name=k, p=v[-1], trend=v[-1] - v[max(0, len(v) - 1 - TREND_WINDOW)])
        for k, v in sorted(per_skill.items())
    )
    # no dates, grades or assignments in the logs: engagement features held constant
    return risk.Snapshot(
        student_id=sid, days_inactive=0.0, events_14d=0, n_due=0, n_missing=0, n_late=0, mean_grade=None, skills=skills
    )


def log_dataset(logs: Sequence[StudentLog], bkt: BKT, label: str) -> tuple[list[risk.Snapshot], np.ndarray]:
    snaps: list[risk.Snapshot] = []
    ys: list[int] = []
    for i, s in enumerate(logs):
        r = s.responses
        if label == "low_later_accuracy":
            if len(r) < 2 * MIN_HALF:
                continue
            half = len(r) // 2
            snaps.append(_snapshot(i, r[:half], bkt))
            ys.append(int(np.mean([x.correct for x in r[half:]]) < 0.5))
        elif label == "early_stop":
            if len(r) < PREFIX:
                continue
            snaps.append(_snapshot(i, r[:PREFIX], bkt))
            ys.append(int(len(r) < STOP_BEFORE))
        else:
            raise ValueError(f"unknown label {label!r}")
    return snaps, np.array(ys, dtype=int)


def evaluate_logs(logs: Sequence[StudentLog], test_fold: str) -> dict[str, Any]:
    train = [s for s in logs if s.split != test_fold]
    test = [s for s in logs if s.split == test_fold]
    if not train or not test:
        raise ValueError(f"fold {test_fold} leaves no train or no test students")
    bkt = BKT()
    bkt.fit([s.responses for s in train])
    default = risk.default_risk_model()
    out: dict[str, Any] = {}
    for label in ("low_later_accuracy", "early_stop"):
        tr_s, tr_y = log_dataset(train, bkt, label)
        te_s, te_y = log_dataset(test, bkt, label)
        x_tr = np.stack([risk.features(s) for s in tr_s])
        x_te = np.stack([risk.features(s) for s in te_s])
        model = risk.RiskModel().fit(x_tr, tr_y, source=f"logs, {label}")
        p = model.predict_proba(x_te)
        report = risk.calibration_report(te_y, p)
        flagged = [s for s, q in zip(te_s, p, strict=True) if q >= risk.DEFAULT_THRESHOLD]
        report["flagged"] = len(flagged)
        report["flagged_with_reasons"] = sum(1 for s in flagged if risk.reasons(model, s, flagged=True))
        report["n_train"] = len(tr_y)
        transfer = risk.calibration_report(te_y, default.predict_proba(x_te))
        out[label] = {
            "refit_on_train_folds": report,
            "simulation_model_no_refit": {k: transfer[k] for k in ("auc", "brier", "brier_base_rate", "ece")},
        }
    return out
