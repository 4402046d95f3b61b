"""Models of grading: teacher grades (training data), the model registry, stored embeddings,
predictions, and each assignment's grading settings.

Invariants the database enforces (so no code path, admin or shell can break them):
- one teacher grade of record per submission (``TeacherGrade.submission`` is unique); a re-grade
  updates it and keeps who and when;
- model versions are numbered per assignment without gaps or repeats
  (unique ``(assignment, version)``), and at most one model serves an assignment
  (partial unique constraint on ``is_active``);
- a submission is scored at most once by a model version (unique ``(submission, model)``):
  a worker that lost a race gets an IntegrityError, never a duplicate row;
- one stored embedding per submission and encoder key.

For the review loop built on top (accept / override / release): ``Prediction`` is the model's
proposal and never changes once written; ``TeacherGrade`` is the human decision of record
(``source`` says whether it accepted a proposal, overrode it, or was entered directly).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from eduai.courses.models import Assignment, Submission


class Method(models.TextChoices):
    FAST = "fast", "Fast (frozen embeddings + features)"
    FINETUNE = "finetune", "Fine-tuned transformer"


class ServingChoice(models.TextChoices):
    BEST = "best", "Best validated model"
    FAST = "fast", "Fast scorer only"
    FINETUNE = "finetune", "Fine-tuned scorer only"


class GraderSettings(models.Model):
    """Per-assignment grading knobs and the training-threshold bookkeeping.

    ``last_threshold`` is the highest teacher-grade count threshold (10, 30, 60, ...) for which
    training was already requested; it moves only forward, with a conditional UPDATE, so two
    teacher grades committed together trigger one training run, not two.
    """

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="grader_settings")
    serving = models.CharField(max_length=16, choices=ServingChoice.choices, default=ServingChoice.BEST)
    # Fine-tuning at thresholds: None = the deployment default (EDUAI_GRADER_AUTO_FINETUNE).
    auto_finetune = models.BooleanField(null=True, blank=True)
    last_threshold = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "grader settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(serving__in=[c.value for c in ServingChoice]), name="grader_serving_valid"
            )
        ]

    def __str__(self) -> str:
        return f"Grading of {self.assignment}: {self.serving}"


class GradeSource(models.TextChoices):
    TEACHER = "teacher", "Entered by a teacher"
    IMPORT = "import", "Imported"
    ACCEPTED = "accepted", "Accepted the model's proposal"
    OVERRIDDEN = "overridden", "Overrode the model's proposal"


class TeacherGrade(models.Model):
    """A human grade of record for one submission: the training data of the assignment's models."""

    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="teacher_grade")
    # Denormalised from the submission for the per-assignment training query and its index.
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="teacher_grades")
    score = models.IntegerField()
    # {trait name: integer score}; only traits of the assignment's rubric, each within its range.
    trait_scores = models.JSONField(default=dict, blank=True)
    grader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="grades_given"
    )
    source = models.CharField(max_length=16, choices=GradeSource.choices, default=GradeSource.TEACHER)
    # The proposal the teacher saw, when the grade came from the review queue.
    prediction = models.ForeignKey(
        "Prediction", null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    comment = models.TextField(blank=True, default="", max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["assignment", "updated_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=[c.value for c in GradeSource]), name="teacher_grade_source_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.score} for submission {self.submission_id}"


class ModelStatus(models.TextChoices):
    TRAINING = "training", "Training"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class GradingModel(models.Model):
    """One trained model of one assignment: a versioned registry record.

    ``artefact`` is relative to ``settings.EDUAI_MODEL_ROOT``. ``val_qwk`` is quadratic weighted
    kappa on the model's validation split (submissions chosen by a stable hash of their id, never
    trained on); ``interval_halfwidth`` is the split-conformal radius for ``interval_coverage``.
    ``n_train`` counts the essays the serving artefact learnt from: a fast model is validated on a
    model trained without its ``n_val`` validation essays, then refitted on all of them; a
    fine-tuned model's count includes the validation essays that chose its epoch (early stopping),
    when they are kept apart from the ``n_val`` ones.
    """

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="grading_models")
    version = models.PositiveIntegerField()
    method = models.CharField(max_length=16, choices=Method.choices)
    status = models.CharField(max_length=16, choices=ModelStatus.choices, default=ModelStatus.TRAINING)
    is_active = models.BooleanField(default=False)
    language = models.CharField(max_length=10, default="en")
    base_model = models.CharField(max_length=300, blank=True, default="")
    embedding_key = models.CharField(max_length=200, blank=True, default="")
    hyperparameters = models.JSONField(default=dict, blank=True)
    n_train = models.PositiveIntegerField(default=0)
    n_val = models.PositiveIntegerField(default=0)
    val_qwk = models.FloatField(null=True, blank=True)
    val_rmse = models.FloatField(null=True, blank=True)
    interval_coverage = models.FloatField(null=True, blank=True)
    interval_halfwidth = models.FloatField(null=True, blank=True)
    # Per-trait validation QWK and conformal radius: {name: {"qwk": f, "halfwidth": f}}.
    trait_metrics = models.JSONField(default=dict, blank=True)
    artefact = models.CharField(max_length=500, blank=True, default="")
    train_seconds = models.FloatField(null=True, blank=True)
    trigger = models.CharField(max_length=40, blank=True, default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    failure_reason = models.CharField(max_length=1000, blank=True, default="")
    # Why the model is (not) serving: "beat v3 (0.71 < 0.74 on the same validation set)".
    decision = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    trained_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["assignment_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "version"], name="uniq_model_version_per_assignment"),
            models.UniqueConstraint(
                fields=["assignment"], condition=Q(is_active=True), name="one_active_model_per_assignment"
            ),
            models.CheckConstraint(
                condition=Q(method__in=[m.value for m in Method]), name="grading_model_method_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ModelStatus]), name="grading_model_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(is_active=False) | Q(status=ModelStatus.READY), name="only_ready_models_serve"
            ),
        ]
        indexes = [models.Index(fields=["assignment", "status"])]

    def __str__(self) -> str:
        return f"{self.assignment} v{self.version} ({self.method})"


class SubmissionEmbedding(models.Model):
    """A frozen-encoder embedding of a submission, computed once when it arrives.

    ``vector`` holds float32 little-endian bytes (384 floats = 1.5 kB for MiniLM).
    """

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="embeddings")
    encoder_key = models.CharField(max_length=200)
    dim = models.PositiveIntegerField()
    vector = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["submission", "encoder_key"], name="uniq_embedding_per_encoder")]

    def __str__(self) -> str:
        return f"Embedding of {self.submission_id} ({self.encoder_key})"


class Prediction(models.Model):
    """A model's proposed grade for a submission. Written once, never edited.

    ``score`` is on the rubric scale rounded to its step (1: rubrics are integer); ``raw_score``
    is the regressor's output before rounding and clipping. ``interval_low``/``interval_high`` are
    rubric points that hold the true score with probability ``interval_coverage`` (split-conformal,
    marginal over essays), and always hold ``score``.
    """

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="predictions")
    model = models.ForeignKey(GradingModel, on_delete=models.PROTECT, related_name="predictions")
    score = models.IntegerField()
    raw_score = models.FloatField()
    # {trait name: {"score": int, "raw": float, "low": float, "high": float}}
    trait_scores = models.JSONField(default=dict, blank=True)
    interval_low = models.FloatField()
    interval_high = models.FloatField()
    interval_coverage = models.FloatField()
    # Wall-clock seconds spent on this submission (its share of the batch, features and embedding).
    seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "model"], name="uniq_prediction_per_model_version"),
            models.CheckConstraint(condition=Q(interval_low__lte=models.F("interval_high")), name="interval_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.score} for submission {self.submission_id} by {self.model}"

    @property
    def model_version(self) -> int:
        return self.model.version
