"""Serializers of the grading API: shapes only, no business rules (those are in services)."""

from __future__ import annotations

from rest_framework import serializers

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
            "artefact",
            "train_seconds",
            "trigger",
            "failure_reason",
            "decision",
            "created_at",
            "trained_at",
            "activated_at",
        ]
        read_only_fields = fields


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
    auto_finetune = serializers.BooleanField(required=False, allow_null=True)
    last_threshold = serializers.IntegerField(read_only=True)
