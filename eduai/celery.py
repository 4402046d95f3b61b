"""The Celery app.

Queues: ``default`` (bookkeeping, mastery updates, recommendations) and ``inference`` (anything
that loads a model; consumed by the GPU worker, one process per device). Routing lives in
``settings.CELERY_TASK_ROUTES``. With no ``CELERY_BROKER_URL`` tasks run in-process.

Start workers (see README "Workers"):
    celery -A eduai worker -Q default -c 2 -n default@%h
    celery -A eduai worker -Q inference -c 1 --pool solo -n inference@%h
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eduai.settings")

app = Celery("eduai")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("inference"))
app.autodiscover_tasks()
