"""Models of assessment: evidence, per-student tracing state, mastery and its history, the registry.

- ``Evidence``: what mastery is computed from, one row per practice response (an
  ``ActivityEvent``) or released essay grade (a ``Submission``), in the time order of
  ``occurred_at``. The unique event / submission keys make re-delivered events no-ops.
- ``StudentKTState``: the per-student, per-course model state (JSON from the model's
  ``state_dump``) and how far into the evidence it has read. ``services`` locks this row
  (``select_for_update``) for every change, so two workers cannot interleave updates.
- ``Mastery``: the current estimate per student and skill; ``MasteryHistory``: every estimate
  with the time of the evidence that produced it (progress curves).
- ``KTModelVersion``: versioned registry of trained knowledge-tracing models per school.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from eduai.courses.models import ActivityEvent, Assignment, Course, School, Skill, Submission


class KTMethod(models.TextChoices):
    BKT = "bkt", "Bayesian knowledge tracing"
    DEEP = "deep", "Attention-based deep knowledge tracing"


class KTModelStatus(models.TextChoices):
    TRAINING = "training", "Training"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired (replaced by a better version)"
    REJECTED = "rejected", "Rejected (not better than the active model)"
    FAILED = "failed", "Failed"


class KTModelVersion(models.Model):
    """One trained model of a school. At most one ``active`` version per school serves mastery."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="kt_models")
    method = models.CharField(max_length=8, choices=KTMethod.choices)
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=KTModelStatus.choices, default=KTModelStatus.TRAINING)
    hyperparameters = models.JSONField(default=dict, blank=True)
    n_train_students = models.PositiveIntegerField(default=0)
    n_train_responses = models.PositiveIntegerField(default=0)
    n_valid_students = models.PositiveIntegerField(default=0)
    # AUC of this model on the held-out students, replayed through the online update path
    valid_auc = models.FloatField(null=True, blank=True)
    # AUC of the model that was active when this one was judged, on the same students
    baseline_auc = models.FloatField(null=True, blank=True)
    train_seconds = models.FloatField(default=0.0)
    # relative to settings.EDUAI_MODEL_ROOT
    artefact_path = models.CharField(max_length=500, blank=True, default="")
    info = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["school_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["school", "version"], name="uniq_kt_version_per_school"),
            models.UniqueConstraint(
                fields=["school"], condition=Q(status="active"), name="one_active_kt_model_per_school"
            ),
            models.CheckConstraint(condition=Q(method__in=["bkt", "deep"]), name="kt_method_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.school} {self.method} v{self.version} ({self.status})"


class EvidenceKind(models.TextChoices):
    RESPONSE = "response", "Practice response"
    GRADE = "grade", "Released grade"


class Evidence(models.Model):
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="kt_evidence")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="kt_evidence")
    kind = models.CharField(max_length=10, choices=EvidenceKind.choices)
    event = models.OneToOneField(
        ActivityEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="kt_evidence"
    )
    submission = models.OneToOneField(
        Submission, null=True, blank=True, on_delete=models.CASCADE, related_name="kt_evidence"
    )
    assignment = models.ForeignKey(Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # the key the models see: a practice item's pk, or "assignment:<pk>" for a grade
    item_key = models.CharField(max_length=64)
    skill_ids = models.JSONField(default=list)
    credit = models.FloatField()
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(credit__gte=0) & Q(credit__lte=1), name="evidence_credit_unit"),
            models.CheckConstraint(
                condition=(Q(kind="response") & Q(event__isnull=False) & Q(submission__isnull=True))
                | (Q(kind="grade") & Q(submission__isnull=False) & Q(event__isnull=True)),
                name="evidence_source_matches_kind",
            ),
        ]
        indexes = [models.Index(fields=["student", "course", "occurred_at", "id"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.item_key} by {self.student_id} = {self.credit:.2f}"


class StudentKTState(models.Model):
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="kt_states")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="kt_states")
    # null: the untrained default BKT (a school with no active model)
    model_version = models.ForeignKey(
        KTModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.JSONField(default=dict, blank=True)
    n_evidence = models.PositiveIntegerField(default=0)
    # (occurred_at, id) of the last evidence folded in: anything earlier arriving now is late
    last_occurred_at = models.DateTimeField(null=True, blank=True)
    last_evidence_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["student", "course"], name="uniq_kt_state_per_student_course")]

    def __str__(self) -> str:
        return f"KT state of {self.student_id} in {self.course_id} ({self.n_evidence} evidence)"


class Mastery(models.Model):
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="masteries")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="masteries")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="masteries")
    p = models.FloatField()
    # p now minus p TREND_WINDOW pieces of evidence ago (negative: falling)
    trend = models.FloatField(default=0.0)
    recent = models.JSONField(default=list, blank=True)
    n_evidence = models.PositiveIntegerField(default=0)
    method = models.CharField(max_length=8, choices=KTMethod.choices)
    # time of the evidence this estimate reflects
    as_of = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["student", "skill"], name="uniq_mastery_per_student_skill"),
            models.CheckConstraint(condition=Q(p__gte=0) & Q(p__lte=1), name="mastery_p_unit"),
        ]
        indexes = [models.Index(fields=["course", "skill"]), models.Index(fields=["student", "course"])]

    def __str__(self) -> str:
        return f"{self.student_id} {self.skill_id} p={self.p:.2f}"


class MasteryHistory(models.Model):
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="+")
    p = models.FloatField()
    method = models.CharField(max_length=8, choices=KTMethod.choices)
    at = models.DateTimeField()
    evidence = models.ForeignKey(Evidence, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["student", "course", "at"]),
            models.Index(fields=["course", "skill", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} {self.skill_id} p={self.p:.2f} at {self.at:%Y-%m-%d %H:%M}"
