"""The harness itself: a committed row reaches a separate worker process on each queue.

If this fails, every other integration test would fail for a reason that has nothing to do
with the feature it checks; this one says which piece (broker, worker, shared database) broke.
"""

from __future__ import annotations

import pytest
from django.db import connection

from eduai.accounts.models import User
from eduai.celery import app
from tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_the_suite_runs_on_postgresql_through_a_real_broker(worker):
    assert connection.vendor == "postgresql"
    assert app.conf.task_always_eager is False
    assert app.conf.broker_url.startswith("redis://")


@pytest.mark.parametrize("queue", ["default", "inference"])
def test_a_task_on_each_queue_runs_in_the_worker_and_writes_to_the_test_database(worker, wait_until, queue):
    # Given a user committed by this process
    user = UserFactory(username=f"probe-{queue}", display_name="")

    # When a task naming it goes through the broker to that queue
    app.send_task("eduai_it.mark_user", args=[user.pk], queue=queue)

    # Then the worker (another process, on that queue) read the row and wrote back to it
    marker = wait_until(
        lambda: User.objects.get(pk=user.pk).display_name,
        timeout=60,
        what=f"the worker to mark user {user.pk} via {queue}",
    )
    assert marker == f"seen on {queue} by {worker.name}"
