"""Writes of the LMS core. Keyword-only arguments, each under ``transaction.atomic``.

Signals are sent from ``transaction.on_commit`` so that receivers never see a write that
might still roll back, and see each write exactly once.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from .access import ARCHIVED_NO_NEW_WORK
from .data import EventInput, RecordResult
from .models import (
    ActivityEvent,
    Assignment,
    AssignmentKind,
    Course,
    Enrollment,
    LearningResource,
    PracticeItem,
    ReleasePolicy,
    ResourceKind,
    Role,
    RubricTrait,
    School,
    SchoolMembership,
    Skill,
    Submission,
    SubmissionStatus,
)
from .signals import activity_recorded, submission_received
from .text import clean_text, detect_language

logger = logging.getLogger(__name__)


def school_create(*, name: str, slug: str) -> School:
    return School.objects.create(name=name, slug=slug)


def school_admin_add(*, school_id: int, user_id: int) -> SchoolMembership:
    membership, _ = SchoolMembership.objects.update_or_create(
        school_id=school_id, user_id=user_id, defaults={"is_admin": True}
    )
    return membership


@transaction.atomic
def enrollment_upsert(
    *, course_id: int, user_id: int, role: str = Role.STUDENT, language_background: str = ""
) -> Enrollment:
    """Create or update the single enrolment of a user in a course (idempotent)."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; expected one of {', '.join(Role.values)}."})
    enrollment, created = Enrollment.objects.select_for_update().get_or_create(
        course_id=course_id, user_id=user_id, defaults={"role": role, "language_background": language_background}
    )
    if not created and (enrollment.role != role or not enrollment.is_active):
        enrollment.role = role
        enrollment.is_active = True
        if language_background:
            enrollment.language_background = language_background
        enrollment.save(update_fields=["role", "is_active", "language_background"])
    # The course must belong to a school the user is a member of (for admin views).
    course = Course.objects.only("school_id").get(pk=course_id)
    SchoolMembership.objects.get_or_create(school_id=course.school_id, user_id=user_id)
    return enrollment


def _send_submission_received(submission: Submission, course_id: int) -> None:
    submission_received.send(
        sender=Submission,
        submission_id=submission.pk,
        assignment_id=submission.assignment_id,
        course_id=course_id,
        author_id=submission.author_id,
    )


def submission_create(
    *,
    assignment_id: int,
    author_id: int,
    text: object,
    submitted_at: datetime | None = None,
    source: str = "api",
) -> Submission:
    """Store a new attempt of ``author`` at ``assignment`` and announce it after commit.

    The attempt number is the next free one; two concurrent posts by the same student both
    succeed with different attempts (the unique constraint decides, we retry on conflict).
    Refused in an archived course, whoever calls (the REST API, an import, the demo builder).
    """
    clean = clean_text(text, field="text")
    assignment = Assignment.objects.select_related("course").get(pk=assignment_id)
    if not assignment.course.is_active:
        raise ValidationError({"assignment": ARCHIVED_NO_NEW_WORK})
    language = detect_language(clean) if not assignment.language else assignment.language
    for _ in range(5):
        try:
            with transaction.atomic():
                last = (
                    Submission.objects.filter(assignment_id=assignment_id, author_id=author_id).aggregate(
                        m=Max("attempt")
                    )["m"]
                    or 0
                )
                submission = Submission.objects.create(
                    assignment_id=assignment_id,
                    author_id=author_id,
                    text=clean,
                    attempt=last + 1,
                    language=language,
                    submitted_at=submitted_at or timezone.now(),
                    source=source,
                )
                course_id = assignment.course_id
                transaction.on_commit(functools.partial(_send_submission_received, submission, course_id))
                return submission
        except IntegrityError:
            continue
    raise ValidationError({"attempt": "Too many concurrent submissions; please try again."})


