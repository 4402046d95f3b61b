"""``python manage.py grading_sweep``: re-enqueue submissions a lost task left behind.

Finds submissions still ``received`` although a model serves their assignment, and ``scoring``
claims older than ``EDUAI_SCORING_LEASE_SECONDS``; marks training runs abandoned long ago failed.
Also a periodic task (``grading.tasks.sweep_stuck_submissions``) for Celery beat.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Re-enqueue stuck grading work."

    def handle(self, *args, **opts) -> None:
        from grading.tasks import sweep_stuck_submissions

        result = sweep_stuck_submissions()
        self.stdout.write(
            f"requeued {len(result['requeued'])} submission(s); "
            f"{result['abandoned_training_runs']} abandoned training run(s) marked failed"
        )
