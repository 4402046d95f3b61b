"""train_grader / evaluate_grader: fine-tuning settings that no training can use (0 epochs, a
negative learning rate) are refused when the command starts, not minutes later inside a
failed training run or a queued task (hunt 2)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from tests import factories as f


@pytest.mark.parametrize(
    ("option", "value"),
    [("--epochs", "0"), ("--epochs", "-1"), ("--max-length", "0"), ("--dapt-epochs", "-1")],
)
def test_train_grader_refuses_unusable_finetune_settings_before_queueing(world, option, value):
    # Given an assignment
    assignment = f.AssignmentFactory(course=world.course)

    # When training is queued with a setting no fine-tuning can run with
    with (
        mock.patch("grading.services.training_enqueue") as enqueue,
        mock.patch("grading.api.training_enqueue") as enqueue_api,
    ):
        with pytest.raises(CommandError) as err:
            call_command("train_grader", str(assignment.pk), "--method", "finetune", "--queue", option, value)

    # Then the command names the option and nothing is queued
    assert option in str(err.value)
    enqueue.assert_not_called()
    enqueue_api.assert_not_called()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--epochs", "0"),
        ("--batch-size", "0"),
        ("--max-length", "-5"),
        ("--lr", "-0.001"),
        ("--lr", "nan"),
        ("--lr", "inf"),
        ("--dapt-epochs", "-1"),
    ],
)
def test_evaluate_grader_refuses_unusable_finetune_settings(tmp_path, option, value):
    with pytest.raises(CommandError) as err:
        call_command("evaluate_grader", str(tmp_path / "none.csv"), "--method", "finetune", option, value)
    assert option in str(err.value)


def test_usable_settings_still_reach_the_file_check(tmp_path):
    with pytest.raises(CommandError) as err:
        call_command(
            "evaluate_grader", str(tmp_path / "none.csv"), "--method", "finetune", "--epochs", "1", "--lr", "2e-5"
        )
    assert "no such file" in str(err.value)


def test_train_grader_refuses_finetune_settings_for_a_fast_model(world):
    # Given an assignment, When a fast model is asked for with fine-tuning settings (which it
    # would silently ignore), Then the command says so, as evaluate_grader does
    assignment = f.AssignmentFactory(course=world.course)
    with mock.patch("grading.api.training_enqueue") as enqueue:
        with pytest.raises(CommandError) as err:
            call_command("train_grader", str(assignment.pk), "--queue", "--epochs", "2")
    assert "finetune only" in str(err.value)
    enqueue.assert_not_called()
