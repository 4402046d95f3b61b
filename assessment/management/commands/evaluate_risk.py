"""python manage.py evaluate_risk [--logs FILE.csv --test-fold 4] [--students 3000] [--out result.json]

Runs the protocols of ``assessment.risk_eval``: the simulated population always, the
interaction-log protocol when ``--logs`` is given. Prints AUC, Brier, ECE and reliability tables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessment import risk_eval
from assessment.kt.io import LogFormatError, read_interactions

MIN_STUDENTS = 50  # fewer gives reliability bins of a handful of students
# Two cohorts of this size are simulated and held in memory: the default 3,000 took 5.7 s and
# 237 MB RSS (2026-11-29, 2-core dev box), so the bound is a few minutes, not an exhausted box.
MAX_STUDENTS = 100_000


class Command(BaseCommand):
    help = "Evaluate the at-risk model (calibration and discrimination)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--logs", help="interaction log CSV with a fold or split column")
        parser.add_argument("--test-fold", default="test", help="fold (or 'test' for a split column) to test on")
        parser.add_argument("--students", type=int, default=3000, help="simulated students per cohort")
        parser.add_argument("--out", help="write the full result JSON here")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not MIN_STUDENTS <= opts["students"] <= MAX_STUDENTS:
            raise CommandError(f"--students must be between {MIN_STUDENTS} and {MAX_STUDENTS:,}")
        result: dict[str, Any] = {"simulated": risk_eval.evaluate_simulated(opts["students"])}
        self._print("simulated population", result["simulated"])
        if opts["logs"]:
            try:
                logs = read_interactions(opts["logs"])
                result["logs"] = risk_eval.evaluate_logs(logs, str(opts["test_fold"]))
            except (LogFormatError, ValueError) as exc:
                raise CommandError(str(exc)) from exc
            for label, rep in result["logs"].items():
                self._print(f"logs, {label}", rep["refit_on_train_folds"])
                t = rep["simulation_model_no_refit"]
                self.stdout.write(
                    f"  simulation-trained model, no refit: AUC {t['auc']:.3f}  "
                    f"Brier {t['brier']:.3f}  ECE {t['ece']:.3f}"
                )
        if opts["out"]:
            out = Path(opts["out"])
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, indent=2) + "\n")

    def _print(self, title: str, r: dict[str, Any]) -> None:
        self.stdout.write(
            f"{title}: n={r['n']} positive rate {r['positive_rate']:.3f}  AUC {r['auc']:.3f}  "
            f"Brier {r['brier']:.3f} (base rate {r['brier_base_rate']:.3f})  ECE {r['ece']:.3f}  "
            f"flagged {r['flagged']}, with reasons {r['flagged_with_reasons']}"
        )
        self.stdout.write("  bin        n     predicted  observed")
        for row in r["reliability"]:
            self.stdout.write(
                f"  {row['bin']:<9} {row['n']:>5}  {row['mean_predicted']:.3f}      {row['observed_rate']:.3f}"
            )
