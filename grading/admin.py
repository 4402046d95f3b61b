"""Admin of grading: the model registry (with roll back and train now), grades, predictions."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction

from eduai.courses.models import Assignment

from . import models, selectors, services, training


def _train_now(model_admin: admin.ModelAdmin, request, assignment_ids, method: str) -> None:
    """Queue training for each assignment that passes the API's check (``training_shortfall``);
    name the others to the admin instead of queueing runs the worker would refuse."""
    wanted = sorted(set(assignment_ids))
    refused = {aid: why for aid in wanted if (why := selectors.training_shortfall(assignment_id=aid))}
    queued = [aid for aid in wanted if aid not in refused]
    with transaction.atomic():
        for aid in queued:
            services.training_enqueue(
                assignment_id=aid, method=method, trigger="admin", requested_by_id=request.user.pk
            )
    if queued:
        model_admin.message_user(
            request, f"Queued {method} training for {len(queued)} assignment(s).", messages.SUCCESS
        )
    if refused:
        titles = dict(Assignment.objects.filter(pk__in=refused).values_list("pk", "title"))
        reasons = "; ".join(f"{titles.get(aid, aid)} (assignment {aid}): {why}" for aid, why in refused.items())
        model_admin.message_user(request, f"Not queued: {reasons}", messages.ERROR)


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

    @admin.action(description="Train a new fast model for these assignments")
    def train_fast_now(self, request, queryset):
        _train_now(self, request, queryset.values_list("assignment_id", flat=True), models.Method.FAST)

    @admin.action(description="Fine-tune a new model for these assignments")
    def train_finetune_now(self, request, queryset):
        _train_now(self, request, queryset.values_list("assignment_id", flat=True), models.Method.FINETUNE)


@admin.register(models.GraderSettings)
class GraderSettingsAdmin(admin.ModelAdmin):
    list_display = ("assignment", "serving", "auto_finetune", "last_threshold", "updated_at")
    list_filter = ("serving",)
    raw_id_fields = ("assignment",)
    readonly_fields = ("last_threshold",)
    actions = ["train_fast_now"]

    @admin.action(description="Train a new fast model now")
    def train_fast_now(self, request, queryset):
        _train_now(self, request, queryset.values_list("assignment_id", flat=True), models.Method.FAST)


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
