"""python manage.py evaluate_mastery FILE.csv --model bkt|deep [--out result.json]

FILE.csv: student_id, seq, item_id, skill_ids (';'-separated), correct, split (train/test,
per student). The one-row-per-skill form (skill_id, rows of one response sharing
student_id + seq) and a ``fold`` column (with --test-fold) are accepted too. Fits on the
train students, replays each test student through the online update path, and writes
{"auc", "acc", "rmse", "n_test_responses", "train_seconds", "update_ms_p50", "update_ms_p99"}.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessment.kt.evaluation import evaluate
from assessment.kt.io import LogFormatError, read_interactions


class Command(BaseCommand):
    help = "Evaluate a knowledge-tracing model on held-out students of an interaction log."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="interaction log CSV")
        parser.add_argument("--model", choices=["bkt", "deep"], required=True)
        parser.add_argument("--out", help="write the result JSON here (also printed)")
        parser.add_argument("--test-fold", help="when the file has a fold column: the fold to test on")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--hyper", default="", help="model hyperparameters as JSON, e.g. '{\"max_epochs\": 5}'")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            hyper = json.loads(opts["hyper"]) if opts["hyper"] else None
        except json.JSONDecodeError as exc:
            raise CommandError(f"--hyper is not valid JSON: {exc}") from exc
        if hyper is not None and not isinstance(hyper, dict):
            raise CommandError("--hyper must be a JSON object")
        try:
            logs = read_interactions(opts["file"])
        except LogFormatError as exc:
            raise CommandError(str(exc)) from exc
        except ValueError as exc:  # anything the reader does not check itself: still a message, not a traceback
            raise CommandError(f"{opts['file']}: not a usable interaction log ({exc})") from exc
        splits = {s.split for s in logs}
        if splits <= {"train", "test"}:
            train = [s.responses for s in logs if s.split == "train"]
            test = [s.responses for s in logs if s.split == "test"]
        else:
            fold = opts["test_fold"]
            if fold is None:
                raise CommandError(f"the file has folds ({', '.join(sorted(splits))}); give --test-fold")
            if fold not in splits:
                raise CommandError(f"fold {fold} is not in the file (folds: {', '.join(sorted(splits))})")
            train = [s.responses for s in logs if s.split != fold]
            test = [s.responses for s in logs if s.split == fold]
        if not train:
            raise CommandError("no train students in the file")
        if not test:
            raise CommandError("no test students in the file")
        try:
            metrics, info, _model = evaluate(opts["model"], train, test, hyper=hyper, seed=opts["seed"])
        except (TypeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        details = {k: v for k, v in info.items() if k != "history"}
        self.stderr.write(f"fit: {json.dumps(details, default=str)}")
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}
        text = json.dumps(clean, indent=2)
        if opts["out"]:
            out = Path(opts["out"])
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text + "\n")
        self.stdout.write(text)