def submission_status_set(
    *, submission_id: int, status: str, expected: Iterable[str] | None = None, reason: str = ""
) -> bool:
    """Move a submission's status with a conditional UPDATE; True if this call moved it.

    ``expected`` makes it a claim: only a submission currently in one of those states moves,
    so two workers racing for the same submission cannot both win.
    """
    if status not in SubmissionStatus.values:
        raise ValueError(f"unknown status {status!r}")
    qs = Submission.objects.filter(pk=submission_id)
    if expected is not None:
        qs = qs.filter(status__in=list(expected))
    return qs.update(status=status, status_reason=reason[:500], updated_at=timezone.now()) == 1


def _send_activity_recorded(ids: list[int], course_ids: list[int], actor_ids: list[int]) -> None:
    activity_recorded.send(sender=ActivityEvent, event_ids=ids, course_ids=course_ids, actor_ids=actor_ids)


def activity_events_record(*, events: Sequence[EventInput]) -> RecordResult:
    """Store events, skipping any whose statement id its course already has (or that is repeated
    for that course in the batch). Statement ids are per course: another course's event under the
    same id (another school's, say) neither blocks the event nor is reported as its duplicate.

    Late events are stored with their own ``timestamp``; readers order by it. One
    ``activity_recorded`` signal is sent after commit with the ids of the new events.
    """
    with_ids = [(e.statement_id or uuid.uuid4(), e) for e in events]
    for _ in range(3):
        try:
            return _record_once(with_ids)
        except IntegrityError:
            # A concurrent writer stored one of these statement ids in the same course between
            # our read and our insert; the retry reads it as a duplicate.
            continue
    raise ValidationError({"statements": "Could not store the events because of concurrent writes; retry."})


def _record_once(with_ids: list[tuple[uuid.UUID, EventInput]]) -> RecordResult:
    with transaction.atomic():
        existing = set(
            ActivityEvent.objects.filter(
                statement_id__in={sid for sid, _ in with_ids}, course_id__in={e.course_id for _, e in with_ids}
            ).values_list("course_id", "statement_id")
        )
        seen: set[tuple[int, uuid.UUID]] = set()
        rows: list[ActivityEvent] = []
        duplicates: list[uuid.UUID] = []
        for sid, e in with_ids:
            key = (e.course_id, sid)
            if key in existing or key in seen:
                duplicates.append(sid)
                continue
            seen.add(key)
            rows.append(
                ActivityEvent(
                    statement_id=sid,
                    course_id=e.course_id,
                    actor_id=e.actor_id,
                    verb=e.verb,
                    object_type=e.object_type,
                    object_iri=e.object_iri,
                    practice_item_id=e.practice_item_id,
                    resource_id=e.resource_id,
                    assignment_id=e.assignment_id,
                    result_success=e.result_success,
                    result_completion=e.result_completion,
                    result_score_scaled=e.result_score_scaled,
                    result_score_raw=e.result_score_raw,
                    result_duration=e.result_duration,
                    result_response=e.result_response,
                    timestamp=e.timestamp,
                    raw=e.raw,
                )
            )
        created = ActivityEvent.objects.bulk_create(rows, batch_size=1000)
        ids = sorted(int(row.pk) for row in created)
        course_ids = sorted({row.course_id for row in created})
        actor_ids = sorted({row.actor_id for row in created})
        if ids:
            transaction.on_commit(lambda: _send_activity_recorded(ids, course_ids, actor_ids))
    return RecordResult(created_ids=ids, duplicate_statement_ids=duplicates)


@transaction.atomic
def activity_event_void(*, statement_id: uuid.UUID, course_id: int | None = None) -> bool:
    """Mark an event voided (xAPI voiding); readers of evidence skip voided events. True if this
    call voided it.

    Statement ids are unique per course, so the event is the one of ``course_id``. Without a
    course, only an id that a single event has is voided: an id several courses use (different
    schools may) voids nothing rather than another course's event.
    """
    events = ActivityEvent.objects.filter(statement_id=statement_id)
    if course_id is not None:
        events = events.filter(course_id=course_id)
    found = list(events.values_list("pk", "course_id", "actor_id")[:2])
    if len(found) != 1:
        if found:
            logger.warning("activity_event_void: statement id %s is used by several courses; say which", statement_id)
        return False
    pk, cid, aid = found[0]
    updated = ActivityEvent.objects.filter(pk=pk, voided=False).update(voided=True)
    if updated:
        ids, cids, aids = [pk], [cid], [aid]
        transaction.on_commit(lambda: _send_activity_recorded(ids, cids, aids))
    return bool(updated)


