"""Pages of the recommender: a student's "what next" with reasons and the ask box; a teacher's
question list and pin/hide controls. Views check who asks through ``api`` and render.

In an archived course (docs/courses.md) the pages stay readable and show what is frozen, with
the forms disabled: the ask box and "send to my teacher" for everyone, replies and pins/hides for
all but the school's admins. A post from a page opened before the archiving is refused with the
rule's message (``api.CourseArchived``) and stores nothing; a typed question is kept in the box.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from eduai.converters import IdConverter
from eduai.courses import access
from eduai.courses.models import Enrollment, Role

from . import api
from .models import QuestionStatus


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(str(m) for msgs in exc.message_dict.values() for m in msgs)
    return " ".join(exc.messages)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The student's courses (one course: straight to it); staff see the courses they teach."""
    user_id = int(request.user.pk or 0)  # login_required: never anonymous here
    student_courses = list(
        Enrollment.objects.filter(user_id=user_id, role=Role.STUDENT, is_active=True, course__is_active=True)
        .select_related("course")
        .order_by("course__code")
    )
    staff_ids = access.staff_course_ids(request.user)
    if len(student_courses) == 1 and not staff_ids:
        return redirect("recommender:course", course_id=student_courses[0].course_id)
    staff_courses = list(access.visible_courses(request.user).filter(id__in=staff_ids).order_by("code"))
    return render(
        request,
        "recommender/home.html",
        {"student_courses": [e.course for e in student_courses], "staff_courses": staff_courses},
    )


def _student_context(request: HttpRequest, course: Any) -> dict[str, Any]:
    recs = api.recommendations_for(user=request.user, course_id=course.pk, limit=10)
    items = [{"rec": r, "reasons": [api.reason_text(x) for x in r.reasons if api.reason_text(x)]} for r in recs.items]
    return {
        "recs": recs,
        "items": items,
        "my_questions": list(api.student_questions(user=request.user, course_id=course.pk)[:20]),
    }


@login_required
def course(request: HttpRequest, course_id: int) -> HttpResponse:
    course_obj, role = api.course_for(user=request.user, course_id=course_id)
    context: dict[str, Any] = {
        "course": course_obj,
        "role": role,
        "staff": role != Role.STUDENT,
        "read_only": access.archived_read_only(request.user, course_obj),
    }
    if role == Role.STUDENT:
        context.update(_student_context(request, course_obj))
        asked_id = _asked_question_id(request)
        if asked_id is not None:
            asked = api.student_answer(user=request.user, course_id=course_id, question_id=asked_id)
            if asked is not None:
                context.update({"question": asked[0], "answer": asked[1]})
        return render(request, "recommender/student.html", context)
    wanted = request.GET.get("status") or QuestionStatus.SENT
    if wanted not in QuestionStatus.values:
        wanted = QuestionStatus.SENT
    context.update(
        {
            "questions": list(api.course_questions(user=request.user, course_id=course_id, status=wanted)[:200]),
            "status": wanted,
            "statuses": QuestionStatus.choices,
            "resources": api.course_resources(user=request.user, course_id=course_id),
            "can_manage": access.can_manage(request.user, course_obj) and not context["read_only"],
        }
    )
    return render(request, "recommender/teacher.html", context)


@login_required
@require_POST
def ask(request: HttpRequest, course_id: int) -> HttpResponse:
    course_obj, role = api.course_for(user=request.user, course_id=course_id)
    context: dict[str, Any] = {"course": course_obj, "role": role, "staff": False}
    question = request.POST.get("question", "")
    try:
        answer = api.ask_course(user=request.user, course_id=course_id, text=question)
    except (ValidationError, api.CourseArchived) as exc:
        context.update(_student_context(request, course_obj))
        error = _errors(exc) if isinstance(exc, ValidationError) else str(exc)
        context.update({"ask_error": error, "question": question[:2000]})
        status = 400 if isinstance(exc, ValidationError) else 403
        return render(request, "recommender/student.html", context, status=status)
    # Post/redirect/get: the answer is shown at a GET address, so reloading it (or going back to
    # it) shows the same stored answer instead of asking, storing and logging the question again.
    url = reverse("recommender:course", args=[course_obj.pk])
    if answer.question_id is not None:
        url += "?" + urlencode({ASKED_PARAM: answer.question_id})
    return HttpResponseRedirect(url + "#ask", status=303)


# Query parameter of the "what next" page naming the student's question whose answer it shows.
ASKED_PARAM = "asked"


def _asked_question_id(request: HttpRequest) -> int | None:
    """The question id in ``?asked=``, None for nonsense in the address (the page is then shown
    without an answer, as it is for someone else's or a deleted question)."""
    raw = request.GET.get(ASKED_PARAM, "")
    try:
        return IdConverter().to_python(raw) if raw.isdigit() else None
    except ValueError:
        return None


@login_required
@require_POST
def send_question(request: HttpRequest, course_id: int, question_id: int) -> HttpResponse:
    try:
        api.question_send_to_teacher(user=request.user, course_id=course_id, question_id=question_id)
    except api.CourseArchived as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Your question was sent to your teacher."))
    return HttpResponseRedirect(reverse("recommender:course", args=[course_id]))


@login_required
@require_POST
def resolve_question(request: HttpRequest, course_id: int, question_id: int) -> HttpResponse:
    try:
        api.question_resolve(
            user=request.user, course_id=course_id, question_id=question_id, reply=request.POST.get("reply", "")
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    except api.CourseArchived as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Question marked as resolved."))
    return HttpResponseRedirect(reverse("recommender:course", args=[course_id]))


@login_required
@require_POST
def override(request: HttpRequest, course_id: int, resource_id: int) -> HttpResponse:
    try:
        api.override_set(
            user=request.user,
            course_id=course_id,
            resource_id=resource_id,
            action=request.POST.get("action", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    except api.CourseArchived as exc:
        messages.error(request, str(exc))
    return HttpResponseRedirect(reverse("recommender:course", args=[course_id]) + "#resources")
