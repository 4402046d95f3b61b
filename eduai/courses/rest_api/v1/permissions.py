"""Who may do what through the REST API v1. Every rule defers to ``eduai.courses.access``.

- Reading: querysets are already scoped by ``selectors`` (a student sees their own work, staff
  their courses, a school admin their school), so anything outside them is a 404.
- Changing course setup (assignments, skills, practice items, resources, enrolments, the
  course itself): teachers of the course and school admins; not TAs, not students (403). In an
  archived course: its school admins only (403 for its teachers; a teacher may archive).
- Creating a course: school admins, for a school they administer.
- Submissions and activity events have their own rules; see ``SubmissionWritePermission`` and
  ``event_batch_problems``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from django.db.models import Model
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from eduai.courses import access, selectors
from eduai.courses.models import (
    Assignment,
    Course,
    Enrollment,
    LearningResource,
    PracticeItem,
    Role,
)


class Scope:
    """The asking user's reach, computed once per request (each set costs one or two queries)."""

    def __init__(self, user: Any) -> None:
        self.user = user

    @cached_property
    def staff_course_ids(self) -> set[int]:
        """Courses whose students' work the user may read: teacher, TA, school admin."""
        return access.staff_course_ids(self.user)

    @cached_property
    def manage_course_ids(self) -> set[int]:
        """Courses whose setup the user may change: teacher, school admin (not TA)."""
        return access.staff_course_ids(self.user, teachers_only=True)


def scope_for(request: Request) -> Scope:
    scope = getattr(request, "_eduai_scope", None)
    if scope is None or scope.user is not request.user:
        scope = Scope(request.user)
        request._eduai_scope = scope  # type: ignore[attr-defined]
    return scope


def _course_id_of(obj: Model) -> int:
    if isinstance(obj, Course):
        return int(obj.pk)
    return int(obj.course_id)  # type: ignore[attr-defined]


class CourseSetupPermission(BasePermission):
    """Read for whoever sees the object; write for those who manage its course."""

    message = "Only the course's teachers and school admins can change its setup."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS or request.method != "POST":
            return True  # reads are scoped by the queryset; edits are checked per object
        # Cheap early refusal: someone who manages no course at all cannot create anything.
        return bool(scope_for(request).manage_course_ids)

    def has_object_permission(self, request: Request, view: Any, obj: Model) -> bool:
        if request.method in SAFE_METHODS:
            return True
        if _course_id_of(obj) not in scope_for(request).manage_course_ids:
            return False
        course = obj if isinstance(obj, Course) else obj.course  # type: ignore[attr-defined]
        if access.archived_read_only(request.user, course):
            raise PermissionDenied(access.ARCHIVED_READ_ONLY)
        return True


class CoursePermission(CourseSetupPermission):
    """Courses: created by school admins only; changed by their teachers and school admins."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method == "POST":
            self.message = "Only school admins can create courses."
            return access.is_school_admin(request.user)
        return True


def can_manage_course(request: Request, course_id: int) -> bool:
    return course_id in scope_for(request).manage_course_ids


def is_student_of(user: Any, course_id: int) -> bool:
    return Enrollment.objects.filter(user=user, course_id=course_id, role=Role.STUDENT, is_active=True).exists()


# --- Activity events --------------------------------------------------------------------


def event_batch_problems(
    request: Request, events: Sequence[dict[str, Any]]
) -> tuple[dict[int, dict[str, str]], dict[int, dict[str, str]]]:
    """Check a validated batch against the asker's scope with a fixed number of queries.

    Returns ``(invalid, forbidden)``, each ``{index: {field: message}}``. ``invalid``: ids that do
    not exist for the asker (unknown or out of scope: both read "not found", so nothing leaks) or
    objects of another course; a hidden resource or an unpublished assignment is unknown to
    students. ``forbidden``: events the asker may not post — nobody posts in an archived course; a
    student posts only about themselves in their own courses; staff post for students of their
    courses.
    """
    user = request.user
    scope = scope_for(request)
    owners: dict[str, dict[int, int]] = {}
    for field, model in (("practice_item", PracticeItem), ("resource", LearningResource), ("assignment", Assignment)):
        ids = {e[field] for e in events if e.get(field) is not None}
        if not ids:
            owners[field] = {}
            continue
        # A hidden resource or an unpublished assignment does not exist for students (as in the
        # *_visible selectors), with the staff course ids this request already holds.
        shown = selectors.shown_to(model, staff_course_ids=scope.staff_course_ids)
        owners[field] = dict(model.objects.filter(shown, pk__in=ids).values_list("pk", "course_id"))  # type: ignore[attr-defined]
    course_ids = {e["course"] for e in events} | {c for by_id in owners.values() for c in by_id.values()}
    active = dict(access.visible_courses(user).filter(pk__in=course_ids).values_list("pk", "is_active"))
    visible = set(active)
    # Objects of courses the asker cannot see are treated as unknown.
    owners = {field: {k: c for k, c in by_id.items() if c in visible} for field, by_id in owners.items()}
    actors = {e.get("actor") or user.pk for e in events}
    students = set(
        Enrollment.objects.filter(
            course_id__in=visible, user_id__in=actors, role=Role.STUDENT, is_active=True
        ).values_list("course_id", "user_id")
    )
    invalid: dict[int, dict[str, str]] = {}
    forbidden: dict[int, dict[str, str]] = {}
    for index, event in enumerate(events):
        course_id = event["course"]
        if course_id not in visible:
            invalid[index] = {"course": f"Course {course_id} not found."}
            continue
        problems = {}
        for field, by_id in owners.items():
            object_id = event.get(field)
            if object_id is None:
                continue
            if object_id not in by_id:
                problems[field] = f"{field.replace('_', ' ').capitalize()} {object_id} not found."
            elif by_id[object_id] != course_id:
                problems[field] = f"{field.replace('_', ' ').capitalize()} {object_id} belongs to another course."
        if problems:
            invalid[index] = problems
            continue
        actor_id = event.get("actor") or user.pk
        if not active[course_id]:
            forbidden[index] = {"course": access.ARCHIVED_NO_NEW_WORK}
        elif actor_id != user.pk and course_id not in scope.staff_course_ids:
            forbidden[index] = {"actor": "You may only record your own activity."}
        elif (course_id, actor_id) not in students:
            forbidden[index] = {"actor": f"User {actor_id} is not a student of course {course_id}."}
    return invalid, forbidden