# --- Course setup (REST API v1, admin tools) ---------------------------------------------
# Callers have already checked who asks (access.can_manage); these functions check what is
# asked: ranges, same-course references, prerequisite cycles. Bad input raises
# ValidationError with a message per field, which the API turns into a 400.

_COURSE_FIELDS = frozenset({"code", "title", "description", "language", "is_active"})
_SKILL_FIELDS = frozenset({"name", "description"})
_ASSIGNMENT_FIELDS = frozenset(
    {
        "title",
        "kind",
        "prompt",
        "min_score",
        "max_score",
        "due_at",
        "language",
        "release_policy",
        "auto_release_max_interval",
        "auto_release_min_qwk",
        "is_published",
    }
)
_TRAIT_FIELDS = frozenset({"name", "description", "min_score", "max_score", "position"})
_PRACTICE_ITEM_FIELDS = frozenset({"title", "body", "answer", "difficulty", "external_id"})
_RESOURCE_FIELDS = frozenset({"title", "body", "url", "kind", "difficulty", "language", "is_active", "external_id"})
_ENROLLMENT_FIELDS = frozenset({"role", "language_background", "is_active"})


def _assign(instance: object, data: Mapping[str, object], allowed: frozenset[str]) -> list[str]:
    unknown = set(data) - allowed
    if unknown:
        # A programming error, not user input: the API only passes fields it declares.
        raise TypeError(f"cannot set {sorted(unknown)} on {type(instance).__name__}")
    for name, value in data.items():
        setattr(instance, name, value)
    return list(data)


# Bound of any score (rubric points are small integers: essay scales are 0-6 or 1-12, analytic
# traits 0-4): far inside a 32-bit database integer. Checked here for every caller (the LTI
# deep-linking form); the REST API's serializers and grading's evaluation file use it too.
MAX_SCORE_POINTS = 10_000


def _check_score_range(
    *, min_score: int, max_score: int, field: str = "max_score", changed: Iterable[str] = ("min_score", "max_score")
) -> None:
    """``changed``: the scores being set. Only they are bounded: rows saved before the bound
    existed may hold more, and a title change must not be refused for it."""
    scores = {"min_score": min_score, "max_score": max_score}
    if any(not -MAX_SCORE_POINTS <= scores[name] <= MAX_SCORE_POINTS for name in changed):
        raise ValidationError({field: f"Scores must lie between -{MAX_SCORE_POINTS:,} and {MAX_SCORE_POINTS:,}."})
    if max_score <= min_score:
        raise ValidationError({field: f"The highest score ({max_score}) must be above the lowest ({min_score})."})


def _course_skill_ids(*, course_id: int, skill_ids: Iterable[int], field: str = "skills") -> list[int]:
    wanted = list(dict.fromkeys(int(i) for i in skill_ids))
    found = set(Skill.objects.filter(course_id=course_id, pk__in=wanted).values_list("pk", flat=True))
    stray = [i for i in wanted if i not in found]
    if stray:
        raise ValidationError({field: f"Skills {', '.join(map(str, stray))} do not belong to this course."})
    return wanted


@transaction.atomic
def course_create(
    *, school_id: int, code: str, title: str, description: str = "", language: str = "en", is_active: bool = True
) -> Course:
    if Course.objects.filter(school_id=school_id, code=code).exists():
        raise ValidationError({"code": f"The school already has a course with code {code!r}."})
    return Course.objects.create(
        school_id=school_id, code=code, title=title, description=description, language=language, is_active=is_active
    )


