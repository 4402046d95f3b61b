"""Reads behind the site pages, already scoped to what the asking user may see.

Every function takes the asking user and returns frozen rows (no querysets reach the
templates), in a fixed number of queries whatever the number of courses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q

import grading.review.api as review_api
from eduai.courses import access
from eduai.courses.models import (
    Assignment,
    Course,
    Enrollment,
    LearningResource,
    Role,
    Skill,
    Submission,
    SubmissionStatus,
)

from .labels import ROLE_LABELS, label

# A submission still needs a teacher while it is in one of these states.
AWAITING_GRADE = (
    SubmissionStatus.RECEIVED,
    SubmissionStatus.SCORING,
    SubmissionStatus.SCORED,
    SubmissionStatus.FAILED,
)
FEEDBACK_LIMIT = 5


@dataclass(frozen=True)
class CourseRow:
    id: int
    code: str
    title: str
    school: str
    role: str
    role_label: str
    students: int
    assignments: int
    teachers: tuple[str, ...]
    # Submissions waiting for a teacher's grade (staff rows only; 0 for students).
    awaiting: int = 0


@dataclass(frozen=True)
class FeedbackRow:
    submission_id: int
    course_id: int
    course_code: str
    assignment_title: str
    score: int
    min_score: int
    max_score: int
    graded_at: object
    comment: str = ""


@dataclass(frozen=True)
class HomeData:
    learning: tuple[CourseRow, ...]
    teaching: tuple[CourseRow, ...]
    school: tuple[CourseRow, ...]
    feedback: tuple[FeedbackRow, ...]
    pending_submissions: int
    # Archived courses (any role): still open to read, listed apart from the current ones.
    archived: tuple[CourseRow, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.learning or self.teaching or self.school or self.archived)

    @property
    def studies(self) -> bool:
        """A student of some course, current or archived: their grades are shown."""
        return bool(self.learning) or any(r.role == Role.STUDENT for r in self.archived)


def home_data(*, user: Any) -> HomeData:
    """What the home page shows: the user's courses by role (archived ones apart), and a
    student's latest grades."""
    enrollments = list(
        Enrollment.objects.filter(user=user, is_active=True).values_list("course_id", "role", "course__is_active")
    )
    roles = {cid: role for cid, role, current in enrollments if current}
    archived_roles = {cid: role for cid, role, current in enrollments if not current}
    administered = Course.objects.all()
    if not getattr(user, "is_superuser", False):
        administered = administered.filter(school_id__in=access.admin_school_ids(user))
    admin_courses = list(administered.values_list("id", "is_active"))
    admin_ids = {cid for cid, current in admin_courses if current}
    for cid, current in admin_courses:
        if not current and archived_roles.get(cid, Role.STUDENT) == Role.STUDENT:
            archived_roles[cid] = "admin"  # as for current courses: a school admin who also teaches it is a teacher
    ids = set(roles) | admin_ids
    courses = {
        c.id: c
        for c in Course.objects.filter(id__in=ids | set(archived_roles))
        .select_related("school")
        .annotate(
            n_students=Count(
                "enrollments",
                filter=Q(enrollments__role=Role.STUDENT, enrollments__is_active=True),
                distinct=True,
            ),
            n_assignments=Count("assignments", distinct=True),
        )
    }
    teachers: dict[int, list[str]] = {}
    for e in (
        Enrollment.objects.filter(course_id__in=ids, role=Role.TEACHER, is_active=True)
        .select_related("user")
        .order_by("user__last_name", "user__username")
    ):
        teachers.setdefault(e.course_id, []).append(e.user.label)
    staff_ids = {cid for cid, role in roles.items() if role != Role.STUDENT} | admin_ids
    awaiting = dict(
        Submission.objects.filter(assignment__course_id__in=staff_ids, status__in=AWAITING_GRADE)
        .values("assignment__course_id")
        .annotate(n=Count("id"))
        .values_list("assignment__course_id", "n")
    )

    def row(course_id: int, role: str) -> CourseRow:
        c = courses[course_id]
        return CourseRow(
            id=c.id,
            code=c.code,
            title=c.title,
            school=c.school.name,
            role=role,
            role_label=label(ROLE_LABELS, role),
            students=c.n_students,  # type: ignore[attr-defined]
            assignments=c.n_assignments,  # type: ignore[attr-defined]
            teachers=tuple(teachers.get(c.id, ())),
            awaiting=awaiting.get(c.id, 0) if role != Role.STUDENT else 0,
        )

    def order(rows: list[CourseRow]) -> tuple[CourseRow, ...]:
        return tuple(sorted(rows, key=lambda r: (r.school, r.code)))

    learning = order([row(cid, role) for cid, role in roles.items() if role == Role.STUDENT and cid in courses])
    teaching = order([row(cid, role) for cid, role in roles.items() if role != Role.STUDENT and cid in courses])
    # A school admin who also teaches sees those courses under "teaching" only.
    school = order([row(cid, "admin") for cid in admin_ids if cid not in roles or roles[cid] == Role.STUDENT])
    archived = order([row(cid, role) for cid, role in archived_roles.items() if cid in courses])

    feedback: tuple[FeedbackRow, ...] = ()
    pending = 0
    if learning or any(r.role == Role.STUDENT for r in archived):
        # What the review loop released to this student (score, teacher's comment); the review
        # app decides what a student may see of their own work.
        mine = review_api.my_released_grades(user=user)
        released = sorted(
            (g for g in mine if g.released and g.score is not None),
            key=lambda g: (g.released_at is not None, g.released_at, g.submission_id),
            reverse=True,
        )
        feedback = tuple(
            FeedbackRow(
                submission_id=g.submission_id,
                course_id=g.course_id,
                course_code=g.course_code,
                assignment_title=g.assignment_title,
                score=g.score,  # type: ignore[arg-type]
                min_score=g.min_score,  # type: ignore[arg-type]
                max_score=g.max_score,  # type: ignore[arg-type]
                graded_at=g.released_at,
                comment=g.comment,
            )
            for g in released[:FEEDBACK_LIMIT]
        )
        pending = sum(1 for g in mine if not g.released)
    return HomeData(
        learning=learning,
        teaching=teaching,
        school=school,
        feedback=feedback,
        pending_submissions=pending,
        archived=archived,
    )


