"""Hook points of the LMS core.

Both signals are sent only after the writing transaction commits (``transaction.on_commit``),
once per write, carrying ids only, and never for a rolled-back write. Receivers (grading,
assessment, recommender) connect in their ``AppConfig.ready()`` and should only enqueue work.

- ``submission_received(sender=Submission, submission_id, assignment_id, course_id, author_id)``
- ``activity_recorded(sender=ActivityEvent, event_ids: list[int], course_ids: list[int],
  actor_ids: list[int])`` — one send per ingestion call, with every new event's id.
"""

from django.dispatch import Signal

submission_received = Signal()
activity_recorded = Signal()
