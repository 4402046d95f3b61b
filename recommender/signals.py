"""Receivers: the recommender listens to the LMS core and to grading, which must not know it.

Each receiver checks cheap conditions, skips raw (fixture) saves and only enqueues after
commit; no ranking, no model, no query beyond one UPDATE happens inside the sender's request.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def on_activity_recorded(sender: Any, event_ids: list[int] | None = None, **kwargs: Any) -> None:
    if not event_ids:
        return
    from . import tasks

    tasks.refresh_after_events.delay_on_commit(list(event_ids))


def on_grade_released(sender: Any, submission_id: int | None = None, **kwargs: Any) -> None:
    if submission_id is None:
        return
    from . import tasks

    tasks.refresh_after_grade.delay_on_commit(int(submission_id))


def on_resource_saved(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """A changed resource: mark its index stale. With a worker, re-embed it now; in-process
    (no broker), the next question or refresh indexes it lazily, so saving a resource never
    waits seconds for an encoder in the request."""
    if raw or instance.pk is None:
        return
    from . import services, tasks

    services.resource_index_invalidate(resource_id=instance.pk)
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        tasks.embed_resources.delay_on_commit([instance.pk])
