"""The Celery app.

Queues: ``default`` (bookkeeping, mastery updates, recommendations) and ``inference`` (anything
that loads a model; consumed by the GPU worker, one process per device). Routing lives in
``settings.CELERY_TASK_ROUTES``. With no ``CELERY_BROKER_URL`` tasks run in-process.

Start workers (see README "Workers"):
    celery -A eduai worker -Q default -c 2 -n default@%h
    celery -A eduai worker -Q inference -c 1 --pool solo -n inference@%h
"""

from __future__ import annotations

import gc
import os

from celery import Celery
from celery.signals import worker_process_init, worker_ready
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduai.settings")

app = Celery("eduai")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("inference"))
app.autodiscover_tasks()


@worker_process_init.connect(dispatch_uid="eduai.gc_freeze.child")
@worker_ready.connect(dispatch_uid="eduai.gc_freeze.ready")
def gc_freeze_startup_objects(**_kwargs: object) -> None:
    """Move every object alive once a worker process is up (Django, the apps, numpy, torch when
    imported) to the collector's permanent generation (``gc.freeze``).

    A full collection otherwise walks all of them, hundreds of thousands of long-lived objects,
    in the middle of whatever task is running: that was about 1 ms of the mastery update's p99
    on the dev box (docs/assessment.md, "Service path"). Prefork children run it after the fork
    (``worker_process_init``), a solo-pool worker once ready (``worker_ready``). Frozen objects
    are never freed by the collector; they live as long as the process anyway.
    """
    from django.conf import settings

    if getattr(settings, "EDUAI_GC_FREEZE", True):
        gc.collect()
        gc.freeze()
