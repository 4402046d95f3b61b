"""Tables of the review loop: the audit trail, the teacher's decision, the release, the evidence.

Invariants:
- ``ReviewEvent`` is append-only: every proposal, acceptance, override and release is a row,
  never edited (the services only ``create``); it is the audit trail.
- ``ReviewDecision`` is the current teacher decision on a submission (one row per submission);
  ``revision`` counts decisions so a stale form (opened before someone else decided) is refused
  rather than silently overwriting a newer decision. The grade of record itself is grading's
  ``TeacherGrade``; this row adds what only the review loop knows: which proposal the teacher
  saw, whether they marked the disagreement a model mistake, and the training weight.
- ``GradeRelease`` is what the student may see (one row per submission): score, released
  feedback and evidence, and who or what released it. No row, nothing shown.
- ``Explanation`` caches the occlusion attribution of one prediction (predictions never change,
  so neither does their explanation).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from eduai.courses.models import Assignment, Course, Submission
from grading.models import Prediction


class EventKind(models.TextChoices):
    PROPOSED = "proposed", _("Proposed by the model")
    ACCEPTED = "accepted", _("Accepted by a teacher")
    OVERRIDDEN = "overridden", _("Overridden by a teacher")
    RELEASED = "released", _("Released by a teacher")
    AUTO_RELEASED = "auto_released", _("Released by the auto-release policy")


class ReviewEvent(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="review_events")
    # Denormalised for the per-course and per-assignment audit queries.
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    # None: the system (a model run or the release policy).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    prediction = models.ForeignKey(Prediction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    model_version = models.PositiveIntegerField(null=True, blank=True)
    score = models.IntegerField(null=True, blank=True)
    # The grade of record before this event (an override of an earlier decision or release).
    previous_score = models.IntegerField(null=True, blank=True)
    trait_scores = models.JSONField(default=dict, blank=True)
    comment = models.TextField(blank=True, default="", max_length=5000)
    model_mistake = models.BooleanField(default=False)
    # Why (e.g. the policy's figures for an auto-release, or why it did not release).
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["submission", "id"]),
            models.Index(fields=["course", "kind", "created_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=[k.value for k in EventKind]), name="review_event_kind_valid")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.score} on submission {self.submission_id}"


class DecisionKind(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    OVERRIDDEN = "overridden", _("Overridden")


class ReviewDecision(models.Model):
    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="review_decision")
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=DecisionKind.choices)
    # The proposal the teacher saw (None: graded with no proposal on screen).
    prediction = models.ForeignKey(Prediction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    proposed_score = models.IntegerField(null=True, blank=True)
    score = models.IntegerField()
    model_mistake = models.BooleanField(default=False)
    # Sample weight of this essay in the assignment's next training run (grading reads it
    # through ``grading.review.api.training_weights``); 1.0 unless marked a model mistake.
    weight = models.FloatField(default=1.0)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField()
    revision = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [models.Index(fields=["assignment", "model_mistake"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in DecisionKind]), name="review_decision_kind_valid"
            ),
            models.CheckConstraint(condition=Q(weight__gt=0), name="review_decision_weight_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.score} for submission {self.submission_id}"


class ReleaseKind(models.TextChoices):
    TEACHER = "teacher", _("A teacher")
    POLICY = "policy", _("The auto-release policy")


class GradeRelease(models.Model):
    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="grade_release")
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    score = models.IntegerField()
    trait_scores = models.JSONField(default=dict, blank=True)
    kind = models.CharField(max_length=16, choices=ReleaseKind.choices)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # For a policy release: the figures that allowed it ("interval 0.8 <= 1.0; QWK 0.81 >= 0.70").
    reason = models.CharField(max_length=500, blank=True, default="")
    prediction = models.ForeignKey(Prediction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Released feedback: [{"code": ..., "trait": ..., "score": ..., "min": ..., "max": ...}],
    # rendered in the reader's language when shown (explain.feedback_text).
    feedback = models.JSONField(default=list, blank=True)
    comment = models.TextField(blank=True, default="", max_length=5000)
    show_evidence = models.BooleanField(default=False)
    # A snapshot of the evidence as released: [{"start", "end", "delta"}] over the essay text.
    evidence = models.JSONField(default=list, blank=True)
    released_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in ReleaseKind]), name="grade_release_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.score} released for submission {self.submission_id}"


class ExplanationStatus(models.TextChoices):
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class Explanation(models.Model):
    prediction = models.OneToOneField(Prediction, on_delete=models.CASCADE, related_name="review_explanation")
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=32, default="occlusion")
    status = models.CharField(max_length=16, choices=ExplanationStatus.choices, default=ExplanationStatus.READY)
    # The model's raw holistic score of the whole essay, re-computed in this run.
    base_raw = models.FloatField(null=True, blank=True)
    # [{"start": int, "end": int, "delta": float}]: character span of each sentence in the
    # submission text and raw(whole essay) - raw(essay without it), in rubric points.
    sentences = models.JSONField(default=list, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True, default="")
    seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.method} explanation of prediction {self.prediction_id}"