@dataclass(frozen=True)
class AssignmentRow:
    id: int
    title: str
    kind: str
    min_score: int
    max_score: int
    due_at: object
    is_published: bool
    # Staff view: counts over the class. Student view: 1/0 for their own work.
    submitted: int
    graded: int
    awaiting: int


def course_assignments(*, user: Any, course: Course, staff: bool) -> tuple[AssignmentRow, ...]:
    """Assignments with submission counts: the whole class for staff, own work for students."""
    qs = Assignment.objects.filter(course=course)
    mine = Q(submissions__author=user)
    graded = Q(submissions__status=SubmissionStatus.RELEASED)
    awaiting = Q(submissions__status__in=AWAITING_GRADE)
    if not staff:
        qs = qs.filter(is_published=True)
        graded &= mine
        awaiting &= mine
    qs = qs.annotate(
        # Students who handed something in (several attempts count once).
        n_submitted=Count("submissions__author", filter=None if staff else mine, distinct=True),
        n_graded=Count("submissions", filter=graded, distinct=True),
        n_awaiting=Count("submissions", filter=awaiting, distinct=True),
    ).order_by("due_at", "id")
    return tuple(
        AssignmentRow(
            id=a.pk,
            title=a.title,
            kind=a.kind,
            min_score=a.min_score,
            max_score=a.max_score,
            due_at=a.due_at,
            is_published=a.is_published,
            submitted=a.n_submitted,  # type: ignore[attr-defined]
            graded=a.n_graded,  # type: ignore[attr-defined]
            awaiting=a.n_awaiting,  # type: ignore[attr-defined]
        )
        for a in qs
    )


def course_skills(*, course: Course) -> list[Skill]:
    """The course's skills, foundations first: each skill after its prerequisites (then by name)."""
    skills = {s.pk: s for s in course.skills.prefetch_related("prerequisites").order_by("name")}
    needs = {pk: {p.pk for p in s.prerequisites.all() if p.pk in skills} for pk, s in skills.items()}
    ordered: list[Skill] = []
    placed: set[int] = set()
    while len(ordered) < len(skills):
        ready = [pk for pk in skills if pk not in placed and needs[pk] <= placed]
        if not ready:  # a cycle (the services refuse them, but old data may have one): keep the rest by name
            ready = [pk for pk in skills if pk not in placed]
        for pk in ready:
            ordered.append(skills[pk])
            placed.add(pk)
    return ordered


def course_resources(*, course: Course, staff: bool, limit: int = 100) -> list[LearningResource]:
    qs = course.resources.prefetch_related("skills").order_by("title")
    if not staff:
        qs = qs.filter(is_active=True)
    return list(qs[:limit])


def my_submissions(*, user: Any, course: Course) -> list[Submission]:
    return list(
        Submission.objects.filter(author=user, assignment__course=course)
        .select_related("assignment")
        .order_by("-submitted_at", "-id")
    )
