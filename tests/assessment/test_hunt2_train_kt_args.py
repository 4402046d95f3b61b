"""train_kt --hyper: hyperparameters are a JSON object, as evaluate_mastery requires; anything
else is refused before a task is queued (hunt 2)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.management import CommandError, call_command


@pytest.mark.parametrize("hyper", ["[1]", "3", '"deep"'])
@pytest.mark.parametrize("method", ["bkt", "deep"])
def test_a_hyper_that_is_not_an_object_is_refused_before_queueing(world, method, hyper):
    with (
        mock.patch("assessment.tasks.train_deep_kt.delay") as deep,
        mock.patch("assessment.tasks.train_bkt.delay") as bkt,
    ):
        with pytest.raises(CommandError) as err:
            call_command("train_kt", "--school", str(world.school.pk), "--method", method, "--queue", "--hyper", hyper)
    assert "--hyper must be a JSON object" in str(err.value)
    deep.assert_not_called()
    bkt.assert_not_called()


def test_an_object_is_still_queued(world):
    with mock.patch("assessment.tasks.train_deep_kt.delay") as deep:
        call_command(
            "train_kt", "--school", str(world.school.pk), "--method", "deep", "--queue", "--hyper", '{"max_epochs": 2}'
        )
    deep.assert_called_once_with(world.school.pk, {"max_epochs": 2})
