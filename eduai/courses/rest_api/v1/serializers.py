"""Shapes of the REST API v1: validate what comes in, render what goes out. No business rules.

Conventions:
- Text fields take JSON strings only (a number is a 400, not silently turned into text) and
  are stored verbatim; pages escape them when rendering.
- Ids that refer to other objects are checked against what the asker can see: an unknown id
  and an id outside your scope give the same "does not exist" 400, so nothing leaks.
- Numbers are bounded: rubric scores within +-``MAX_RUBRIC_POINTS``, difficulties in [0, 1],
  scaled scores in [-1, 1] (xAPI ``result.score.scaled``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import QuerySet
from rest_framework import serializers

from eduai.accounts.models import User
from eduai.courses import access, selectors, services
from eduai.courses.models import (
    ActivityEvent,
    Assignment,
    Course,
    Enrollment,
    LearningResource,
    ObjectType,
    PracticeItem,
    RubricTrait,
    School,
    SchoolMembership,
    Skill,
    Submission,
    SubmissionStatus,
)

from .permissions import scope_for

# Rubric points: the core's bound of any score.
MAX_RUBRIC_POINTS = services.MAX_SCORE_POINTS
# Largest ``raw`` statement kept per event (characters of its JSON). A full xAPI statement
# with context and extensions is a few kilobytes.
MAX_RAW_CHARS = 64_000
# Longest accepted activity duration: one day per event (xAPI ``result.duration``).
MAX_EVENT_DURATION = timedelta(days=1)
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class LanguageField(StrictCharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 10)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value and not LANGUAGE_CODE.match(value):
            raise serializers.ValidationError("Expected a language code such as 'en' or 'zh'.")
        return value


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id among the objects ``scope(user)`` returns; anything else "does not exist"."""

    def __init__(self, *, scope: Callable[[Any], QuerySet] | None = None, **kwargs: Any) -> None:
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet:
        if self.scope is None:
            return super().get_queryset()  # type: ignore[return-value]
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return self.scope(user) if user is not None else self.queryset.none()  # type: ignore[union-attr]

    def to_internal_value(self, data: Any) -> Any:
        # Bools are ints in Python and big ints overflow the database: refuse both up front.
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if isinstance(data, str) and not re.fullmatch(r"-?[0-9]{1,25}", data):
            self.fail("incorrect_type", data_type="str")
        if not 0 < int(data) < 2**63:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(int(data))


def _visible_courses(user: Any) -> QuerySet:
    return access.visible_courses(user)


class BaseModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for field in fields.values():
            # Text is stored as written: leading spaces in an essay or a prompt are the author's.
            if isinstance(field, serializers.CharField) and not isinstance(field, serializers.ChoiceField):
                field.trim_whitespace = False
        return fields


class SchoolSerializer(BaseModelSerializer):
    class Meta:
        model = School
        fields = ["id", "name", "slug", "created_at"]
        read_only_fields = fields


class CourseSerializer(BaseModelSerializer):
    school = ScopedPrimaryKeyRelatedField(
        queryset=School.objects.all(),
        scope=lambda user: (
            School.objects.all()
            if getattr(user, "is_superuser", False)
            else School.objects.filter(pk__in=access.admin_school_ids(user))
        ),
        help_text="A school you administer; fixed once the course exists.",
    )
    language = LanguageField(required=False, help_text="Main language of the course's text, e.g. 'en' or 'zh'.")

    class Meta:
        model = Course
        fields = ["id", "school", "code", "title", "description", "language", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]
        # Uniqueness of (school, code) is checked by the service with a clear message.
        validators: list = []


class CourseUpdateSerializer(CourseSerializer):
    """A course never moves to another school."""

    school = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[assignment,var-annotated]

    class Meta(CourseSerializer.Meta):
        pass


