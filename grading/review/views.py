"""Review pages: the queue, one submission with its evidence, agreement, and the student's view.

Pages are interfaces: check who asks (selectors raise 404 outside the asker's courses), validate
the form, call one service, render. Everything works as plain HTML forms; ``review.js`` only
adds keyboard shortcuts (a accept, o override, j/n next, k/p previous).

An archived course (docs/courses.md) stays open to its staff to read, with a notice; its grades,
releases and release policy change only by its school's admins (``access.archived_read_only``):
for its teachers and TAs the decision and policy forms are shown disabled, and a post is a 403.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from eduai.courses import access
from eduai.courses.models import Assignment, ReleasePolicy

from . import selectors, services
from .explain import feedback_text
from .forms import STATUS_LABELS, DecisionForm, QueueFilterForm

DECISION_LABELS = {
    "": gettext_lazy("Waiting"),
    "accepted": gettext_lazy("Accepted"),
    "overridden": gettext_lazy("Overridden"),
    "graded": gettext_lazy("Graded by a teacher"),
}
EVENT_LABELS = {
    "proposed": gettext_lazy("Proposed by model"),
    "accepted": gettext_lazy("Accepted"),
    "overridden": gettext_lazy("Overridden"),
    "released": gettext_lazy("Released"),
    "auto_released": gettext_lazy("Released automatically"),
}
BAND_LABELS = {"short": gettext_lazy("Short"), "medium": gettext_lazy("Medium"), "long": gettext_lazy("Long")}


def _user_id(request) -> int:
    """The signed-in user's id (views here require a login; anonymous never reaches a service)."""
    pk = request.user.pk
    if pk is None:
        raise PermissionDenied
    return int(pk)


def _filters(request: HttpRequest, course_id: int) -> tuple[QueueFilterForm, int | None, str, int]:
    form = QueueFilterForm(request.GET or None, assignments=selectors.course_assignments(course_id=course_id))
    assignment_id, status, page = form.cleaned() if request.GET else (None, "waiting", 1)
    return form, assignment_id, status, page


def _query(assignment_id: int | None, status: str) -> str:
    params = {"status": status}
    if assignment_id is not None:
        params["assignment"] = str(assignment_id)
    return urlencode(params)


@login_required
@require_GET
def queue(request: HttpRequest, course_id: int) -> HttpResponse:
    course = selectors.staff_course(user=request.user, course_id=course_id)
    form, assignment_id, status, page = _filters(request, course.pk)
    result = selectors.queue_page(course_id=course.pk, assignment_id=assignment_id, status=status, page=page)
    report = selectors.course_agreement(course_id=course.pk, detail=False)
    rows = [{"item": i, "decision_label": DECISION_LABELS.get(i.decision, i.decision)} for i in result.items]
    context = {
        "course": course,
        "read_only": access.archived_read_only(request.user, course),
        "form": form,
        "queue": result,
        "rows": rows,
        "status_label": STATUS_LABELS.get(status, status),
        "query": _query(assignment_id, status),
        "report": report,
        "warnings": [a for a in report.by_assignment if a.below_floor],
        "can_manage": selectors.can_manage(course),
    }
    return render(request, "review/queue.html", context)


def segments(text: str, sentences, *, highlight: bool = True) -> list[dict]:
    """The essay as pieces: plain text between sentences, and sentences with their effect.

    ``strength`` (0-1) scales the highlight by the largest effect in the essay, so the sentence
    that mattered most is the most visible one.
    """
    top = max((abs(s.delta or 0.0) for s in sentences), default=0.0) or 1.0
    out: list[dict] = []
    last = 0
    for s in sorted(sentences, key=lambda x: x.start):
        if s.start < last:
            continue
        if s.start > last:
            out.append({"text": text[last : s.start]})
        direction = s.direction if highlight else "neutral"
        out.append({"text": s.text, "direction": direction, "delta": s.delta,
                    "strength": round(min(1.0, abs(s.delta or 0.0) / top), 2)})  # fmt: skip
        last = s.end
    if last < len(text):
        out.append({"text": text[last:]})
    return out


