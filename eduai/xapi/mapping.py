"""From a valid xAPI statement to EduAI's terms: which course, which enrolled user, which object.

Course: ``context.contextActivities`` (any of parent/grouping/category/other) naming
``urn:eduai:course:<id>`` or an LMS course IRI registered as a ``CourseAlias``, or the extension
``urn:eduai:extension:course`` carrying either (or the bare id); a client scoped to one course
defaults to it. Actor: ``mbox`` (the user's e-mail), ``mbox_sha1sum``, or
``account`` (``name`` = the user's LMS id, ``external_id``, as LTI launches and Moodle's
log store both use, or the EduAI username) — always among the course's active members. Object:
``urn:eduai:practice-item:<id>`` / ``urn:eduai:resource:<id>`` / ``urn:eduai:assignment:<id>``,
or the ``external_id`` of a practice item or resource of the course.

A statement about an archived course is stored with its course but becomes no event (the course's
evidence is final); a voiding statement still voids an event recorded before the archiving.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Q

from eduai.courses.api import EventInput
from eduai.courses.models import Assignment, Course, Enrollment, LearningResource, ObjectType, PracticeItem

from .models import CourseAlias
from .validation import parse_duration_seconds, parse_timestamp

COURSE_EXTENSION = "urn:eduai:extension:course"
# Longest duration an event keeps (a century, beyond any real activity). ISO 8601 allows any
# length, but a timedelta stops at 999,999,999 days and DurationField's 64-bit microseconds at
# ~106,751,991 days; a longer one stays in the stored statement only.
MAX_EVENT_DURATION_SECONDS = 100 * 365.25 * 24 * 3600
# An archived course's evidence is final (nothing new is recorded in it, as through the REST
# API); its statements are still stored: they are records of what happened.
ARCHIVED_REASON = "the course is archived: the statement is kept but is not evidence"
_URN = re.compile(r"^urn:eduai:(course|practice-item|resource|assignment):(\d+)$")


class OutOfScope(Exception):
    """The statement names a course this client may not write to."""


def _urn(iri: str, kind: str) -> int | None:
    match = _URN.match(iri)
    return int(match.group(2)) if match and match.group(1) == kind else None


def actor_ifi(agent: dict[str, Any]) -> str:
    """A stable key for an Agent/Group's identifier, for indexing and the ``agent`` filter."""
    if "mbox" in agent:
        return "mbox:" + str(agent["mbox"]).lower()
    if "mbox_sha1sum" in agent:
        return "sha1:" + str(agent["mbox_sha1sum"]).lower()
    if "openid" in agent:
        return "openid:" + str(agent["openid"])
    if "account" in agent:
        return f"account:{agent['account'].get('homePage')}|{agent['account'].get('name')}"
    return "anonymous-group"


def course_candidates(statement: dict[str, Any]) -> list[str]:
    context = statement.get("context") or {}
    found: list[str] = []
    ext = (context.get("extensions") or {}).get(COURSE_EXTENSION)
    if isinstance(ext, (int, str)) and str(ext):
        found.append(str(ext) if not str(ext).isdigit() else f"urn:eduai:course:{ext}")
    for entries in (context.get("contextActivities") or {}).values():
        for item in entries if isinstance(entries, list) else [entries]:
            found.append(item["id"])
    obj = statement["object"]
    if obj.get("objectType", "Activity") == "Activity":
        found.append(obj["id"])
    return found


def resolve_course(statement: dict[str, Any], *, school_id: int, course_id: int | None) -> Course | None:
    """The EduAI course a statement is about; ``OutOfScope`` if it names one the client may not use."""
    iris = course_candidates(statement)
    aliases = dict(CourseAlias.objects.filter(iri__in=[i[:500] for i in iris]).values_list("iri", "course_id"))
    ids = [cid for cid in (_urn(iri, "course") or aliases.get(iri[:500]) for iri in iris) if cid is not None]
    for cid in ids:
        course = Course.objects.filter(pk=cid).first()
        if course is None:
            continue
        if course.school_id != school_id or (course_id is not None and course.pk != course_id):
            raise OutOfScope(f"this client may not send statements about course {cid}")
        return course
    if course_id is not None:
        return Course.objects.filter(pk=course_id).first()
    return None


