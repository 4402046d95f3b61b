"""REST API v1 of the LMS core: thin views that validate, call one service and render.

Access rule (one rule, everywhere): every list and detail route reads from a queryset already
scoped to the asker (``eduai.courses.selectors`` / ``access``). So:

- an object outside your scope is **404 Not Found** on its detail route, for reads and writes
  alike — the API never confirms that something you may not see exists;
- an object you can see but may not change (a student editing an assignment of their course, a
  TA changing course setup) is **403 Forbidden**;
- an id in a request body that is unknown or outside your scope is **400** "does not exist";
- anonymous requests are **401** (send ``Authorization: Token <key>`` from ``POST
  /api/v1/auth/token/``, or a session cookie).

Submissions are never changed after they are made (no PUT/PATCH/DELETE); activity events are
added in bulk and never edited through the API.

An archived course (``is_active`` false) stays readable by the same people; nothing new is
submitted or recorded in it (403), and its setup and roster change only by its school's admins
(403 for its teachers). See docs/courses.md.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from eduai.courses import access, selectors, services
from eduai.courses.data import EventInput
from eduai.courses.models import (
    ActivityEvent,
    Assignment,
    Course,
    Enrollment,
    LearningResource,
    PracticeItem,
    School,
    Skill,
    Submission,
)

from . import filters
from . import serializers as s
from .permissions import (
    CoursePermission,
    CourseSetupPermission,
    can_manage_course,
    event_batch_problems,
    is_student_of,
)


class Pagination(PageNumberPagination):
    """``?page=N`` (from 1) and ``?page_size=M`` (default 50, at most 200 per page)."""

    page_size_query_param = "page_size"
    max_page_size = 200


def _ids_only(field: str) -> Prefetch:
    # Serializers render related skills as ids: fetch the ids, not whole rows.
    return Prefetch(field, queryset=Skill.objects.only("id"))


class ScopedViewSet(viewsets.GenericViewSet):
    """Base: authenticated, paginated, and reading only what the asker may see."""

    model: type[Any]
    permission_classes = [IsAuthenticated]
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return self.model.objects.none()
        return self.scoped(self.request.user)

    def scoped(self, user: Any) -> QuerySet:
        raise NotImplementedError


class CourseSetupViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ScopedViewSet,
):
    """Objects that belong to one course and make up its setup. Writes: teachers and admins."""

    permission_classes = [IsAuthenticated, CourseSetupPermission]
    noun = "object"

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        course = data.pop("course")
        if not can_manage_course(self.request, course.pk):
            raise PermissionDenied(CourseSetupPermission.message)
        if access.archived_read_only(self.request.user, course):
            raise PermissionDenied(access.ARCHIVED_READ_ONLY)
        serializer.instance = self.create_object(course_id=course.pk, data=data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        instance = serializer.instance
        course = data.pop("course", None)
        if course is not None and course.pk != instance.course_id:  # type: ignore[union-attr]
            raise ValidationError({"course": [f"A {self.noun} cannot move to another course."]})
        serializer.instance = self.update_object(instance=instance, data=data)

    def perform_destroy(self, instance: Any) -> None:
        self.delete_object(instance=instance)

    def create_object(self, *, course_id: int, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def update_object(self, *, instance: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def delete_object(self, *, instance: Any) -> None:
        raise NotImplementedError


def _ids(objs: list[Any] | None) -> list[int] | None:
    return None if objs is None else [o.pk for o in objs]


# --- Schools and courses ----------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Schools you belong to", description="Schools of your courses and memberships."),
    retrieve=extend_schema(summary="One of your schools"),
)
class SchoolViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    model = School
    serializer_class = s.SchoolSerializer
    filterset_class = None
    ordering_fields = ["name", "id"]
    ordering = ["name", "id"]

    def scoped(self, user: Any) -> QuerySet:
        if getattr(user, "is_superuser", False):
            return School.objects.all()
        return School.objects.filter(
            Q(pk__in=access.admin_school_ids(user))
            | Q(memberships__user=user)
            | Q(pk__in=access.visible_courses(user).values("school_id"))
        ).distinct()


@extend_schema_view(
    list=extend_schema(summary="Courses you can open"),
    retrieve=extend_schema(summary="A course"),
    create=extend_schema(summary="Create a course (school admins)"),
    update=extend_schema(summary="Change a course (its teachers and school admins)"),
    partial_update=extend_schema(summary="Change some fields of a course"),
)
class CourseViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ScopedViewSet,
):
    model = Course
    permission_classes = [IsAuthenticated, CoursePermission]
    filterset_class = filters.CourseFilter
    ordering_fields = ["code", "title", "created_at", "id"]
    ordering = ["school_id", "code"]

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action in {"update", "partial_update"}:
            return s.CourseUpdateSerializer
        return s.CourseSerializer

    def scoped(self, user: Any) -> QuerySet:
        return access.visible_courses(user)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        school = data.pop("school")
        serializer.instance = services.course_create(school_id=school.pk, **data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.course_update(
            course_id=serializer.instance.pk,  # type: ignore[union-attr]
            data=serializer.validated_data,
        )


# --- Course setup -----------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Enrolments: your own, and the rosters of courses you teach"),
    retrieve=extend_schema(summary="An enrolment"),
    create=extend_schema(
        summary="Enrol someone (teachers and school admins)",
        description="Idempotent: enrolling someone already in the course updates their role (200).",
        responses={201: s.EnrollmentSerializer, 200: s.EnrollmentSerializer},
    ),
    update=extend_schema(summary="Change an enrolment's role or status"),
    partial_update=extend_schema(summary="Change some fields of an enrolment"),
    destroy=extend_schema(
        summary="End an enrolment",
        description="Marks the enrolment inactive; the person's submissions and events are kept.",
    ),
)
class EnrollmentViewSet(CourseSetupViewSet):
    model = Enrollment
    noun = "enrolment"
    serializer_class = s.EnrollmentSerializer
    filterset_class = filters.EnrollmentFilter
    ordering_fields = ["created_at", "role", "id"]
    ordering = ["course_id", "id"]

    def scoped(self, user: Any) -> QuerySet:
        return selectors.enrollments_visible(user=user).select_related("user")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        existed = Enrollment.objects.filter(course=data["course"], user=data["user"]).exists()
        self.perform_create(serializer)
        return Response(serializer.data, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    def create_object(self, *, course_id: int, data: dict[str, Any]) -> Any:
        enrollment = services.enrollment_upsert(
            course_id=course_id,
            user_id=data["user"].pk,
            role=data.get("role", "student"),
            language_background=data.get("language_background", ""),
        )
        if data.get("is_active") is False:
            enrollment = services.enrollment_deactivate(enrollment_id=enrollment.pk)
        return enrollment

    def update_object(self, *, instance: Any, data: dict[str, Any]) -> Any:
        user = data.pop("user", None)
        if user is not None and user.pk != instance.user_id:
            raise ValidationError({"user": ["An enrolment cannot be moved to another person; enrol them instead."]})
        return services.enrollment_update(enrollment_id=instance.pk, data=data)

    def delete_object(self, *, instance: Any) -> None:
        services.enrollment_deactivate(enrollment_id=instance.pk)


@extend_schema_view(
    list=extend_schema(summary="Skills of your courses"),
    retrieve=extend_schema(summary="A skill with its prerequisites"),
    create=extend_schema(summary="Add a skill (teachers and school admins)"),
    update=extend_schema(summary="Change a skill"),
    partial_update=extend_schema(summary="Change some fields of a skill"),
    destroy=extend_schema(summary="Delete a skill"),
)
class SkillViewSet(CourseSetupViewSet):
    model = Skill
    noun = "skill"
    serializer_class = s.SkillSerializer
    filterset_class = filters.SkillFilter
    ordering_fields = ["name", "id"]
    ordering = ["course_id", "name"]

    def scoped(self, user: Any) -> QuerySet:
        return selectors.skills_visible(user=user).prefetch_related(_ids_only("prerequisites"))

    def create_object(self, *, course_id: int, data: dict[str, Any]) -> Any:
        return services.skill_create(
            course_id=course_id,
            name=data["name"],
            description=data.get("description", ""),
            prerequisite_ids=_ids(data.get("prerequisites")) or [],
        )

    def update_object(self, *, instance: Any, data: dict[str, Any]) -> Any:
        prerequisites = _ids(data.pop("prerequisites", None))
        return services.skill_update(skill_id=instance.pk, data=data, prerequisite_ids=prerequisites)

    def delete_object(self, *, instance: Any) -> None:
        services.skill_delete(skill_id=instance.pk)


@extend_schema_view(
    list=extend_schema(summary="Assignments of your courses (students: published ones)"),
    retrieve=extend_schema(summary="An assignment with its rubric"),
    create=extend_schema(summary="Add an assignment (teachers and school admins)"),
    update=extend_schema(summary="Change an assignment"),
    partial_update=extend_schema(summary="Change some fields of an assignment"),
    destroy=extend_schema(
        summary="Delete an assignment nobody has answered",
        description="An assignment with submissions cannot be deleted (400); unpublish it instead.",
    ),
)
class AssignmentViewSet(CourseSetupViewSet):
    model = Assignment
    noun = "assignment"
    serializer_class = s.AssignmentSerializer
    filterset_class = filters.AssignmentFilter
    ordering_fields = ["due_at", "created_at", "title", "id"]
    ordering = ["course_id", "due_at", "id"]

    def scoped(self, user: Any) -> QuerySet:
        return selectors.assignments_visible(user=user).prefetch_related("traits", _ids_only("skills"))

    def create_object(self, *, course_id: int, data: dict[str, Any]) -> Any:
        skills = _ids(data.pop("skills", None)) or []
        traits = data.pop("traits", [])
        return services.assignment_create(course_id=course_id, skill_ids=skills, traits=traits, **data)

    def update_object(self, *, instance: Any, data: dict[str, Any]) -> Any:
        skills = _ids(data.pop("skills", None))
        traits = data.pop("traits", None)
        return services.assignment_update(assignment_id=instance.pk, data=data, skill_ids=skills, traits=traits)

    def delete_object(self, *, instance: Any) -> None:
        services.assignment_delete(assignment_id=instance.pk)


@extend_schema_view(
    list=extend_schema(summary="Practice items of your courses"),
    retrieve=extend_schema(summary="A practice item (the answer only for those who teach the course)"),
    create=extend_schema(summary="Add a practice item (teachers and school admins)"),
    update=extend_schema(summary="Change a practice item"),
    partial_update=extend_schema(summary="Change some fields of a practice item"),
    destroy=extend_schema(summary="Delete a practice item (its events are kept)"),
)
class PracticeItemViewSet(CourseSetupViewSet):
    model = PracticeItem
    noun = "practice item"
    serializer_class = s.PracticeItemSerializer
    filterset_class = filters.PracticeItemFilter
    ordering_fields = ["title", "difficulty", "id"]
    ordering = ["course_id", "id"]

    def scoped(self, user: Any) -> QuerySet:
        return selectors.practice_items_visible(user=user).prefetch_related(_ids_only("skills"))

    def create_object(self, *, course_id: int, data: dict[str, Any]) -> Any:
        skills = _ids(data.pop("skills", None)) or []
        return services.practice_item_create(course_id=course_id, skill_ids=skills, **data)

    def update_object(self, *, instance: Any, data: dict[str, Any]) -> Any:
        skills = _ids(data.pop("skills", None))
        return services.practice_item_update(practice_item_id=instance.pk, data=data, skill_ids=skills)

    def delete_object(self, *, instance: Any) -> None:
        services.practice_item_delete(practice_item_id=instance.pk)


@extend_schema_view(
    list=extend_schema(summary="Learning resources of your courses (students: active ones)"),
    retrieve=extend_schema(summary="A learning resource"),
    create=extend_schema(summary="Add a learning resource (teachers and school admins)"),
    update=extend_schema(summary="Change a learning resource"),
    partial_update=extend_schema(summary="Change some fields of a learning resource"),
    destroy=extend_schema(summary="Delete a learning resource"),
)
class LearningResourceViewSet(CourseSetupViewSet):
    model = LearningResource
    noun = "resource"
    serializer_class = s.LearningResourceSerializer
    filterset_class = filters.LearningResourceFilter
    ordering_fields = ["title", "difficulty", "created_at", "id"]
    ordering = ["course_id", "id"]

    def scoped(self, user: Any) -> QuerySet:
        return selectors.resources_visible(user=user).prefetch_related(_ids_only("skills"))

    def create_object(self, *, course_id: int, data: dict[str, Any]) -> Any:
        skills = _ids(data.pop("skills", None)) or []
        return services.learning_resource_create(course_id=course_id, skill_ids=skills, **data)

    def update_object(self, *, instance: Any, data: dict[str, Any]) -> Any:
        skills = _ids(data.pop("skills", None))
        return services.learning_resource_update(resource_id=instance.pk, data=data, skill_ids=skills)

    def delete_object(self, *, instance: Any) -> None:
        services.learning_resource_delete(resource_id=instance.pk)


# --- Student work -----------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Submissions: your own, and all of the courses you teach"),
    retrieve=extend_schema(summary="A submission"),
    create=extend_schema(
        summary="Submit an answer (students of the assignment's course)",
        description="Creates your next attempt. The text cannot be changed afterwards. "
        "An archived course takes no submissions (403).",
    ),
)
class SubmissionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    ScopedViewSet,
):
    model = Submission
    serializer_class = s.SubmissionSerializer
    filterset_class = filters.SubmissionFilter
    ordering_fields = ["submitted_at", "status", "attempt", "id"]
    ordering = ["-submitted_at", "-id"]

    def scoped(self, user: Any) -> QuerySet:
        return selectors.submissions_visible(user=user).select_related("assignment")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        assignment = serializer.validated_data["assignment"]
        if not is_student_of(self.request.user, assignment.course_id):
            raise PermissionDenied("Only students enrolled in this course can submit to its assignments.")
        if not assignment.course.is_active:
            raise PermissionDenied(access.ARCHIVED_NO_NEW_WORK)
        serializer.instance = services.submission_create(
            assignment_id=assignment.pk,
            author_id=int(self.request.user.pk),  # type: ignore[arg-type]  # authenticated: has a pk
            text=serializer.validated_data["text"],
            source="api",
        )


@extend_schema_view(
    list=extend_schema(summary="Activity events: your own, and all of the courses you teach"),
    retrieve=extend_schema(summary="An activity event"),
)
class ActivityEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    model = ActivityEvent
    serializer_class = s.ActivityEventSerializer
    filterset_class = filters.ActivityEventFilter
    ordering_fields = ["timestamp", "stored_at", "id"]
    ordering = ["timestamp", "id"]

    def scoped(self, user: Any) -> QuerySet:
        return selectors.events_visible(user=user)

    @extend_schema(
        summary="Record a batch of activity events",
        description=(
            "The body is a JSON list of events (at most EDUAI_MAX_EVENTS_PER_REQUEST, "
            f"{settings.EDUAI_MAX_EVENTS_PER_REQUEST} by default). A student records only their own "
            "activity in their own courses; teachers, TAs and school admins may record it for the "
            "students of their courses; nobody records activity in an archived course. "
            "The batch is stored whole or not at all: any bad event "
            "makes it a 400 (or 403) listing the problems by position. A statement id is unique within "
            "its course: one the course already has is reported in duplicate_statement_ids and not "
            "stored twice; another course's (another school's) use of the same id does not count."
        ),
        request=s.ActivityEventInputSerializer(many=True),
        responses={
            201: s.EventBatchResultSerializer,
            200: OpenApiResponse(s.EventBatchResultSerializer, description="Nothing new: all were duplicates."),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        items = request.data
        limit = settings.EDUAI_MAX_EVENTS_PER_REQUEST
        if not isinstance(items, list):
            raise ValidationError({"detail": "Expected a JSON list of events."})
        if not items:
            raise ValidationError({"detail": "The list of events is empty."})
        if len(items) > limit:
            raise ValidationError({"detail": f"At most {limit} events per request; got {len(items)}."})
        serializer = s.ActivityEventInputSerializer(data=items, many=True, context=self.get_serializer_context())
        if not serializer.is_valid():
            raw_errors: Any = serializer.errors
            # Keyed by position whichever shape DRF gives (LIST_SERIALIZER_ERRORS_AS_DICT or a list).
            pairs = raw_errors.items() if isinstance(raw_errors, dict) else enumerate(raw_errors)
            errors = {str(i): e for i, e in pairs if e}
            raise ValidationError({"detail": "Some events are invalid; nothing was stored.", "events": errors})
        events: list[dict[str, Any]] = list(serializer.validated_data)  # type: ignore[arg-type]
        invalid, forbidden = event_batch_problems(request, events)
        if invalid:
            raise ValidationError(
                {"detail": "Some events refer to unknown objects; nothing was stored.", "events": _keyed(invalid)}
            )
        if forbidden:
            return Response(
                {"detail": "You may not record some of these events; nothing was stored.", "events": _keyed(forbidden)},
                status=status.HTTP_403_FORBIDDEN,
            )
        result = services.activity_events_record(events=[_event_input(e, request.user.pk) for e in events])
        body = {
            "created": len(result.created_ids),
            "created_ids": result.created_ids,
            "duplicate_statement_ids": result.duplicate_statement_ids,
        }
        return Response(
            s.EventBatchResultSerializer(body).data,
            status=status.HTTP_201_CREATED if result.created_ids else status.HTTP_200_OK,
        )


def _keyed(problems: dict[int, dict[str, str]]) -> dict[str, dict[str, str]]:
    return {str(i): p for i, p in sorted(problems.items())}


def _event_input(e: dict[str, Any], user_id: int) -> EventInput:
    return EventInput(
        course_id=e["course"],
        actor_id=e.get("actor") or user_id,
        verb=e["verb"],
        timestamp=e["timestamp"],
        object_type=e["object_type"],
        object_iri=e["object_iri"],
        practice_item_id=e.get("practice_item"),
        resource_id=e.get("resource"),
        assignment_id=e.get("assignment"),
        result_success=e.get("result_success"),
        result_completion=e.get("result_completion"),
        result_score_scaled=e.get("result_score_scaled"),
        result_score_raw=e.get("result_score_raw"),
        result_duration=e.get("result_duration"),
        result_response=e.get("result_response", ""),
        statement_id=e.get("statement_id"),
        raw=e.get("raw", {}),
    )


# --- Who am I ---------------------------------------------------------------------------


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="Who am I: my account, my courses and my role in each", responses=s.MeSerializer)
    def get(self, request: Request) -> Response:
        user: Any = request.user
        roles = dict(Enrollment.objects.filter(user_id=user.pk, is_active=True).values_list("course_id", "role"))
        admin_schools = access.admin_school_ids(user)
        superuser = bool(getattr(user, "is_superuser", False))
        courses = [
            {
                "id": c.pk,
                "code": c.code,
                "title": c.title,
                "school": c.school_id,
                "role": "admin" if superuser or c.school_id in admin_schools else roles.get(c.pk, "student"),
                "is_active": c.is_active,
            }
            for c in access.visible_courses(user).order_by("school_id", "code")
        ]
        body = {
            "id": user.pk,
            "username": user.get_username(),
            "display_name": getattr(user, "label", user.get_username()),
            "language": getattr(user, "language", ""),
            "is_school_admin": access.is_school_admin(user),
            "admin_school_ids": sorted(admin_schools),
            "courses": courses,
        }
        return Response(s.MeSerializer(body).data)