def _item_context(request: HttpRequest, course_id: int, submission_id: int, form: DecisionForm | None = None) -> dict:
    sub = selectors.staff_submission(user=request.user, submission_id=submission_id)
    if sub.assignment.course_id != course_id:
        raise Http404(_("No such submission in this course."))
    _form, assignment_id, status, _page = _filters(request, course_id)
    item = selectors.review_item(user=request.user, submission_id=sub.pk)
    a = sub.assignment
    traits = list(a.traits.all())
    choices = [(f.key, feedback_text(f)) for f in item.feedback]
    if form is None:
        initial = {
            "action": "accept",
            "prediction": item.queue.prediction_id,
            "revision": item.revision,
            "score": item.queue.final_score if item.queue.final_score is not None else item.queue.proposed_score,
            "feedback": list(item.release_feedback) or [k for k, _label in choices],
            "release": True,
            "evidence": item.release_evidence,
            "comment": item.teacher_comment,
            "model_mistake": item.model_mistake,
        }
        for k, t in enumerate(item.traits):
            initial[f"trait_{k}"] = t.final if t.final is not None else t.proposed
        form = DecisionForm(initial=initial, assignment=a, traits=traits, feedback_choices=choices)
    previous_id, next_id = selectors.queue_neighbours(course_id=course_id, submission_id=sub.pk,
                                                      assignment_id=assignment_id, status=status)  # fmt: skip
    expl = item.explanation
    return {
        "course": a.course,
        "read_only": access.archived_read_only(request.user, a.course),
        "item": item,
        "q": item.queue,
        "form": form,
        "query": _query(assignment_id, status),
        "previous_id": previous_id,
        "next_id": next_id,
        "decision_label": DECISION_LABELS.get(item.queue.decision, item.queue.decision),
        "events": [{"e": e, "label": EVENT_LABELS.get(e.kind, e.kind)} for e in item.events],
        "up": expl.top("up") if expl else (),
        "down": expl.top("down") if expl else (),
        "segments": segments(item.text, expl.sentences if expl else ()),
        "decided": item.queue.decision != "",
    }


@login_required
@require_GET
def item(request: HttpRequest, course_id: int, submission_id: int) -> HttpResponse:
    return render(request, "review/item.html", _item_context(request, course_id, submission_id))


@login_required
@require_POST
def decide(request: HttpRequest, course_id: int, submission_id: int) -> HttpResponse:
    sub = selectors.staff_submission(user=request.user, submission_id=submission_id)
    if sub.assignment.course_id != course_id:
        raise Http404(_("No such submission in this course."))
    a = sub.assignment
    if access.archived_read_only(request.user, a.course):
        # A form opened before the course was archived: the page again, saying why (nothing stored).
        return render(request, "review/item.html", _item_context(request, course_id, sub.pk), status=403)
    feedback = selectors.decision_feedback(user=request.user, submission_id=sub.pk)
    choices = [(f.key, feedback_text(f)) for f in feedback]
    form = DecisionForm(request.POST, assignment=a, traits=list(a.traits.all()), feedback_choices=choices)

    def again(status: int) -> HttpResponse:
        return render(request, "review/item.html", _item_context(request, course_id, sub.pk, form=form), status=status)

    if not form.is_valid():
        return again(400)
    d = form.cleaned_data
    choice = services.ReleaseChoice(
        release=bool(d.get("release")),
        feedback_keys=frozenset(d.get("feedback") or ()),
        evidence=bool(d.get("evidence")),
    )
    try:
        if d["action"] == "accept":
            if not d.get("prediction"):
                raise ValidationError({"prediction": _("There is no proposal to accept.")})
            result = services.review_accept(
                submission_id=sub.pk, user_id=_user_id(request), prediction_id=d["prediction"],
                expected_revision=d["revision"], choice=choice, comment=d.get("comment") or "",
            )  # fmt: skip
            messages.success(request, _("Accepted %(score)s for %(name)s.") % {"score": result.score,
                                                                                "name": sub.author.label})  # fmt: skip
        elif d["action"] == "override":
            result = services.review_override(
                submission_id=sub.pk, user_id=_user_id(request), score=d["score"], trait_scores=form.trait_scores(),
                comment=d.get("comment") or "", model_mistake=bool(d.get("model_mistake")),
                prediction_id=d.get("prediction"), expected_revision=d["revision"], choice=choice,
            )  # fmt: skip
            messages.success(request, _("Saved %(score)s for %(name)s.") % {"score": result.score,
                                                                             "name": sub.author.label})  # fmt: skip
        else:
            result = services.grade_release(submission_id=sub.pk, user_id=_user_id(request), choice=choice)
            messages.success(request, _("Released %(score)s to %(name)s.") % {"score": result.score,
                                                                               "name": sub.author.label})  # fmt: skip
    except services.ReviewConflict:
        messages.error(
            request, _("Someone else decided this submission after you opened it. Here is its current state.")
        )
        fresh = _item_context(request, course_id, submission_id)
        return render(request, "review/item.html", fresh, status=409)
    except ValidationError as exc:
        for field, errors in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
            form.add_error(field if field in form.fields else None, errors)
        return again(400)
    _f, assignment_id, status, _p = _filters(request, course_id)
    _prev, next_id = selectors.queue_neighbours(course_id=course_id, submission_id=sub.pk,
                                                assignment_id=assignment_id, status="waiting")  # fmt: skip
    query = _query(assignment_id, status)
    if next_id is not None and next_id != sub.pk:
        return HttpResponseRedirect(f"{reverse('review:item', args=[course_id, next_id])}?{query}")
    messages.info(request, _("Nothing else is waiting for review."))
    return HttpResponseRedirect(f"{reverse('review:queue', args=[course_id])}?{query}")