@transaction.atomic
def course_update(*, course_id: int, data: Mapping[str, object]) -> Course:
    course = Course.objects.select_for_update().get(pk=course_id)
    clash = Course.objects.filter(school_id=course.school_id, code=data.get("code")).exclude(pk=course_id)
    if "code" in data and clash.exists():
        raise ValidationError({"code": f"The school already has a course with code {data['code']!r}."})
    course.save(update_fields=_assign(course, data, _COURSE_FIELDS) or None)
    return course


def _check_prerequisites(*, course_id: int, skill_id: int | None, prerequisite_ids: list[int]) -> None:
    """Prerequisites must be other skills of the course and must not close a cycle."""
    if skill_id is not None and skill_id in prerequisite_ids:
        raise ValidationError({"prerequisites": "A skill cannot be its own prerequisite."})
    if skill_id is None:
        return  # a new skill has no dependants yet, so it cannot close a cycle
    # One query for the course's whole graph; courses have tens to hundreds of skills.
    edges: dict[int, list[int]] = {}
    through = Skill.prerequisites.through
    for from_id, to_id in through.objects.filter(from_skill__course_id=course_id).values_list(
        "from_skill_id", "to_skill_id"
    ):
        edges.setdefault(from_id, []).append(to_id)
    edges[skill_id] = list(prerequisite_ids)
    # A cycle exists iff skill_id is reachable from one of its new prerequisites.
    stack, seen = list(prerequisite_ids), set()
    while stack:
        node = stack.pop()
        if node == skill_id:
            raise ValidationError({"prerequisites": "These prerequisites would make the skill depend on itself."})
        if node in seen:
            continue
        seen.add(node)
        stack.extend(edges.get(node, ()))


@transaction.atomic
def skill_create(*, course_id: int, name: str, description: str = "", prerequisite_ids: Iterable[int] = ()) -> Skill:
    prereqs = _course_skill_ids(course_id=course_id, skill_ids=prerequisite_ids, field="prerequisites")
    if Skill.objects.filter(course_id=course_id, name=name).exists():
        raise ValidationError({"name": f"The course already has a skill named {name!r}."})
    skill = Skill.objects.create(course_id=course_id, name=name, description=description)
    skill.prerequisites.set(prereqs)
    return skill


@transaction.atomic
def skill_update(*, skill_id: int, data: Mapping[str, object], prerequisite_ids: Iterable[int] | None = None) -> Skill:
    skill = Skill.objects.select_for_update().get(pk=skill_id)
    clash = Skill.objects.filter(course_id=skill.course_id, name=data.get("name")).exclude(pk=skill_id)
    if "name" in data and clash.exists():
        raise ValidationError({"name": f"The course already has a skill named {data['name']!r}."})
    if prerequisite_ids is not None:
        prereqs = _course_skill_ids(course_id=skill.course_id, skill_ids=prerequisite_ids, field="prerequisites")
        _check_prerequisites(course_id=skill.course_id, skill_id=skill_id, prerequisite_ids=prereqs)
        skill.prerequisites.set(prereqs)
    skill.save(update_fields=_assign(skill, data, _SKILL_FIELDS) or None)
    return skill


@transaction.atomic
def skill_delete(*, skill_id: int) -> None:
    Skill.objects.filter(pk=skill_id).delete()


def _check_traits(traits: Sequence[Mapping[str, object]], existing: Mapping[int, RubricTrait]) -> None:
    names = [str(t["name"]) if "name" in t else existing[int(t["id"])].name for t in traits]  # type: ignore[call-overload]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValidationError({"traits": f"Trait names must be unique; repeated: {', '.join(repeated)}."})
    for t in traits:
        old = existing.get(int(t["id"])) if t.get("id") is not None else None  # type: ignore[call-overload]
        low = t.get("min_score", old.min_score if old else 0)
        high = t.get("max_score", old.max_score if old else 4)
        changed = [name for name in ("min_score", "max_score") if old is None or name in t]
        _check_score_range(min_score=int(low), max_score=int(high), field="traits", changed=changed)  # type: ignore[call-overload]


