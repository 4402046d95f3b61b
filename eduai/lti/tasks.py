"""Celery tasks of the LTI tool: thin, taking ids, safe to run twice (the services claim rows)."""

from __future__ import annotations

import logging

from celery import shared_task

from . import services
from .models import LtiContext

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def send_outbox(outbox_ids: list[int] | None = None) -> dict[str, int]:
    """Post due AGS scores. With ids: those rows (just enqueued); without: every due row (beat)."""
    return services.outbox_send(outbox_ids=outbox_ids)


@shared_task(acks_late=True, soft_time_limit=540, time_limit=600)
def sync_roster(context_pk: int) -> dict[str, int]:
    result = services.roster_sync(context_pk=context_pk)
    return {
        "active": result.active,
        "deactivated": result.deactivated,
        "skipped": result.skipped,
        "archived": int(result.archived),
    }


@shared_task
def sync_all_rosters() -> int:
    """The scheduled roster sync: one task per LMS course that offers NRPS, archived courses
    left out (their roster is frozen; docs/courses.md). Returns how many were queued."""
    contexts = LtiContext.objects.exclude(memberships_url="").filter(platform__is_active=True)
    archived = contexts.filter(course__is_active=False).count()
    if archived:
        logger.info("LTI roster sync: %d archived course(s) skipped", archived)
    pks = list(contexts.filter(course__is_active=True).values_list("pk", flat=True))
    for pk in pks:
        sync_roster.delay(pk)
    return len(pks)


@shared_task
def purge_launch_data() -> int:
    from .tool import launch_data_purge

    return launch_data_purge()