class EnrollmentSerializer(BaseModelSerializer):
    course = ScopedPrimaryKeyRelatedField(queryset=Course.objects.all(), scope=_visible_courses)
    user = ScopedPrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        help_text="An active person of the course's school or of no school yet (enrolling makes them a member).",
    )
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Enrollment
        fields = ["id", "course", "user", "username", "role", "language_background", "is_active", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators: list = []

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Enrolling makes the person a member of the course's school. Someone who belongs only
        # to other schools is not this school's to take, nor to learn the username of: for the
        # caller they do not exist (a person in no school yet, or in this one, can be enrolled).
        person, course = attrs.get("user"), attrs.get("course")
        caller = getattr(self.context.get("request"), "user", None)
        if self.instance is not None and person is not None and person.pk == self.instance.user_id:
            return attrs  # a PUT of an existing enrolment names its person again: nothing new
        if person is not None and course is not None and not getattr(caller, "is_superuser", False):
            schools = set(SchoolMembership.objects.filter(user=person).values_list("school_id", flat=True))
            if schools and course.school_id not in schools:
                raise serializers.ValidationError(
                    {"user": [self.fields["user"].error_messages["does_not_exist"].format(pk_value=person.pk)]}
                )
        return attrs


class SkillSerializer(BaseModelSerializer):
    course = ScopedPrimaryKeyRelatedField(queryset=Course.objects.all(), scope=_visible_courses)
    prerequisites = ScopedPrimaryKeyRelatedField(
        queryset=Skill.objects.all(),
        scope=lambda user: selectors.skills_visible(user=user),
        many=True,
        required=False,
        help_text="Ids of skills of the same course that should be learnt first (no cycles).",
    )

    class Meta:
        model = Skill
        fields = ["id", "course", "name", "description", "prerequisites"]
        read_only_fields = ["id"]
        validators: list = []


def _skills_field() -> ScopedPrimaryKeyRelatedField:
    return ScopedPrimaryKeyRelatedField(
        queryset=Skill.objects.all(),
        scope=lambda user: selectors.skills_visible(user=user),
        many=True,
        required=False,
        help_text="Ids of skills of the same course.",
    )


class RubricTraitSerializer(BaseModelSerializer):
    id = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text="Give the id of an existing trait to keep and change it; leave it out to add a trait.",
    )
    min_score = serializers.IntegerField(required=False, min_value=-MAX_RUBRIC_POINTS, max_value=MAX_RUBRIC_POINTS)
    max_score = serializers.IntegerField(required=False, min_value=-MAX_RUBRIC_POINTS, max_value=MAX_RUBRIC_POINTS)

    class Meta:
        model = RubricTrait
        fields = ["id", "name", "description", "min_score", "max_score", "position"]
        validators: list = []


class AssignmentSerializer(BaseModelSerializer):
    course = ScopedPrimaryKeyRelatedField(queryset=Course.objects.all(), scope=_visible_courses)
    skills = _skills_field()
    traits = RubricTraitSerializer(
        many=True,
        required=False,
        help_text="The analytic rubric. On update the list replaces the rubric: listed ids are kept, "
        "traits without an id are added, the others are removed.",
    )
    min_score = serializers.IntegerField(required=False, min_value=-MAX_RUBRIC_POINTS, max_value=MAX_RUBRIC_POINTS)
    max_score = serializers.IntegerField(required=False, min_value=-MAX_RUBRIC_POINTS, max_value=MAX_RUBRIC_POINTS)
    language = LanguageField(required=False, allow_blank=True, help_text="Blank: the course's language.")
    auto_release_max_interval = serializers.FloatField(
        required=False,
        min_value=0.0,
        max_value=float(MAX_RUBRIC_POINTS),
        help_text="Auto-release only when the model's prediction interval is at most this wide (rubric points).",
    )
    auto_release_min_qwk = serializers.FloatField(
        required=False,
        min_value=-1.0,
        max_value=1.0,
        help_text="Auto-release only when the serving model's validated QWK is at least this.",
    )

    class Meta:
        model = Assignment
        fields = [
            "id",
            "course",
            "title",
            "kind",
            "prompt",
            "min_score",
            "max_score",
            "traits",
            "skills",
            "due_at",
            "language",
            "release_policy",
            "auto_release_max_interval",
            "auto_release_min_qwk",
            "is_published",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low = attrs.get("min_score", getattr(self.instance, "min_score", 0))
        high = attrs.get("max_score", getattr(self.instance, "max_score", 6))
        if high <= low:
            raise serializers.ValidationError({"max_score": f"max_score ({high}) must be above min_score ({low})."})
        return attrs


class SubmissionSerializer(BaseModelSerializer):
    assignment = ScopedPrimaryKeyRelatedField(
        queryset=Assignment.objects.all(), scope=lambda user: selectors.assignments_visible(user=user)
    )
    text = StrictCharField(
        trim_whitespace=False,
        help_text=f"The answer as plain text (at most EDUAI_MAX_SUBMISSION_CHARS characters, "
        f"{settings.EDUAI_MAX_SUBMISSION_CHARS} by default). Stored verbatim; it cannot be changed later.",
    )
    final_score = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="The grade of record. Students see it once it is released; staff always.",
    )

    class Meta:
        model = Submission
        fields = [
            "id",
            "assignment",
            "author",
            "text",
            "attempt",
            "language",
            "status",
            "status_reason",
            "submitted_at",
            "updated_at",
            "final_score",
            "source",
        ]
        read_only_fields = [
            "id",
            "author",
            "attempt",
            "language",
            "status",
            "status_reason",
            "submitted_at",
            "updated_at",
            "final_score",
            "source",
        ]

    def to_representation(self, instance: Submission) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        is_staff = request is not None and instance.assignment.course_id in scope_for(request).staff_course_ids
        if not is_staff and instance.status != SubmissionStatus.RELEASED:
            data["final_score"] = None  # not yet released to the student
        return data


class PracticeItemSerializer(BaseModelSerializer):
    course = ScopedPrimaryKeyRelatedField(queryset=Course.objects.all(), scope=_visible_courses)
    skills = _skills_field()
    difficulty = serializers.FloatField(
        required=False, min_value=0.0, max_value=1.0, help_text="Author's estimate in [0, 1]."
    )
    answer = StrictCharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=500,
        trim_whitespace=False,
        help_text="The expected answer. Null for those who do not teach the course.",
    )

    class Meta:
        model = PracticeItem
        fields = ["id", "course", "title", "body", "answer", "skills", "difficulty", "external_id"]
        read_only_fields = ["id"]

    def validate_answer(self, value: str | None) -> str:
        return value or ""

    def to_representation(self, instance: PracticeItem) -> dict[str, Any]:
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is None or instance.course_id not in scope_for(request).staff_course_ids:
            data["answer"] = None  # students must not read the answer key
        return data


