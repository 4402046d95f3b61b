"""Who may see and change what. Every view, page and endpoint asks here.

Rules:
- a student sees their own submissions and events, and the course content of their courses;
- a teacher or TA sees everything in the courses they teach (TAs cannot change course setup);
- a school admin sees everything in their school's courses;
- a Django superuser sees everything; anonymous users see nothing;
- an archived course (``Course.is_active=False``, a concluded course) stays readable by the same
  people, but is read-only: no new submissions or activity events in it (``ARCHIVED_NO_NEW_WORK``),
  and its setup and roster change only by its school's admins (``archived_read_only``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_noop

from .models import STAFF_ROLES, Course, Enrollment, Role, SchoolMembership

# Messages of refusals in an archived course: English as they stand (REST API and services, as
# the API's are); pages and the recommender translate them with _(access.ARCHIVED_...), which
# makemessages cannot read, so gettext_noop marks them here for extraction.
# Translators: the refusal of anything new (a submission, an activity event) in an archived course.
ARCHIVED_NO_NEW_WORK = gettext_noop("This course is archived: nothing new can be submitted or recorded in it.")
# Translators: the refusal of a change to an archived course's setup, roster or grades.
ARCHIVED_READ_ONLY = gettext_noop("This course is archived: only its school's admins can change it.")


def _authenticated(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(getattr(user, "is_active", False))


def admin_school_ids(user: Any) -> set[int]:
    if not _authenticated(user):
        return set()
    cached = getattr(user, "_eduai_admin_schools", None)
    if cached is None:
        cached = set(SchoolMembership.objects.filter(user=user, is_admin=True).values_list("school_id", flat=True))
        user._eduai_admin_schools = cached  # type: ignore[attr-defined]
    return cached


def is_school_admin(user: Any, school_id: int | None = None) -> bool:
    if getattr(user, "is_superuser", False) and _authenticated(user):
        return True
    schools = admin_school_ids(user)
    return bool(schools) if school_id is None else school_id in schools


def visible_courses(user: Any) -> QuerySet[Course]:
    """Courses the user may open at all (any role)."""
    if not _authenticated(user):
        return Course.objects.none()
    if getattr(user, "is_superuser", False):
        return Course.objects.all()
    return Course.objects.filter(
        Q(enrollments__user=user, enrollments__is_active=True) | Q(school_id__in=admin_school_ids(user))
    ).distinct()


def staff_course_ids(user: Any, *, teachers_only: bool = False) -> set[int]:
    """Ids of courses the user teaches (teacher, or TA unless ``teachers_only``) or administers."""
    if not _authenticated(user):
        return set()
    if getattr(user, "is_superuser", False):
        return set(Course.objects.values_list("id", flat=True))
    roles = [Role.TEACHER] if teachers_only else list(STAFF_ROLES)
    ids = set(Enrollment.objects.filter(user=user, role__in=roles, is_active=True).values_list("course_id", flat=True))
    schools = admin_school_ids(user)
    if schools:
        ids |= set(Course.objects.filter(school_id__in=schools).values_list("id", flat=True))
    return ids


def course_role(user: Any, course: Course) -> str | None:
    """'admin', 'teacher', 'ta', 'student' or None — the strongest role the user holds."""
    if not _authenticated(user):
        return None
    if getattr(user, "is_superuser", False) or course.school_id in admin_school_ids(user):
        return "admin"
    enrollment = Enrollment.objects.filter(user=user, course=course, is_active=True).only("role").first()
    return enrollment.role if enrollment else None


def can_view_course(user: Any, course: Course) -> bool:
    return course_role(user, course) is not None


def can_teach(user: Any, course: Course) -> bool:
    """Teachers, TAs and admins: may read all student work and review grades."""
    return course_role(user, course) in {"admin", Role.TEACHER, Role.TA}


def can_manage(user: Any, course: Course) -> bool:
    """Teachers and admins: may change the course's setup (assignments, skills, resources)."""
    return course_role(user, course) in {"admin", Role.TEACHER}


def archived_read_only(user: Any, course: Course) -> bool:
    """True when ``course`` is archived and ``user`` may not change it: everyone but its school's
    admins (and superusers), whatever their role. Setup, roster and grades are frozen for them."""
    return not course.is_active and not is_school_admin(user, course.school_id)
