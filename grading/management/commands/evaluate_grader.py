"""``python manage.py evaluate_grader FILE.csv --method fast|finetune [--out result.json]``

Trains and scores every prompt of FILE.csv through the production services in a throwaway
SQLite database (see grading/evaluation.py), prints a table and optionally writes JSON:
``{"prompts": {"<prompt_id>": {"qwk", "n_train", "n_test", "coverage"}}, "mean_qwk",
"train_seconds", "score_seconds", "essays_per_second"}``. Reads nothing but FILE.csv.
Ctrl-C stops it cleanly: the temporary database and models are removed, no JSON is written.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from grading.management.args import MIN_MAX_LENGTH, int_at_least, positive_float


class Command(BaseCommand):
    help = "Evaluate the grading engine on a labelled essay CSV (train/test split) in a throwaway database."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="CSV with essay_id, prompt_id, text, score, min_score, max_score, split")
        parser.add_argument("--method", choices=["fast", "finetune"], default="fast")
        parser.add_argument("--out", help="write the result as JSON to this file")
        parser.add_argument(
            "--epochs", type=int_at_least(1), help="fine-tuning epochs (default: EDUAI_FINETUNE_EPOCHS)"
        )
        parser.add_argument(
            "--max-length", type=int_at_least(MIN_MAX_LENGTH), help="fine-tuning max tokens per essay (head+tail)"
        )
        parser.add_argument("--batch-size", type=int_at_least(1), help="fine-tuning batch size")
        parser.add_argument("--lr", type=positive_float, help="fine-tuning encoder learning rate")
        parser.add_argument("--dapt-epochs", type=int_at_least(0), help="domain-adaptive MLM epochs before fine-tuning")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handle(self, *args, **opts) -> None:
        from grading.evaluation import evaluate_file, format_table

        overrides = {
            key: opts[opt]
            for key, opt in [
                ("epochs", "epochs"),
                ("max_length", "max_length"),
                ("batch_size", "batch_size"),
                ("lr", "lr"),
                ("dapt_epochs", "dapt_epochs"),
            ]
            if opts.get(opt) is not None
        }
        if overrides and opts["method"] != "finetune":
            raise CommandError("--epochs/--max-length/--batch-size/--lr/--dapt-epochs apply to --method finetune only")
        try:
            result = evaluate_file(
                opts["file"],
                method=opts["method"],
                finetune_overrides=overrides,
                progress=not opts["no_progress"],
                log=lambda msg: self.stderr.write(msg),
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        except KeyboardInterrupt as exc:
            raise CommandError("interrupted; nothing was written") from exc
        self.stdout.write(format_table(result))
        if opts.get("out"):
            out = Path(opts["out"])
            out.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=out.name, dir=out.parent)
            with os.fdopen(fd, "w") as fh:
                json.dump(result, fh, indent=2)
            os.replace(tmp, out)  # a reader never sees half a file
            self.stdout.write(f"wrote {out}")
