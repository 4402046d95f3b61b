"""Admin of grading: the model registry (with roll back and train now), grades, predictions."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction

from . import models, services, training


@admin.register(models.GradingModel)
class GradingModelAdmin(admin.ModelAdmin):
    list_display = (
        "assignment",
        "version",
        "method",
        "status",
        "is_active",
        "val_qwk",
        "interval_halfwidth",
        "n_train",
        "n_val",
        "trigger",
        "created_at",
    )
    list_filter = ("method", "status", "is_active")
    search_fields = ("assignment__title", "decision", "failure_reason")
    raw_id_fields = ("assignment", "requested_by")
    readonly_fields = [f.name for f in models.GradingModel._meta.fields]
    actions = ["activate_selected", "train_fast_now", "train_finetune_now"]

    def has_add_permission(self, request) -> bool:
        return False  # models come from training, never typed in

    @admin.action(description="Serve this version (roll back / forward)")
    def activate_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model to serve.", messages.ERROR)
            return
        record = queryset.get()
        try:
            training.model_activate(
                model_id=record.pk,
                check_expected=False,
                by_user_id=request.user.pk,
                decision=f"activated by {request.user} in the admin",
            )
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, f"v{record.version} now serves {record.assignment}.")

    def _train(self, request, queryset, method: str) -> None:
        assignment_ids = sorted(set(queryset.values_list("assignment_id", flat=True)))
        with transaction.atomic():
            for aid in assignment_ids:
                services.training_enqueue(
                    assignment_id=aid, method=method, trigger="admin", requested_by_id=request.user.pk
                )
        self.message_user(request, f"Queued {method} training for {len(assignment_ids)} assignment(s).")

    @admin.action(description="Train a new fast model for these assignments")
    def train_fast_now(self, request, queryset):
        self._train(request, queryset, models.Method.FAST)

    @admin.action(description="Fine-tune a new model for these assignments")
    def train_finetune_now(self, request, queryset):
        self._train(request, queryset, models.Method.FINETUNE)


@admin.register(models.GraderSettings)
class GraderSettingsAdmin(admin.ModelAdmin):
    list_display = ("assignment", "serving", "auto_finetune", "last_threshold", "updated_at")
    list_filter = ("serving",)
    raw_id_fields = ("assignment",)
    readonly_fields = ("last_threshold",)
    actions = ["train_fast_now"]

    @admin.action(description="Train a new fast model now")
    def train_fast_now(self, request, queryset):
        with transaction.atomic():
            for row in queryset:
                services.training_enqueue(
                    assignment_id=row.assignment_id,
                    method=models.Method.FAST,
                    trigger="admin",
                    requested_by_id=request.user.pk,
                )
        self.message_user(request, f"Queued training for {queryset.count()} assignment(s).")


@admin.register(models.TeacherGrade)
class TeacherGradeAdmin(admin.ModelAdmin):
    list_display = ("submission", "assignment", "score", "source", "grader", "updated_at")
    list_filter = ("source",)
    raw_id_fields = ("submission", "assignment", "grader", "prediction")
    readonly_fields = ("created_at", "updated_at")


@admin.register(models.Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = (
        "submission",
        "model",
        "score",
        "raw_score",
        "interval_low",
        "interval_high",
        "seconds",
        "created_at",
    )
    raw_id_fields = ("submission", "model")
    readonly_fields = [f.name for f in models.Prediction._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a proposal is a record of what a model said: never edited


@admin.register(models.SubmissionEmbedding)
class SubmissionEmbeddingAdmin(admin.ModelAdmin):
    list_display = ("submission", "encoder_key", "dim", "created_at")
    raw_id_fields = ("submission",)
    readonly_fields = ("submission", "encoder_key", "dim", "created_at")
    exclude = ("vector",)