class LearningResourceSerializer(BaseModelSerializer):
    course = ScopedPrimaryKeyRelatedField(queryset=Course.objects.all(), scope=_visible_courses)
    skills = _skills_field()
    difficulty = serializers.FloatField(required=False, min_value=0.0, max_value=1.0, help_text="In [0, 1].")
    language = LanguageField(required=False, allow_blank=True)

    class Meta:
        model = LearningResource
        fields = [
            "id",
            "course",
            "title",
            "body",
            "url",
            "kind",
            "skills",
            "difficulty",
            "language",
            "is_active",
            "external_id",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]


class ActivityEventSerializer(BaseModelSerializer):
    class Meta:
        model = ActivityEvent
        fields = [
            "id",
            "statement_id",
            "course",
            "actor",
            "verb",
            "object_type",
            "object_iri",
            "practice_item",
            "resource",
            "assignment",
            "result_success",
            "result_completion",
            "result_score_scaled",
            "result_score_raw",
            "result_duration",
            "result_response",
            "timestamp",
            "stored_at",
            "voided",
        ]
        read_only_fields = fields


def _id_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=2**63 - 1, **kwargs)


class ActivityEventInputSerializer(serializers.Serializer):
    """One event to record. Ids are checked for the whole batch at once (see the view)."""

    statement_id = serializers.UUIDField(
        required=False,
        help_text="xAPI statement id, unique within its course: one the course already has is reported, not stored "
        "twice (other courses' ids, other schools' included, are not looked at).",
    )
    course = _id_field()
    actor = _id_field(required=False, help_text="Whose activity this is; defaults to you.")
    verb = StrictCharField(max_length=300, help_text="xAPI verb IRI, e.g. http://adlnet.gov/expapi/verbs/answered")
    object_type = serializers.ChoiceField(choices=ObjectType.choices, default=ObjectType.OTHER)
    object_iri = StrictCharField(max_length=1000, required=False, allow_blank=True, default="")
    practice_item = _id_field(required=False, allow_null=True)
    resource = _id_field(required=False, allow_null=True)
    assignment = _id_field(required=False, allow_null=True)
    result_success = serializers.BooleanField(required=False, allow_null=True, default=None)
    result_completion = serializers.BooleanField(required=False, allow_null=True, default=None)
    result_score_scaled = serializers.FloatField(
        required=False, allow_null=True, min_value=-1.0, max_value=1.0, help_text="xAPI scaled score in [-1, 1]."
    )
    result_score_raw = serializers.FloatField(required=False, allow_null=True, min_value=-1e9, max_value=1e9)
    result_duration = serializers.DurationField(
        required=False, allow_null=True, min_value=timedelta(0), max_value=MAX_EVENT_DURATION
    )
    result_response = StrictCharField(
        max_length=10000, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    timestamp = serializers.DateTimeField(help_text="When it happened (ISO 8601 with time zone).")
    raw = serializers.DictField(required=False, help_text="The statement as received, kept for audit.")

    def validate_verb(self, value: str) -> str:
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", value):
            raise serializers.ValidationError("Expected an IRI such as http://adlnet.gov/expapi/verbs/answered.")
        return value

    def validate_raw(self, value: dict[str, Any]) -> dict[str, Any]:
        try:
            # 1e400 parses to infinity, which a JSON column cannot store.
            encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
        except ValueError as exc:
            raise serializers.ValidationError("raw must not contain infinite or NaN numbers.") from exc
        if len(encoded) > MAX_RAW_CHARS:
            raise serializers.ValidationError(
                f"raw is {len(encoded)} characters of JSON; the maximum is {MAX_RAW_CHARS}."
            )
        # PostgreSQL's jsonb refuses NUL and lone surrogates; say so instead of failing on save.
        if "\x00" in encoded or "\\u0000" in encoded:
            raise serializers.ValidationError("raw must not contain NUL characters.")
        try:
            encoded.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise serializers.ValidationError("raw must be valid Unicode text (no lone surrogates).") from exc
        return value


class EventBatchResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="How many events were stored.")
    created_ids = serializers.ListField(child=serializers.IntegerField())
    duplicate_statement_ids = serializers.ListField(
        child=serializers.UUIDField(),
        help_text="Statements their course already has (or repeated for it in the batch); not stored again.",
    )


class MyCourseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()
    school = serializers.IntegerField()
    role = serializers.ChoiceField(choices=["admin", "teacher", "ta", "student"])
    is_active = serializers.BooleanField(help_text="False for an archived course: readable, but nothing new in it.")


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    language = serializers.CharField()
    is_school_admin = serializers.BooleanField()
    admin_school_ids = serializers.ListField(child=serializers.IntegerField())
    courses = MyCourseSerializer(many=True)