@login_required
@require_GET
def agreement(request: HttpRequest, course_id: int) -> HttpResponse:
    course = selectors.staff_course(user=request.user, course_id=course_id)
    report = selectors.course_agreement(course_id=course.pk, detail=True)
    policies = list(Assignment.objects.filter(course_id=course.pk).order_by("id"))
    read_only = access.archived_read_only(request.user, course)
    context = {
        "course": course,
        "read_only": read_only,
        "report": report,
        "by_length": [{"g": g, "label": BAND_LABELS.get(g.group, g.group)} for g in report.by_length],
        "policies": policies,
        "can_manage": selectors.can_manage(course) and not read_only,
        "policy_choices": [
            (ReleasePolicy.REVIEW_ALL, _("Review all")),
            (ReleasePolicy.AUTO_RELEASE_CONFIDENT, _("Auto-release confident scores")),
        ],
    }
    return render(request, "review/agreement.html", context)


@login_required
@require_POST
def policy(request: HttpRequest, course_id: int, assignment_id: int) -> HttpResponse:
    """Change an assignment's release policy (teachers and school admins, not TAs)."""
    from eduai.courses import services as course_services

    course = selectors.staff_course(user=request.user, course_id=course_id)
    a = Assignment.objects.filter(pk=assignment_id, course_id=course.pk).first()
    if a is None:
        raise Http404(_("No such assignment in this course."))
    if not selectors.can_manage(course):
        return HttpResponse(_("Only the course's teachers and school admins can change the release policy."),
                            status=403)  # fmt: skip
    if access.archived_read_only(request.user, course):
        archived = _("This course is archived.")
        why = _("It stays open to read; only the school's admins can change it.")
        return HttpResponse(f"{archived} {why}", status=403)
    from .forms import PolicyForm

    form = PolicyForm(request.POST, assignment=a)
    target = reverse("review:agreement", args=[course.pk])
    if not form.is_valid():
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, f"{a.title}: {e}")
        return HttpResponseRedirect(target)
    course_services.assignment_update(assignment_id=a.pk, data=form.cleaned_data)
    messages.success(request, _("Release policy of %(title)s saved.") % {"title": a.title})
    return HttpResponseRedirect(target)


@login_required
@require_GET
def my_grades(request: HttpRequest) -> HttpResponse:
    rows = selectors.my_released_grades(user=request.user)
    return render(request, "review/my_grades.html", {"rows": rows})


@login_required
@require_GET
def my_submission(request: HttpRequest, submission_id: int) -> HttpResponse:
    grade = selectors.released_grade(user=request.user, submission_id=submission_id)
    context = {
        "g": grade,
        "feedback": [feedback_text(f) for f in grade.feedback],
        "segments": segments(grade.text, grade.evidence),
    }
    return render(request, "review/my_submission.html", context)
