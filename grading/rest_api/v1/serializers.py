"""Serializers of the grading API: shapes only, no business rules (those are in services)."""

from __future__ import annotations

import os
from pathlib import PurePath

from rest_framework import serializers

from eduai.courses import api as courses
from grading.models import GradingModel, Method, Prediction, ServingChoice, TeacherGrade


class PredictionSerializer(serializers.ModelSerializer):
    model_version = serializers.IntegerField(source="model.version", read_only=True)
    method = serializers.CharField(source="model.method", read_only=True)
    assignment = serializers.IntegerField(source="model.assignment_id", read_only=True)

    class Meta:
        model = Prediction
        fields = [
            "id",
            "submission",
            "assignment",
            "model",
            "model_version",
            "method",
            "score",
            "raw_score",
            "trait_scores",
            "interval_low",
            "interval_high",
            "interval_coverage",
            "seconds",
            "created_at",
        ]
        read_only_fields = fields


class GradingModelSerializer(serializers.ModelSerializer):
    """A registry record without where its files are: ``artefact`` (under EDUAI_MODEL_ROOT) is left
    out, ``base_model`` (for a fine-tuned model, the encoder's folder) is given by its name, and
    file paths in ``failure_reason`` (an OSError's message) by their last part. Server internals:
    nothing the API's users do needs them; operators read them in the Django admin."""

    base_model = serializers.SerializerMethodField()
    failure_reason = serializers.SerializerMethodField()

    class Meta:
        model = GradingModel
        fields = [
            "id",
            "assignment",
            "version",
            "method",
            "status",
            "is_active",
            "language",
            "base_model",
            "embedding_key",
            "hyperparameters",
            "n_train",
            "n_val",
            "val_qwk",
            "val_rmse",
            "interval_coverage",
            "interval_halfwidth",
            "trait_metrics",
            "train_seconds",
            "trigger",
            "failure_reason",
            "decision",
            "created_at",
            "trained_at",
            "activated_at",
        ]
        read_only_fields = fields

    def get_base_model(self, obj: GradingModel) -> str:
        if not os.path.isabs(obj.base_model):
            return obj.base_model  # a name already (a fast model's encoder key), not a folder
        return PurePath(obj.base_model).name or obj.base_model

    def get_failure_reason(self, obj: GradingModel) -> str:
        return courses.without_file_paths(obj.failure_reason)


class TrainRequestSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=Method.choices, default=Method.FAST)


class TeacherGradeInputSerializer(serializers.Serializer):
    # Rubric ranges are checked by the service (they depend on the assignment).
    score = serializers.IntegerField()
    trait_scores = serializers.DictField(child=serializers.IntegerField(allow_null=True), required=False)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class TeacherGradeSerializer(serializers.ModelSerializer):
    class Meta:
        model = TeacherGrade
        fields = [
            "id",
            "submission",
            "assignment",
            "score",
            "trait_scores",
            "grader",
            "source",
            "comment",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class GraderSettingsSerializer(serializers.Serializer):
    serving = serializers.ChoiceField(choices=ServingChoice.choices, required=False)
    # null: the deployment's EDUAI_GRADER_AUTO_FINETUNE decides (a PATCH with null resets to it).
    auto_finetune = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="Fine-tune at training thresholds; null = the deployment default (EDUAI_GRADER_AUTO_FINETUNE).",
    )
    last_threshold = serializers.IntegerField(read_only=True)
