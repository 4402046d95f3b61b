"""A task that exists only for the integration suite's own check of its harness.

The worker imports this module (``celery worker -I tests.integration.probe_tasks``); the web
process never does, so the test sends it by name. It proves four things at once: the worker
consumes the queue it was sent to, it reads rows the test committed, it writes to the same
database, and it is a separate process (an in-process eager run has no worker host name).
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="eduai_it.mark_user", bind=True)
def mark_user(self, user_id: int) -> bool:
    from django.contrib.auth import get_user_model

    queue = (self.request.delivery_info or {}).get("routing_key", "?")
    marker = f"seen on {queue} by {self.request.hostname}"
    return get_user_model().objects.filter(pk=user_id).update(display_name=marker) == 1
