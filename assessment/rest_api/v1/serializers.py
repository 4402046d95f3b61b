"""Input validation and output shapes of the assessment REST API (no logic here)."""

from __future__ import annotations

from rest_framework import serializers

MAX_ITEMS_PER_REQUEST = 200
# The largest id a 64-bit primary key holds; a larger one in an ``__in`` lookup is not
# range-checked by Django and makes SQLite's driver raise OverflowError.
MAX_ID = 2**63 - 1


class HistoryQuery(serializers.Serializer):
    skill_id = serializers.IntegerField(required=False, min_value=1)


class DistributionQuery(serializers.Serializer):
    period_days = serializers.IntegerField(required=False, default=7, min_value=1, max_value=365)
    max_periods = serializers.IntegerField(required=False, default=26, min_value=1, max_value=104)


class RiskQuery(serializers.Serializer):
    threshold = serializers.FloatField(required=False, default=0.5, min_value=0.0, max_value=1.0)
    all = serializers.BooleanField(required=False, default=False)


class PredictedSuccessQuery(serializers.Serializer):
    item_ids = serializers.CharField(help_text="Comma-separated practice item ids (at most 200).")

    def validate_item_ids(self, value: str) -> list[int]:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not parts:
            raise serializers.ValidationError("Give at least one item id.")
        if len(parts) > MAX_ITEMS_PER_REQUEST:
            raise serializers.ValidationError(f"At most {MAX_ITEMS_PER_REQUEST} item ids per request.")
        try:
            ids = [int(p) for p in parts]
        except ValueError:
            raise serializers.ValidationError("Item ids must be whole numbers.") from None
        if any(i < 1 for i in ids):
            raise serializers.ValidationError("Item ids must be positive.")
        if any(i > MAX_ID for i in ids):
            raise serializers.ValidationError("No practice item has an id that large.")
        return list(dict.fromkeys(ids))


class KTTrainRequest(serializers.Serializer):
    school_id = serializers.IntegerField(min_value=1)
    method = serializers.ChoiceField(choices=["bkt", "deep"])


class MasteryOut(serializers.Serializer):
    skill_id = serializers.IntegerField()
    skill_name = serializers.CharField()
    p = serializers.FloatField()
    trend = serializers.FloatField()
    updated_at = serializers.DateTimeField(allow_null=True)
    n_evidence = serializers.IntegerField()
    method = serializers.CharField()


class PointOut(serializers.Serializer):
    at = serializers.DateTimeField()
    p = serializers.FloatField()


class RiskOut(serializers.Serializer):
    student_id = serializers.IntegerField()
    student_name = serializers.CharField()
    probability = serializers.FloatField()
    reasons = serializers.ListField(child=serializers.CharField())


class DistributionOut(serializers.Serializer):
    skill_id = serializers.IntegerField()
    at = serializers.DateTimeField()
    n_students = serializers.IntegerField()
    mean = serializers.FloatField()
    quartiles = serializers.ListField(child=serializers.FloatField())
    histogram = serializers.ListField(child=serializers.IntegerField())


class LearningGainOut(serializers.Serializer):
    student_id = serializers.IntegerField()
    assignment_id = serializers.IntegerField()
    first_attempt = serializers.IntegerField()
    last_attempt = serializers.IntegerField()
    first_score = serializers.FloatField()
    last_score = serializers.FloatField()
    gain = serializers.FloatField()
    normalised_gain = serializers.FloatField(allow_null=True)


class KTModelOut(serializers.Serializer):
    """A registry row. Where its files are (``artefact_path``) is left out: server internals no
    API user needs (the Django admin shows it to operators), as in grading's registry."""

    id = serializers.IntegerField()
    school_id = serializers.IntegerField()
    method = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.CharField()
    hyperparameters = serializers.DictField()
    n_train_students = serializers.IntegerField()
    n_train_responses = serializers.IntegerField()
    valid_auc = serializers.FloatField(allow_null=True)
    baseline_auc = serializers.FloatField(allow_null=True)
    train_seconds = serializers.FloatField()
    created_at = serializers.DateTimeField()


class HistoryOut(serializers.Serializer):
    student_id = serializers.IntegerField()
    course_id = serializers.IntegerField()
    skills = serializers.DictField(child=PointOut(many=True), help_text="skill id -> points")
    overall = PointOut(many=True)


class CourseDistributionOut(serializers.Serializer):
    """skill id -> one entry per period, oldest first."""

    skills = serializers.DictField(child=DistributionOut(many=True))


class PredictedSuccessOut(serializers.Serializer):
    student_id = serializers.IntegerField()
    items = serializers.DictField(child=serializers.FloatField(), help_text="item id -> P(correct)")
