"""Public face of the recommender: pages, the REST API, the demo and other tools call these.

Every function that takes a ``user`` checks what that user may see (eduai.courses.access):
a student only their own recommendations and questions; a course's teachers, TAs and school
admins the course's question list and its pins/hides. Refused access raises
``PermissionDenied``; bad input raises ``ValidationError``. Functions without a ``user``
check nothing: their callers check access first (or are not reachable from a request).

An archived course (docs/courses.md) stays readable; in it a student asks nothing new and sends
nothing to the teacher (nothing new is recorded), and replies and pins/hides change only by its
school's admins (``access.archived_read_only``). Those refusals are ``CourseArchived``, with the
rule's own message.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from eduai.courses import access
from eduai.courses.models import Course, Role

from . import selectors, services
from .data import AnswerData, PassageHit, Reason, Recommendation, RecommendationList
from .reasons import render as reason_text
from .selectors import RecommendedActivity

__all__ = [
    "AnswerData",
    "CourseArchived",
    "PassageHit",
    "Reason",
    "Recommendation",
    "RecommendationList",
    "RecommendedActivity",
    "ask_course",
    "askable_resource_ids",
    "course_for",
    "course_index",
    "course_questions",
    "course_recommendation_lists",
    "course_resources",
    "override_set",
    "question_resolve",
    "question_send_to_teacher",
    "reason_text",
    "recommendations_for",
    "recommended_activity_counts",
    "refresh_course",
    "student_answer",
    "student_questions",
    "student_recommendations_for_staff",
]


class CourseArchived(PermissionDenied):
    """Refused because the course is archived; pages show its message next to the disabled form."""


def _require_open(course: Course) -> None:
    """Nothing new is asked or sent in an archived course, by anyone (as no submission or event)."""
    if not course.is_active:
        raise CourseArchived(_(access.ARCHIVED_NO_NEW_WORK))


def _require_changeable(user: Any, course: Course) -> None:
    """In an archived course, replies and pins/hides change only by its school's admins."""
    if access.archived_read_only(user, course):
        raise CourseArchived(_(access.ARCHIVED_READ_ONLY))


def _course(course_id: int, user: Any) -> Course:
    """The course if the user may see it at all; 404 otherwise (never confirm it exists)."""
    return get_object_or_404(access.visible_courses(user), pk=course_id)


def _require_student(user: Any, course: Course) -> None:
    if access.course_role(user, course) != Role.STUDENT:
        raise PermissionDenied(_("Only a student of this course has recommendations and questions here."))


def _require_staff(user: Any, course: Course, *, manage: bool = False) -> None:
    ok = access.can_manage(user, course) if manage else access.can_teach(user, course)
    if not ok:
        raise PermissionDenied(_("Only this course's teachers may do this."))


def course_for(*, user: Any, course_id: int) -> tuple[Course, str]:
    """(course, the user's role in it: 'student', 'teacher', 'ta' or 'admin'); 404 if not visible."""
    course = _course(course_id, user)
    role = access.course_role(user, course)
    if role is None:  # visible only through a school we no longer administer: treat as unseen
        raise PermissionDenied(_("You are not a member of this course."))
    return course, role


def course_resources(*, user: Any, course_id: int) -> list[dict[str, Any]]:
    """The course's resources with their pin/hide state and index status (staff)."""
    course = _course(course_id, user)
    _require_staff(user, course)
    return selectors.resources_with_overrides(course_id=course.pk)


def recommendations_for(*, user: Any, course_id: int, limit: int = 10) -> RecommendationList:
    """The signed-in student's recommendations in a course: from the cache (milliseconds);
    computed once on the spot when the student has none yet (first visit)."""
    course = _course(course_id, user)
    _require_student(user, course)
    limit = max(1, min(int(limit), services.RECOMMENDATIONS_KEPT))
    cached = selectors.cached_recommendations(student_id=user.pk, course_id=course.pk, limit=limit)
    if cached is None:
        services.recommendations_refresh(course_id=course.pk, student_ids=[user.pk])
        cached = selectors.cached_recommendations(student_id=user.pk, course_id=course.pk, limit=limit)
    assert cached is not None
    return cached