def resolve_user_id(agent: dict[str, Any], course: Course) -> int | None:
    members = Enrollment.objects.filter(course=course, is_active=True)
    if agent.get("objectType") == "Group":
        return None
    if "mbox" in agent:
        email = agent["mbox"][len("mailto:") :]
        return members.filter(user__email__iexact=email).values_list("user_id", flat=True).first()
    if "mbox_sha1sum" in agent:
        wanted = agent["mbox_sha1sum"].lower()
        for user_id, email in members.exclude(user__email="").values_list("user_id", "user__email"):
            if hashlib.sha1(f"mailto:{email}".encode()).hexdigest() == wanted:  # noqa: S324 (xAPI defines SHA-1)
                return user_id
        return None
    if "account" in agent:
        name = agent["account"]["name"]
        return (
            members.filter(Q(user__external_id=name) | Q(user__username=name))
            .order_by("-user__external_id")
            .values_list("user_id", flat=True)
            .first()
        )
    return None


def _object_fields(obj: dict[str, Any], course: Course) -> dict[str, Any]:
    if obj.get("objectType", "Activity") != "Activity":
        return {"object_type": ObjectType.OTHER, "object_iri": ""}
    iri = obj["id"]
    fields: dict[str, Any] = {"object_iri": iri[:1000], "object_type": ObjectType.OTHER}
    if (pk := _urn(iri, "practice-item")) is not None:
        item = PracticeItem.objects.filter(pk=pk, course=course).first()
    else:
        item = PracticeItem.objects.filter(course=course, external_id=iri).first()
    if item:
        return {**fields, "object_type": ObjectType.PRACTICE_ITEM, "practice_item_id": item.pk}
    if (pk := _urn(iri, "resource")) is not None:
        resource = LearningResource.objects.filter(pk=pk, course=course).first()
    else:
        resource = LearningResource.objects.filter(course=course, external_id=iri).first()
    if resource:
        return {**fields, "object_type": ObjectType.RESOURCE, "resource_id": resource.pk}
    if (pk := _urn(iri, "assignment")) is not None and Assignment.objects.filter(pk=pk, course=course).exists():
        return {**fields, "object_type": ObjectType.ASSIGNMENT, "assignment_id": pk}
    if _urn(iri, "course") == course.pk:
        return {**fields, "object_type": ObjectType.COURSE}
    return fields


def _result_fields(result: dict[str, Any]) -> dict[str, Any]:
    score = result.get("score") or {}
    fields: dict[str, Any] = {
        "result_success": result.get("success"),
        "result_completion": result.get("completion"),
        "result_score_scaled": score.get("scaled"),
        "result_score_raw": score.get("raw"),
        "result_response": str(result.get("response", ""))[:10000],
    }
    if "duration" in result:
        seconds = parse_duration_seconds(result["duration"])
        fields["result_duration"] = (
            timedelta(seconds=seconds) if seconds is not None and seconds <= MAX_EVENT_DURATION_SECONDS else None
        )
    return fields


@dataclass(frozen=True)
class Mapped:
    course_id: int | None
    event: EventInput | None
    reason: str


def statement_to_event(statement: dict[str, Any], *, school_id: int, course_id: int | None) -> Mapped:
    """Raises ``OutOfScope``; otherwise returns the event, or why there is none."""
    course = resolve_course(statement, school_id=school_id, course_id=course_id)
    if course is None:
        return Mapped(None, None, "no EduAI course in context.contextActivities or the course extension")
    if not course.is_active:
        return Mapped(course.pk, None, ARCHIVED_REASON)
    user_id = resolve_user_id(statement["actor"], course)
    if user_id is None:
        return Mapped(course.pk, None, "the actor is not an active member of the course")
    if len(statement["verb"]["id"]) > 300:
        return Mapped(course.pk, None, "the verb IRI is longer than 300 characters")
    event = EventInput(
        course_id=course.pk,
        actor_id=user_id,
        verb=statement["verb"]["id"],
        timestamp=parse_timestamp(statement.get("timestamp") or statement["stored"], "timestamp"),
        statement_id=uuid.UUID(statement["id"]),
        raw=statement,
        **_object_fields(statement["object"], course),
        **_result_fields(statement.get("result") or {}),
    )
    return Mapped(course.pk, event, "")
