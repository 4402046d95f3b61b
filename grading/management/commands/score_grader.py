"""``python manage.py score_grader ASSIGNMENT_ID [--batch N] [--queue] [--no-progress]``

Scores every submission of an assignment that its serving model has not scored yet: now, in
this process, batch by batch with a progress bar (rate, time left), or with ``--queue`` as tasks
on the inference queue (64 essays a task). The same claims and exactly-once rule as the workers:
running it beside them never scores an essay twice with one model version. Ctrl-C stops it:
what was scored is kept, and the essays of the batch in flight are put back where they were.
``--queue`` needs a broker (without one it is refused: the tasks would run here, unseen).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from eduai.courses.models import Assignment
from grading.management.args import int_at_least
from grading.tasks import MAX_IDS_PER_TASK


class Command(BaseCommand):
    help = "Score an assignment's submissions that its serving model has not scored yet."

    def add_arguments(self, parser) -> None:
        parser.add_argument("assignment_id", type=int)
        parser.add_argument("--batch", type=int_at_least(1), help="essays per batch (default EDUAI_SCORING_BATCH)")
        parser.add_argument("--queue", action="store_true", help="enqueue on the inference queue instead")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **opts) -> None:
        from grading import api as grading
        from grading.training import schedule_waiting

        assignment_id = opts["assignment_id"]
        if opts["batch"] is not None and opts["batch"] > MAX_IDS_PER_TASK:
            raise CommandError(f"--batch must be at most {MAX_IDS_PER_TASK}, got {opts['batch']}")
        if not Assignment.objects.filter(pk=assignment_id).exists():
            raise CommandError(f"assignment {assignment_id} does not exist")
        record = grading.serving_model_for(assignment_id=assignment_id)
        if record is None:
            raise CommandError(f"no model serves assignment {assignment_id}: train one first (train_grader)")
        if opts["queue"]:
            if settings.CELERY_TASK_ALWAYS_EAGER:
                raise CommandError(
                    "--queue needs a broker (CELERY_BROKER_URL): without one the tasks would run here, "
                    "with no progress bar; run the command without --queue"
                )
            queued = schedule_waiting(assignment_id=assignment_id, model_id=record.id)
            self.stdout.write(f"queued {queued} submission(s)")
            return
        try:
            result = grading.assignment_score(
                assignment_id=assignment_id, batch_size=opts["batch"], progress=not opts["no_progress"]
            )
        except ValueError as exc:  # the serving model went away meanwhile
            raise CommandError(str(exc)) from exc
        except KeyboardInterrupt as exc:
            raise CommandError(
                "interrupted: the essays scored so far keep their predictions; the batch in flight "
                "was handed back unscored"
            ) from exc
        line = (
            f"scored {len(result.scored)}, failed {len(result.failed)}, skipped {len(result.skipped)} "
            f"in {result.seconds:.1f} s"
        )
        if result.failed:
            shown = "; ".join(f"{sid}: {reason}" for sid, reason in result.failed[:5])
            line += f" (failed: {shown}{' ...' if len(result.failed) > 5 else ''})"
        if result.retry:
            line += f"; {len(result.retry)} failed on the model: run the command again to retry them"
        if result.waiting:
            line += f"; {len(result.waiting)} left waiting: no model serves the assignment any more"
        self.stdout.write(line)
