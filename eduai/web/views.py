"""Site pages shared by every role. Pages are interfaces: check who asks, call a selector, render.

Access rules come from ``eduai.courses.access``: a course page needs a role in the course (or
school admin); a resource page additionally hides inactive resources from students.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from eduai.courses import access
from eduai.courses.models import Course, LearningResource

from . import selectors
from .labels import ASSIGNMENT_KIND_LABELS, RESOURCE_KIND_LABELS, ROLE_LABELS, SUBMISSION_STATUS_LABELS, label

STAFF_ROLES = {"admin", "teacher", "ta"}


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    data = selectors.home_data(user=request.user)
    return render(request, "web/home.html", {"data": data})


def _course_for(request: HttpRequest, course_id: int) -> tuple[Course, str]:
    course = get_object_or_404(Course.objects.select_related("school"), pk=course_id)
    role = access.course_role(request.user, course)
    if role is None:
        raise PermissionDenied(_("You are not a member of this course."))
    return course, role


@login_required
def course_detail(request: HttpRequest, course_id: int) -> HttpResponse:
    course, role = _course_for(request, course_id)
    staff = role in STAFF_ROLES
    assignments = [
        {"row": a, "kind_label": label(ASSIGNMENT_KIND_LABELS, a.kind)}
        for a in selectors.course_assignments(user=request.user, course=course, staff=staff)
    ]
    resources = [
        {"resource": r, "kind_label": label(RESOURCE_KIND_LABELS, r.kind)}
        for r in selectors.course_resources(course=course, staff=staff)
    ]
    context = {
        "course": course,
        "role": role,
        "role_label": label(ROLE_LABELS, role),
        "staff": staff,
        "assignments": assignments,
        "skills": selectors.course_skills(course=course),
        "resources": resources,
        "student_count": course.enrollments.filter(role="student", is_active=True).count(),
    }
    if not staff:
        context["my_submissions"] = [
            {"submission": s, "status_label": label(SUBMISSION_STATUS_LABELS, s.status)}
            for s in selectors.my_submissions(user=request.user, course=course)
        ]
    return render(request, "web/course_detail.html", context)


@login_required
def resource_detail(request: HttpRequest, course_id: int, resource_id: int) -> HttpResponse:
    course, role = _course_for(request, course_id)
    resource = get_object_or_404(
        LearningResource.objects.prefetch_related("skills"), pk=resource_id, course_id=course.pk
    )
    if not resource.is_active and role not in STAFF_ROLES:
        raise Http404(_("This resource is not available."))
    context = {
        "course": course,
        "resource": resource,
        "kind_label": label(RESOURCE_KIND_LABELS, resource.kind),
        "paragraphs": [p.strip() for p in resource.body.split("\n\n") if p.strip()],
        # Only web links become links: a stored "javascript:" URL must never be clickable.
        "link": resource.url if resource.url.lower().startswith(("https://", "http://")) else "",
    }
    return render(request, "web/resource_detail.html", context)


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; a signed-in user's choice is also kept on their account.

    Django's ``set_language`` does the checking (known language, safe ``next`` URL) and sets
    the cookie; keeping the choice on ``User.language`` makes it follow the user to other
    browsers (``UserLanguageMiddleware`` applies it).
    """
    response = set_language(request)
    code = request.POST.get("language", "")
    known = {c for c, _name in settings.LANGUAGES}
    user = request.user
    if user.is_authenticated and code in known and check_for_language(code) and user.language != code:  # type: ignore[union-attr]
        user.language = code  # type: ignore[union-attr]
        user.save(update_fields=["language"])  # type: ignore[union-attr]
    return response
