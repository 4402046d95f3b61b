"""Query-string filters of the REST API v1 (django-filter).

Filters only narrow a queryset that is already scoped to the asker, so filtering by a course
you cannot see gives an empty page, never someone else's data. Ids are integers in
[1, 2**63 - 1] (larger values are a 400, not a database overflow). ``since`` is inclusive and
``until`` exclusive, both ISO 8601 date-times.
"""

from __future__ import annotations

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from eduai.courses.models import (
    ActivityEvent,
    Assignment,
    AssignmentKind,
    Course,
    Enrollment,
    LearningResource,
    ObjectType,
    PracticeItem,
    ResourceKind,
    Role,
    Skill,
    Submission,
    SubmissionStatus,
)

MAX_ID = 2**63 - 1


class IdField(forms.IntegerField):
    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)  # type: ignore[arg-type]


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    field_class = IdField


class CourseFilter(filters.FilterSet):
    school = IdFilter(field_name="school_id", help_text="Only courses of this school.")

    class Meta:
        model = Course
        fields = ["school", "is_active"]


class EnrollmentFilter(filters.FilterSet):
    course = IdFilter(field_name="course_id")
    user = IdFilter(field_name="user_id")
    role = filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = Enrollment
        fields = ["course", "user", "role", "is_active"]


class SkillFilter(filters.FilterSet):
    course = IdFilter(field_name="course_id")

    class Meta:
        model = Skill
        fields = ["course"]


class AssignmentFilter(filters.FilterSet):
    course = IdFilter(field_name="course_id")
    skill = IdFilter(field_name="skills", help_text="Only assignments that assess this skill.")
    kind = filters.ChoiceFilter(choices=AssignmentKind.choices)

    class Meta:
        model = Assignment
        fields = ["course", "skill", "kind", "is_published"]


class SubmissionFilter(filters.FilterSet):
    course = IdFilter(field_name="assignment__course_id")
    assignment = IdFilter(field_name="assignment_id")
    author = IdFilter(field_name="author_id")
    status = filters.ChoiceFilter(choices=SubmissionStatus.choices)

    class Meta:
        model = Submission
        fields = ["course", "assignment", "author", "status"]


class PracticeItemFilter(filters.FilterSet):
    course = IdFilter(field_name="course_id")
    skill = IdFilter(field_name="skills")

    class Meta:
        model = PracticeItem
        fields = ["course", "skill"]


class LearningResourceFilter(filters.FilterSet):
    course = IdFilter(field_name="course_id")
    skill = IdFilter(field_name="skills")
    kind = filters.ChoiceFilter(choices=ResourceKind.choices)

    class Meta:
        model = LearningResource
        fields = ["course", "skill", "kind", "is_active"]


class ActivityEventFilter(filters.FilterSet):
    course = IdFilter(field_name="course_id")
    actor = IdFilter(field_name="actor_id")
    assignment = IdFilter(field_name="assignment_id")
    practice_item = IdFilter(field_name="practice_item_id")
    resource = IdFilter(field_name="resource_id")
    object_type = filters.ChoiceFilter(choices=ObjectType.choices)
    verb = filters.CharFilter(max_length=300, help_text="Exact xAPI verb IRI.")
    since = filters.IsoDateTimeFilter(
        field_name="timestamp", lookup_expr="gte", help_text="Events at or after this time (ISO 8601)."
    )
    until = filters.IsoDateTimeFilter(
        field_name="timestamp", lookup_expr="lt", help_text="Events before this time (ISO 8601)."
    )

    class Meta:
        model = ActivityEvent
        fields = ["course", "actor", "assignment", "practice_item", "resource", "object_type", "verb", "voided"]
