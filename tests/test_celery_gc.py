"""Worker processes freeze their start-up objects out of the garbage collector (eduai/celery.py)."""

from __future__ import annotations

import gc

import pytest
from celery.signals import worker_process_init, worker_ready

from eduai import celery as eduai_celery


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_worker_process_freezes_what_it_holds_once_up(unfrozen, settings):
    # given a worker process that has just forked (prefork) or become ready (solo pool)
    settings.EDUAI_GC_FREEZE = True
    assert gc.get_freeze_count() == 0
    # when Celery sends either signal
    worker_process_init.send(sender=None)
    # then the objects alive are out of the collector's reach
    assert gc.get_freeze_count() > 10_000
    gc.unfreeze()
    worker_ready.send(sender=None)
    assert gc.get_freeze_count() > 10_000


def test_the_freeze_can_be_switched_off(unfrozen, settings):
    settings.EDUAI_GC_FREEZE = False
    eduai_celery.gc_freeze_startup_objects()
    worker_process_init.send(sender=None)
    assert gc.get_freeze_count() == 0
