"""Signals of the grading app (sent after commit, carrying ids).

- ``proposal_ready(sender, submission_id, prediction_id, assignment_id, course_id)``:
  a model's proposed score waits for teacher review (LTI sends PendingManual).
- ``grade_released(sender, submission_id, assignment_id, course_id, score, released_by)``:
  a grade of record reached the student (LTI sends FullyGraded; assessment takes evidence).
"""

from django.dispatch import Signal

proposal_ready = Signal()
grade_released = Signal()
