"""Shapes of the recommender's REST API (input validation and output rendering only)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ... import selectors
from ...models import Question
from ...reasons import render


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers, lists and objects instead of turning them into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class AskIn(serializers.Serializer):
    # Length is checked by the service (after control characters are dropped) with a message
    # that gives both lengths; 1000 characters by default (EDUAI_MAX_QUESTION_CHARS).
    question = StrictCharField(trim_whitespace=True, allow_blank=False)


class ReplyIn(serializers.Serializer):
    reply = StrictCharField(required=False, allow_blank=True, default="", max_length=5000)


class OverrideIn(serializers.Serializer):
    resource = serializers.IntegerField(min_value=1)
    action = serializers.ChoiceField(choices=[("pin", "pin"), ("hide", "hide"), ("", "clear")], allow_blank=True)
    note = StrictCharField(required=False, allow_blank=True, default="", max_length=300)


class ReasonOut(serializers.Serializer):
    code = serializers.CharField()
    params = serializers.DictField()
    text = serializers.CharField(help_text="The reason in plain words, in the request's language.")


class RecommendationOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["resource", "practice"])
    id = serializers.IntegerField()
    title = serializers.CharField()
    score = serializers.FloatField()
    pinned = serializers.BooleanField()
    resource_kind = serializers.CharField(allow_blank=True)
    url = serializers.CharField(allow_blank=True)
    skill_ids = serializers.ListField(child=serializers.IntegerField())
    reasons = ReasonOut(many=True)

    @staticmethod
    def render(rec: Any) -> dict[str, Any]:
        return {
            "kind": rec.kind,
            "id": rec.id,
            "title": rec.title,
            "score": round(rec.score, 4),
            "pinned": rec.pinned,
            "resource_kind": rec.resource_kind,
            "url": rec.url,
            "skill_ids": list(rec.skill_ids),
            "reasons": [{"code": r.code, "params": r.params, "text": render(r)} for r in rec.reasons],
        }


class RecommendationListOut(serializers.Serializer):
    course = serializers.IntegerField()
    computed_at = serializers.DateTimeField(allow_null=True)
    cold_start = serializers.BooleanField(help_text="True when the student has no history yet: course-level picks.")
    stale = serializers.BooleanField(help_text="True while a refresh after new activity is pending.")
    results = RecommendationOut(many=True)


class PassageOut(serializers.Serializer):
    passage_id = serializers.IntegerField()
    resource_id = serializers.IntegerField()
    resource_title = serializers.CharField()
    text = serializers.CharField()
    highlight = serializers.ListField(
        child=serializers.IntegerField(), help_text="[start, end) character offsets of the answering sentence in text."
    )
    highlighted = serializers.CharField()
    score = serializers.FloatField()


class AnswerOut(serializers.Serializer):
    question_id = serializers.IntegerField()
    found = serializers.BooleanField()
    status = serializers.CharField()
    message = serializers.CharField()
    language = serializers.CharField()
    top_score = serializers.FloatField()
    passages = PassageOut(many=True)


class QuestionOut(serializers.ModelSerializer):
    student = serializers.IntegerField(source="student_id", read_only=True)
    student_name = serializers.SerializerMethodField()
    answer = serializers.SerializerMethodField(
        help_text="The passages EduAI answered with. A student sees only those of resources they may "
        "still see (not hidden, deactivated or deleted since); staff see what was shown."
    )

    class Meta:
        model = Question
        fields = [
            "id",
            "course",
            "student",
            "student_name",
            "text",
            "language",
            "status",
            "top_score",
            "answer",
            "sent_at",
            "teacher_reply",
            "resolved_at",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_answer(self, obj: Question) -> list[dict]:
        stored = obj.answer or []
        askable = self.context.get("askable")
        return stored if askable is None else selectors.still_askable(stored, askable)

    def get_student_name(self, obj: Question) -> str:
        return obj.student.label if obj.student_id else ""


class OverrideOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.CharField()
    is_active = serializers.BooleanField()
    override = serializers.CharField(allow_blank=True)
    passages = serializers.IntegerField(allow_null=True)
