"""``python manage.py train_grader ASSIGNMENT_ID [--method fast|finetune] [--queue]``

Trains a model for an assignment on its teacher-graded submissions, now, in this process (with
progress bars), or with ``--queue`` as a task on the inference queue. The new model serves only
if it beats the serving one on the same validation essays (the registry record says why).
Below the minimum of teacher-graded essays nothing is trained or queued (``training_shortfall``,
the check behind every "train now").
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from eduai.courses.models import Assignment
from grading.management.args import MIN_MAX_LENGTH, int_at_least
from grading.models import GradingModel, ModelStatus
from grading.selectors import training_shortfall


class Command(BaseCommand):
    help = "Train a grading model for an assignment (on demand)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("assignment_id", type=int)
        parser.add_argument("--method", choices=["fast", "finetune"], default="fast")
        parser.add_argument("--queue", action="store_true", help="enqueue on the inference queue instead")
        parser.add_argument("--epochs", type=int_at_least(1))
        parser.add_argument("--max-length", type=int_at_least(MIN_MAX_LENGTH))
        parser.add_argument("--dapt-epochs", type=int_at_least(0))

    def handle(self, *args, **opts) -> None:
        from grading import api as grading

        if not Assignment.objects.filter(pk=opts["assignment_id"]).exists():
            raise CommandError(f"assignment {opts['assignment_id']} does not exist")
        overrides = {k: opts[k] for k in ("epochs", "max_length", "dapt_epochs") if opts.get(k) is not None}
        if overrides and opts["method"] != "finetune":
            raise CommandError("--epochs/--max-length/--dapt-epochs apply to --method finetune only")
        # A queued run below the minimum would only fail in the worker; trained here, it is refused
        # before the training set is loaded (model_train still checks the rows it loads).
        shortfall = training_shortfall(assignment_id=opts["assignment_id"])
        if shortfall:
            raise CommandError(f"assignment {opts['assignment_id']}: {shortfall}")
        started = timezone.now()
        try:
            if opts["queue"]:
                from django.db import transaction

                with transaction.atomic():
                    grading.training_enqueue(
                        assignment_id=opts["assignment_id"],
                        method=opts["method"],
                        trigger="command",
                        hyperparameters=overrides,
                    )
                self.stdout.write("queued")
                return
            result = grading.model_train(
                assignment_id=opts["assignment_id"],
                method=opts["method"],
                trigger="command",
                finetune_overrides=overrides,
                progress=True,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        except KeyboardInterrupt as exc:
            raise CommandError(_interrupted(opts["assignment_id"], started)) from exc
        self.stdout.write(
            f"v{result.version} ({result.method}): validation QWK {result.val_qwk}, "
            f"{result.seconds:.1f} s; {result.decision}"
        )


def _interrupted(assignment_id: int, since) -> str:
    """What a Ctrl-C left, read from the registry: one that lands while the new model is compared
    with the serving one (``_promote``) finds it ready and kept, not failed."""
    record = (
        GradingModel.objects.filter(assignment_id=assignment_id, trigger="command", created_at__gte=since)
        .order_by("-version")
        .first()
    )
    if record is None:
        return "interrupted before a model was registered: nothing was trained or kept"
    if record.status == ModelStatus.READY:
        serving = (
            "and it serves"
            if record.is_active
            else "but it does not serve: the comparison with the serving model was cut short "
            '(the admin action "Serve this version" makes it serve)'
        )
        return (
            f"interrupted after training: v{record.version} ({record.method}) is ready, its artefact "
            f"{record.artefact} is kept {serving}"
        )
    if record.status == ModelStatus.FAILED:
        return f"interrupted: v{record.version} is marked failed and no artefact was kept"
    return f"interrupted: v{record.version} is still marked {record.status}"
