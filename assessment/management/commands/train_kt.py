"""python manage.py train_kt --school ID --method bkt|deep [--queue] [--hyper JSON]

Trains a knowledge-tracing model on the school's evidence and registers it; it becomes the
school's serving model only if it beats the current one on the same held-out students.
``--queue`` enqueues the Celery task instead (deep: the ``inference`` queue).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assessment import services, tasks
from eduai.courses.models import School


class Command(BaseCommand):
    help = "Train and register a knowledge-tracing model for a school."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--school", type=int, required=True, help="school id")
        parser.add_argument("--method", choices=["bkt", "deep"], required=True)
        parser.add_argument("--queue", action="store_true", help="enqueue instead of training here")
        parser.add_argument("--hyper", default="", help="hyperparameters as a JSON object")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not School.objects.filter(pk=opts["school"]).exists():
            raise CommandError(f"no school with id {opts['school']}")
        try:
            hyper = json.loads(opts["hyper"]) if opts["hyper"] else None
        except json.JSONDecodeError as exc:
            raise CommandError(f"--hyper is not valid JSON: {exc}") from exc
        if hyper is not None and not isinstance(hyper, dict):
            raise CommandError("--hyper must be a JSON object")
        if opts["queue"]:
            task = tasks.train_deep_kt if opts["method"] == "deep" else tasks.train_bkt
            args_ = (opts["school"], hyper) if opts["method"] == "deep" else (opts["school"],)
            task.delay(*args_)
            self.stdout.write("queued")
            return
        try:
            v = services.kt_model_train(school_id=opts["school"], method=opts["method"], hyperparameters=hyper)
        except (TypeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{v.method} v{v.version}: {v.status}; held-out AUC {v.valid_auc} vs serving {v.baseline_auc}; "
            f"{v.n_train_students} students, {v.n_train_responses} responses, {v.train_seconds:.1f} s"
        )