def _traits_replace(*, assignment: Assignment, traits: Sequence[Mapping[str, object]]) -> None:
    """Make the rubric's traits exactly ``traits``: an item with an ``id`` updates that trait,
    an item without one adds a trait, and traits not listed are removed."""
    existing = {t.pk: t for t in assignment.traits.all()}
    listed = {int(t["id"]) for t in traits if t.get("id") is not None}  # type: ignore[call-overload]
    stray = sorted(listed - set(existing))
    if stray:
        raise ValidationError({"traits": f"Traits {', '.join(map(str, stray))} are not part of this rubric."})
    if any("name" not in t and t.get("id") is None for t in traits):
        raise ValidationError({"traits": "A new trait needs a name."})
    _check_traits(traits, existing)
    assignment.traits.exclude(pk__in=listed).delete()
    # Names are unique per assignment, so swapping two names in place would collide: park the
    # renamed traits under temporary names first (inside this transaction only).
    renamed = [
        existing[int(t["id"])]  # type: ignore[call-overload]
        for t in traits
        if t.get("id") is not None and "name" in t and t["name"] != existing[int(t["id"])].name  # type: ignore[call-overload]
    ]
    for trait in renamed:
        trait.name = f"~renaming~{trait.pk}"
        trait.save(update_fields=["name"])
    for position, item in enumerate(traits):
        fields = {k: v for k, v in item.items() if k in _TRAIT_FIELDS}
        fields.setdefault("position", position)
        if item.get("id") is not None:
            trait = existing[int(item["id"])]  # type: ignore[call-overload]
            _assign(trait, fields, _TRAIT_FIELDS)
            trait.save()
        else:
            RubricTrait.objects.create(assignment=assignment, **fields)


@transaction.atomic
def assignment_create(
    *,
    course_id: int,
    title: str,
    prompt: str,
    kind: str = AssignmentKind.ESSAY,
    min_score: int = 0,
    max_score: int = 6,
    due_at: datetime | None = None,
    language: str = "",
    release_policy: str = ReleasePolicy.REVIEW_ALL,
    auto_release_max_interval: float = 1.0,
    auto_release_min_qwk: float = 0.7,
    is_published: bool = True,
    skill_ids: Iterable[int] = (),
    traits: Sequence[Mapping[str, object]] = (),
) -> Assignment:
    _check_score_range(min_score=min_score, max_score=max_score)
    skills = _course_skill_ids(course_id=course_id, skill_ids=skill_ids)
    if any(t.get("id") is not None for t in traits):
        raise ValidationError({"traits": "A new assignment's traits cannot carry ids."})
    assignment = Assignment.objects.create(
        course_id=course_id,
        title=title,
        prompt=prompt,
        kind=kind,
        min_score=min_score,
        max_score=max_score,
        due_at=due_at,
        language=language,
        release_policy=release_policy,
        auto_release_max_interval=auto_release_max_interval,
        auto_release_min_qwk=auto_release_min_qwk,
        is_published=is_published,
    )
    assignment.skills.set(skills)
    _traits_replace(assignment=assignment, traits=traits)
    return assignment


@transaction.atomic
def assignment_update(
    *,
    assignment_id: int,
    data: Mapping[str, object],
    skill_ids: Iterable[int] | None = None,
    traits: Sequence[Mapping[str, object]] | None = None,
) -> Assignment:
    """Change an assignment; ``skill_ids``/``traits`` of None leave those untouched."""
    assignment = Assignment.objects.select_for_update().get(pk=assignment_id)
    _assign(assignment, data, _ASSIGNMENT_FIELDS)
    _check_score_range(
        min_score=assignment.min_score,
        max_score=assignment.max_score,
        changed=[name for name in ("min_score", "max_score") if name in data],
    )
    assignment.save()
    if skill_ids is not None:
        assignment.skills.set(_course_skill_ids(course_id=assignment.course_id, skill_ids=skill_ids))
    if traits is not None:
        _traits_replace(assignment=assignment, traits=traits)
    return assignment


