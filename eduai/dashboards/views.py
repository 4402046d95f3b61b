"""Dashboard pages and their CSV downloads. Views check who asks, build panels, render.

Who sees what (``eduai.courses.access``):
- a course dashboard: the course's teachers, TAs and its school's admins (403 for anyone else
  signed in; unknown course 404);
- a student page: those same staff, and the student themself (403 for other students);
- a school page: that school's admins (403 otherwise).
Anonymous visitors are sent to sign in. Every panel's CSV is checked exactly as its page.
"""

from __future__ import annotations

import gzip
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from eduai.courses import access
from eduai.courses.models import Course, Enrollment, Role, School

from . import panels, school, student
from .figures import Panel, csv_frame, figure_script

STAFF = {"admin", Role.TEACHER, Role.TA}
# plotly.js as shipped inside the plotly package: versioned URL, so it may be cached for a year.
PLOTLY_MAX_AGE = 365 * 24 * 3600


def _course(request: HttpRequest, course_id: int) -> tuple[Course, str | None]:
    course = get_object_or_404(Course.objects.select_related("school"), pk=course_id)
    return course, access.course_role(request.user, course)


def _staff_course(request: HttpRequest, course_id: int) -> Course:
    course, role = _course(request, course_id)
    if role not in STAFF:
        raise PermissionDenied(_("Only this course's teachers and school admins may open its dashboard."))
    return course


def _course_context(request: HttpRequest, course: Course) -> panels.CourseContext:
    sort = request.GET.get("heatmap", "cluster")
    if sort not in panels.HEATMAP_SORTS:
        sort = "cluster"
    from . import sources

    return panels.CourseContext(user=request.user, course=course, now=sources.now(), heatmap_sort=sort)


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Every dashboard the user may open: courses taught, own pages, schools administered, and
    archived courses apart (as on the home page): their dashboards stay open to read."""
    user: Any = request.user  # signed in (login_required)
    rows = list(
        Enrollment.objects.filter(user_id=user.pk, is_active=True).select_related("course").order_by("course__code")
    )
    current = [e for e in rows if e.course.is_active]
    schools = list(School.objects.filter(pk__in=access.admin_school_ids(user)).order_by("name"))
    if getattr(user, "is_superuser", False):
        schools = list(School.objects.order_by("name"))
    context = {
        "teaching": [e.course for e in current if e.role != Role.STUDENT],
        "learning": [e.course for e in current if e.role == Role.STUDENT],
        "archived": [{"course": e.course, "student": e.role == Role.STUDENT} for e in rows if not e.course.is_active],
        "schools": schools,
    }
    return render(request, "dashboards/index.html", context)


@login_required
@require_GET
def course(request: HttpRequest, course_id: int) -> HttpResponse:
    c = _staff_course(request, course_id)
    ctx = _course_context(request, c)
    fragment = lambda key: reverse("dashboards:course-panel", args=[c.pk, key])  # noqa: E731
    context = {
        "course": c,
        "panels": _items(ctx, panels.COURSE, panels.COURSE_DEFERRED, ctx.csv_url, fragment),
        # Built here, not in a template loop: 500 students are 1,000 template nodes (~0.1 s).
        "students_html": format_html_join(
            "",
            '<li><a href="{}">{}</a></li>',
            ((ctx.student_url(i), n) for i, n in zip(ctx.students["student_id"], ctx.students["name"], strict=True)),
        ),
        "student_url": ctx.student_url(),
    }
    return _render(request, "dashboards/course.html", context)


@login_required
@require_GET
def student_page(request: HttpRequest, course_id: int, student_id: int) -> HttpResponse:
    ctx = _student_context(request, course_id, student_id)
    context = {
        "course": ctx.course,
        "student_name": ctx.name,
        "is_self": not ctx.staff,
        "panels": _items(ctx, student.PANELS, {}, ctx.csv_url, None),
    }
    return _render(request, "dashboards/student.html", context)


@login_required
@require_GET
def my_page(request: HttpRequest, course_id: int) -> HttpResponse:
    """A student's own page (the link students get); staff land on the course dashboard."""
    c, role = _course(request, course_id)
    if role == Role.STUDENT:
        return HttpResponseRedirect(reverse("dashboards:student", args=[c.pk, request.user.pk]))
    if role in STAFF:
        return HttpResponseRedirect(reverse("dashboards:course", args=[c.pk]))
    raise PermissionDenied(_("You are not a member of this course."))


def _student_context(request: HttpRequest, course_id: int, student_id: int) -> student.StudentContext:
    c, role = _course(request, course_id)
    staff = role in STAFF
    if not staff and not (role == Role.STUDENT and request.user.pk == student_id):
        raise PermissionDenied(_("You may only see your own progress."))
    enrolment = (
        Enrollment.objects.filter(course=c, user_id=student_id, role=Role.STUDENT)
        .select_related("user")
        .only("user__username", "user__first_name", "user__last_name", "user__display_name")
        .first()
    )
    if enrolment is None:
        raise Http404(_("No such student in this course."))
    from . import sources

    return student.StudentContext(
        user=request.user, course=c, student_id=student_id, name=enrolment.user.label, staff=staff, now=sources.now()
    )


