"""Signals of the grading app (sent after commit, carrying ids), and grading's receivers.

Sent by grading:
- ``proposal_ready(sender, submission_id, prediction_id, assignment_id, course_id)``:
  a model's proposed score waits for teacher review (LTI sends PendingManual). Sent by
  ``serving`` after the commit that stored the prediction and moved the submission to ``scored``.
- ``grade_released(sender, submission_id, assignment_id, course_id, score, released_by)``:
  a grade of record reached the student (LTI sends FullyGraded; assessment takes evidence).

Received by grading (connected in ``GradingConfig.ready()``):
- ``eduai.courses.signals.submission_received`` -> enqueue ``grading.tasks.score_submissions``
  after commit. Scoring stores the submission's embedding first, so a submission that arrives
  before any model exists still has its embedding ready for the first training run.
"""

from django.dispatch import Signal

proposal_ready = Signal()
grade_released = Signal()


def on_submission_received(sender, submission_id=None, raw=False, **kwargs) -> None:
    """Enqueue scoring of a new submission (it is already committed: the core sends on commit)."""
    if raw or submission_id is None:
        return
    from .tasks import score_submissions

    score_submissions.delay_on_commit([int(submission_id)])
