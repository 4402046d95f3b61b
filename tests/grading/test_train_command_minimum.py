"""train_grader --queue applies the same minimum of teacher-graded essays as every other "train
now" (grading.selectors.training_shortfall): below it nothing is queued (the worker would only
fail the run) and the command says why."""

from __future__ import annotations

from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from grading import conf
from tests import factories as f


def test_queueing_below_the_minimum_is_refused_and_queues_nothing(world, make_graded):
    assignment = f.AssignmentFactory(course=world.course)
    make_graded(assignment, conf.MIN_TRAINING_ESSAYS - 1)
    with mock.patch("grading.api.training_enqueue") as enqueue:
        with pytest.raises(CommandError, match=rf"at least {conf.MIN_TRAINING_ESSAYS} needed"):
            call_command("train_grader", str(assignment.pk), "--queue")
    enqueue.assert_not_called()


def test_queueing_at_the_minimum_queues(world, make_graded):
    assignment = f.AssignmentFactory(course=world.course)
    make_graded(assignment, conf.MIN_TRAINING_ESSAYS)
    out = StringIO()
    with mock.patch("grading.api.training_enqueue") as enqueue:
        call_command("train_grader", str(assignment.pk), "--queue", "--method", "finetune", stdout=out)
    enqueue.assert_called_once()
    assert enqueue.call_args.kwargs["method"] == "finetune" and out.getvalue().strip() == "queued"