@login_required
@require_GET
def school_page(request: HttpRequest, school_id: int) -> HttpResponse:
    ctx = _school_context(request, school_id)

    def fragment(key: str) -> str:
        url = reverse("dashboards:school-panel", args=[ctx.school.pk, key])
        course = ctx.fairness_course_id if key.startswith("fairness") else None
        return url + (f"?course={course}" if course else "")

    context = {
        "school": ctx.school,
        "panels": _items(ctx, school.PANELS, school.DEFERRED, ctx.csv_url, fragment),
        "fairness_courses": ctx.fairness_choices(),
    }
    return _render(request, "dashboards/school.html", context)


def _school_context(request: HttpRequest, school_id: int) -> school.SchoolContext:
    s = get_object_or_404(School, pk=school_id)
    if not access.is_school_admin(request.user, s.pk):
        raise PermissionDenied(_("Only this school's admins may open its analytics."))
    from . import sources

    return school.SchoolContext(
        user=request.user, school=s, now=sources.now(), fairness_param=request.GET.get("course")
    )


# ------------------------------------------------------------------------------------ CSV
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _csv(panel: Panel, name: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    # A byte-order mark so that spreadsheet programs read Chinese names as UTF-8.
    response.write("\ufeff")
    csv_frame(panel).to_csv(response, index=False)
    response["Content-Disposition"] = f'attachment; filename="{_SAFE.sub("-", name)}.csv"'
    return response


def _panel_or_404(registry: dict[str, Any], key: str, ctx: Any) -> Panel:
    build = registry.get(key)
    if build is None:
        raise Http404(_("No such figure."))
    return build(ctx)


@login_required
@require_GET
def course_csv(request: HttpRequest, course_id: int, key: str) -> HttpResponse:
    c = _staff_course(request, course_id)
    panel = _panel_or_404(panels.COURSE, key, _course_context(request, c))
    return _csv(panel, f"{c.code}-{key}")


@login_required
@require_GET
def student_csv(request: HttpRequest, course_id: int, student_id: int, key: str) -> HttpResponse:
    ctx = _student_context(request, course_id, student_id)
    panel = _panel_or_404(student.PANELS, key, ctx)
    return _csv(panel, f"{ctx.course.code}-student-{student_id}-{key}")


@login_required
@require_GET
def school_csv(request: HttpRequest, school_id: int, key: str) -> HttpResponse:
    ctx = _school_context(request, school_id)
    panel = _panel_or_404(school.PANELS, key, ctx)
    return _csv(panel, f"{ctx.school.slug}-{key}")


def _items(ctx: Any, registry: dict[str, Any], deferred: dict[str, Any], csv_url: Any, fragment: Any) -> list[dict]:
    """The page's panels in order: built now, or (``deferred``) a placeholder the browser fills
    from the panel's own URL once the page is shown."""
    items = []
    for key, build in registry.items():
        if key in deferred:
            items.append({"key": key, "deferred": True, "title": deferred[key], "src": fragment(key),
                          "csv_url": csv_url(key)})  # fmt: skip
        else:
            items.append(_with_csv(build(ctx), csv_url(key)))
    return items


def _fragment(request: HttpRequest, panel: Panel, csv_url: str) -> HttpResponse:
    return render(request, "dashboards/_panel.html", {"item": _with_csv(panel, csv_url)})


@login_required
@require_GET
def course_panel(request: HttpRequest, course_id: int, key: str) -> HttpResponse:
    c = _staff_course(request, course_id)
    ctx = _course_context(request, c)
    return _fragment(request, _panel_or_404(panels.COURSE, key, ctx), ctx.csv_url(key))


@login_required
@require_GET
def school_panel(request: HttpRequest, school_id: int, key: str) -> HttpResponse:
    ctx = _school_context(request, school_id)
    return _fragment(request, _panel_or_404(school.PANELS, key, ctx), ctx.csv_url(key))


def _with_csv(panel: Panel, url: str) -> dict[str, Any]:
    figure_id = f"figure-data-{panel.key}"
    script = figure_script(panel.figure, figure_id) if panel.figure is not None else ""
    return {"key": panel.key, "panel": panel, "csv_url": url, "figure_id": figure_id, "figure_script": script}


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, {**context, "plotly_version": plotly_version()})


# ------------------------------------------------------------------------------- plotly.js
@lru_cache(maxsize=1)
def plotly_version() -> str:
    from plotly.offline import get_plotlyjs_version

    return str(get_plotlyjs_version())


@lru_cache(maxsize=1)
def _plotly_bytes() -> tuple[bytes, bytes]:
    """plotly.min.js from the plotly package (no CDN), and its gzip (about 1.4 MB of 4.6 MB)."""
    import plotly

    raw = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    return raw, gzip.compress(raw, compresslevel=6, mtime=0)


@require_GET
def plotly_js(request: HttpRequest, version: str) -> HttpResponse:
    if version != plotly_version():
        raise Http404(_("No such plotly.js version here."))
    raw, packed = _plotly_bytes()
    use_gzip = "gzip" in request.headers.get("Accept-Encoding", "")
    response = HttpResponse(packed if use_gzip else raw, content_type="text/javascript; charset=utf-8")
    if use_gzip:
        response["Content-Encoding"] = "gzip"
    response["Cache-Control"] = f"public, max-age={PLOTLY_MAX_AGE}, immutable"
    patch_vary_headers(response, ["Accept-Encoding"])
    return response
