"""Pages are interfaces: check who asks, call a selector, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from eduai.courses import access
from eduai.courses.models import Course, Enrollment


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    roles = dict(
        Enrollment.objects.filter(user=user, is_active=True).values_list("course_id", "role")  # type: ignore[misc]
    )
    courses = list(access.visible_courses(user).select_related("school").order_by("school__name", "code"))
    rows = [{"course": c, "role": "admin" if c.id not in roles else roles[c.id]} for c in courses]
    return render(request, "web/home.html", {"rows": rows, "is_school_admin": access.is_school_admin(user)})


@login_required
def course_detail(request: HttpRequest, course_id: int) -> HttpResponse:
    course = get_object_or_404(Course.objects.select_related("school"), pk=course_id)
    role = access.course_role(request.user, course)
    if role is None:
        raise PermissionDenied("You are not a member of this course.")
    staff = role in {"admin", "teacher", "ta"}
    assignments = course.assignments.order_by("due_at", "id")
    if not staff:
        assignments = assignments.filter(is_published=True)
    context = {
        "course": course,
        "role": role,
        "staff": staff,
        "assignments": list(assignments),
        "skills": list(course.skills.order_by("name")),
        "resources": list(course.resources.filter(is_active=True).order_by("title")[:50]),
        "student_count": course.enrollments.filter(role="student", is_active=True).count(),
    }
    if not staff:
        context["my_submissions"] = list(
            request.user.submissions.filter(assignment__course=course)  # type: ignore[union-attr]
            .select_related("assignment")
            .order_by("-submitted_at")
        )
    return render(request, "web/course_detail.html", context)
