"""Reads of the LMS core, already scoped to what the asking user may see."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from . import access
from .data import AssignmentData, RubricTraitData
from .models import ActivityEvent, Assignment, Enrollment, LearningResource, PracticeItem, Skill, Submission


def submissions_visible(*, user: object) -> QuerySet[Submission]:
    """Own submissions, plus every submission of the courses the user teaches or administers."""
    if not getattr(user, "is_authenticated", False):
        return Submission.objects.none()
    staff = access.staff_course_ids(user)
    return Submission.objects.filter(Q(author=user) | Q(assignment__course_id__in=staff))


def events_visible(*, user: object) -> QuerySet[ActivityEvent]:
    if not getattr(user, "is_authenticated", False):
        return ActivityEvent.objects.none()
    staff = access.staff_course_ids(user)
    return ActivityEvent.objects.filter(Q(actor=user) | Q(course_id__in=staff))


def enrollments_visible(*, user: object) -> QuerySet[Enrollment]:
    """Own enrolments, plus the rosters of courses the user teaches or administers."""
    if not getattr(user, "is_authenticated", False):
        return Enrollment.objects.none()
    staff = access.staff_course_ids(user)
    return Enrollment.objects.filter(Q(user=user) | Q(course_id__in=staff))


def _course_content(model: type, user: object) -> QuerySet:
    return model.objects.filter(course__in=access.visible_courses(user))  # type: ignore[attr-defined]


def skills_visible(*, user: object) -> QuerySet[Skill]:
    return _course_content(Skill, user)


# What a course's students see of its content (its staff see all of it): published assignments
# only, resources that are not hidden. Other content has no such flag.
_SHOWN_TO_STUDENTS: dict[type, Q] = {Assignment: Q(is_published=True), LearningResource: Q(is_active=True)}


def shown_to(model: type, *, staff_course_ids: set[int]) -> Q:
    """Filter of the ``model`` rows a user sees within their courses, given the ids of the
    courses they teach or administer: for the ``*_visible`` selectors and for checks that
    already hold those ids (the REST API's event batch), so the rule is written once."""
    shown = _SHOWN_TO_STUDENTS.get(model)
    return Q() if shown is None else shown | Q(course_id__in=staff_course_ids)


def assignments_visible(*, user: object) -> QuerySet[Assignment]:
    qs = _course_content(Assignment, user)
    return qs.filter(shown_to(Assignment, staff_course_ids=access.staff_course_ids(user)))


def practice_items_visible(*, user: object) -> QuerySet[PracticeItem]:
    return _course_content(PracticeItem, user)


def resources_visible(*, user: object) -> QuerySet[LearningResource]:
    qs = _course_content(LearningResource, user)
    return qs.filter(shown_to(LearningResource, staff_course_ids=access.staff_course_ids(user)))


def assignment_data(*, assignment_id: int) -> AssignmentData:
    a = Assignment.objects.select_related("course").prefetch_related("traits", "skills").get(pk=assignment_id)
    return AssignmentData(
        id=a.pk,
        course_id=a.course_id,
        title=a.title,
        kind=a.kind,
        prompt=a.prompt,
        min_score=a.min_score,
        max_score=a.max_score,
        language=a.text_language,
        release_policy=a.release_policy,
        auto_release_max_interval=a.auto_release_max_interval,
        auto_release_min_qwk=a.auto_release_min_qwk,
        traits=tuple(RubricTraitData(t.pk, t.name, t.min_score, t.max_score) for t in a.traits.all()),
        skill_ids=tuple(s.pk for s in a.skills.all()),
    )