@transaction.atomic
def assignment_delete(*, assignment_id: int) -> None:
    """Delete an assignment nobody has answered; one with submissions is kept (unpublish it)."""
    assignment = Assignment.objects.select_for_update().get(pk=assignment_id)
    count = assignment.submissions.count()
    if count:
        raise ValidationError(
            {"detail": f"The assignment has {count} submission(s) and cannot be deleted; unpublish it instead."}
        )
    assignment.delete()


@transaction.atomic
def practice_item_create(
    *,
    course_id: int,
    title: str,
    body: str = "",
    answer: str = "",
    difficulty: float = 0.5,
    external_id: str = "",
    skill_ids: Iterable[int] = (),
) -> PracticeItem:
    skills = _course_skill_ids(course_id=course_id, skill_ids=skill_ids)
    item = PracticeItem.objects.create(
        course_id=course_id, title=title, body=body, answer=answer, difficulty=difficulty, external_id=external_id
    )
    item.skills.set(skills)
    return item


@transaction.atomic
def practice_item_update(
    *, practice_item_id: int, data: Mapping[str, object], skill_ids: Iterable[int] | None = None
) -> PracticeItem:
    item = PracticeItem.objects.select_for_update().get(pk=practice_item_id)
    item.save(update_fields=_assign(item, data, _PRACTICE_ITEM_FIELDS) or None)
    if skill_ids is not None:
        item.skills.set(_course_skill_ids(course_id=item.course_id, skill_ids=skill_ids))
    return item


@transaction.atomic
def practice_item_delete(*, practice_item_id: int) -> None:
    # Events keep their statement (practice_item is SET_NULL, object_iri stays).
    PracticeItem.objects.filter(pk=practice_item_id).delete()


@transaction.atomic
def learning_resource_create(
    *,
    course_id: int,
    title: str,
    body: str = "",
    url: str = "",
    kind: str = ResourceKind.READING,
    difficulty: float = 0.5,
    language: str = "",
    is_active: bool = True,
    external_id: str = "",
    skill_ids: Iterable[int] = (),
) -> LearningResource:
    skills = _course_skill_ids(course_id=course_id, skill_ids=skill_ids)
    resource = LearningResource.objects.create(
        course_id=course_id,
        title=title,
        body=body,
        url=url,
        kind=kind,
        difficulty=difficulty,
        language=language,
        is_active=is_active,
        external_id=external_id,
    )
    resource.skills.set(skills)
    return resource


@transaction.atomic
def learning_resource_update(
    *, resource_id: int, data: Mapping[str, object], skill_ids: Iterable[int] | None = None
) -> LearningResource:
    resource = LearningResource.objects.select_for_update().get(pk=resource_id)
    resource.save(update_fields=_assign(resource, data, _RESOURCE_FIELDS) or None)
    if skill_ids is not None:
        resource.skills.set(_course_skill_ids(course_id=resource.course_id, skill_ids=skill_ids))
    return resource


@transaction.atomic
def learning_resource_delete(*, resource_id: int) -> None:
    LearningResource.objects.filter(pk=resource_id).delete()


@transaction.atomic
def enrollment_update(*, enrollment_id: int, data: Mapping[str, object]) -> Enrollment:
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment_id)
    if "role" in data and data["role"] not in Role.values:
        raise ValidationError({"role": f"Unknown role {data['role']!r}; expected one of {', '.join(Role.values)}."})
    enrollment.save(update_fields=_assign(enrollment, data, _ENROLLMENT_FIELDS) or None)
    return enrollment


@transaction.atomic
def enrollment_deactivate(*, enrollment_id: int) -> Enrollment:
    """End an enrolment without deleting it: the student's submissions and events stay."""
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment_id)
    if enrollment.is_active:
        enrollment.is_active = False
        enrollment.save(update_fields=["is_active"])
    return enrollment