def student_recommendations_for_staff(
    *, user: Any, course_id: int, student_id: int, limit: int = 10
) -> RecommendationList | None:
    """A student's cached list as their teacher sees it (None if never computed): never
    computes one (a teacher's visit must not change what the student is shown)."""
    course = _course(course_id, user)
    _require_staff(user, course)
    if not selectors.is_active_student(student_id=student_id, course_id=course.pk):
        raise Http404(_("No such student in this course."))
    return selectors.cached_recommendations(student_id=student_id, course_id=course.pk, limit=limit)


def course_recommendation_lists(*, user: Any, course_id: int) -> dict[int, tuple[Recommendation, ...]]:
    """Every computed list of the course as cached, by student id (staff dashboards: what is
    being recommended). One query; hides and deletions are NOT re-checked here."""
    course = _course(course_id, user)
    _require_staff(user, course)
    return selectors.course_lists(course_id=course.pk)


def recommended_activity_counts(*, course_id: int) -> list[RecommendedActivity]:
    """Per activity in the course's computed lists: how many students' lists hold it, and how
    many in their top three (staff dashboards). No user check: callers have checked that the
    user may teach the course. One query; hides and deletions are NOT re-checked here."""
    return selectors.recommended_activity_counts(course_id=course_id)


def ask_course(*, user: Any, course_id: int, text: object) -> AnswerData:
    """A student's question, answered from the course's resources (stored and logged)."""
    course = _course(course_id, user)
    _require_student(user, course)
    _require_open(course)
    return services.question_ask(course_id=course.pk, student_id=user.pk, text=text)


def question_send_to_teacher(*, user: Any, course_id: int, question_id: int) -> Any:
    course = _course(course_id, user)
    _require_student(user, course)
    if not selectors.questions_of_student(student_id=user.pk, course_id=course.pk).filter(pk=question_id).exists():
        raise Http404(_("No such question of yours in this course."))
    _require_open(course)
    return services.question_send_to_teacher(question_id=question_id, student_id=user.pk)


def student_questions(*, user: Any, course_id: int) -> Any:
    course = _course(course_id, user)
    _require_student(user, course)
    return selectors.questions_of_student(student_id=user.pk, course_id=course.pk)


def askable_resource_ids(*, course_id: int) -> set[int]:
    """Resources an answer may quote to a student now (active, not hidden); for callers that
    have already checked the user's access to the course."""
    return selectors.askable_resource_ids(course_id=course_id)


def student_answer(*, user: Any, course_id: int, question_id: int) -> tuple[str, AnswerData] | None:
    """(question text, its stored answer) of the signed-in student's own question; None for
    anyone else's or a deleted one. The answer quotes only resources the student may still see."""
    question = student_questions(user=user, course_id=course_id).filter(pk=question_id).first()
    if question is None:
        return None
    return question.text, selectors.stored_answer(question=question)


def course_questions(*, user: Any, course_id: int, status: str | None = None) -> Any:
    course = _course(course_id, user)
    _require_staff(user, course)
    return selectors.questions_for_staff(course_id=course.pk, status=status)


def question_resolve(*, user: Any, course_id: int, question_id: int, reply: object = "") -> Any:
    course = _course(course_id, user)
    _require_staff(user, course)
    if not selectors.questions_for_staff(course_id=course.pk).filter(pk=question_id).exists():
        raise Http404(_("No such question in this course."))
    _require_changeable(user, course)
    return services.question_resolve(question_id=question_id, course_id=course.pk, user_id=user.pk, reply=reply)


def override_set(*, user: Any, course_id: int, resource_id: object, action: str, note: str = "") -> str:
    """Pin, hide or clear one of the course's resources (teachers and admins, not TAs)."""
    course = _course(course_id, user)
    _require_staff(user, course, manage=True)
    _require_changeable(user, course)
    return services.resource_override_set(
        course_id=course.pk, resource_id=resource_id, action=action, user_id=user.pk, note=note
    )


def course_index(*, course_id: int, force: bool = False) -> int:
    """Index (passages + embeddings) the course's new or changed resources. For the demo and
    tools; no user check (not reachable from a request)."""
    return services.course_index(course_id=course_id, force=force)


def refresh_course(*, course_id: int) -> int:
    """Index the course, rebuild its profile and refresh every student's list (demo, tools)."""
    services.course_index(course_id=course_id)
    refreshed, _again = services.recommendations_refresh(course_id=course_id, rebuild_profile=True)
    return refreshed
