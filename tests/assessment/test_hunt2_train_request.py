"""POST /api/v1/assessment/models/: training is queued only for a school that exists (hunt 2)."""

from __future__ import annotations

from unittest import mock

from tests import factories as f

URL = "/api/v1/assessment/models/"


def test_a_superuser_cannot_queue_training_for_a_school_that_does_not_exist(
    api_as, world, django_capture_on_commit_callbacks
):
    # Given a superuser (a school admin of every school)
    root = f.UserFactory(username="root", is_superuser=True)
    missing = world.other_school.pk + 1000

    # When they ask to train a school id that does not exist
    with mock.patch("assessment.tasks.train_bkt.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            r = api_as(root).post(URL, {"school_id": missing, "method": "bkt"}, format="json")

    # Then nothing is queued (the task could only fail) and the answer says why
    assert r.status_code == 400, r.content
    assert "school_id" in r.json()
    delay.assert_not_called()


def test_a_superuser_still_queues_training_for_a_real_school(api_as, world, django_capture_on_commit_callbacks):
    root = f.UserFactory(username="root", is_superuser=True)
    with mock.patch("assessment.tasks.train_bkt.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            r = api_as(root).post(URL, {"school_id": world.other_school.pk, "method": "bkt"}, format="json")
    assert r.status_code == 202
    delay.assert_called_once_with(world.other_school.pk)
