"""Writes of the LTI tool. Keyword-only arguments; each write under ``transaction.atomic``.

- ``launch_apply``: after pylti1p3 validated a launch, create or update the user, the course (from
  the context claim), the enrolment (role from the LTI roles), the resource link and line item.
  In an archived course (docs/courses.md) a launch changes no enrolment: a member gets in with
  the role they have in EduAI, a school admin reads it as they read any course of their school
  (without an enrolment), nobody else gets in, and the course keeps its title.
- ``deep_link_assignment_create``: the deep-linking page's "new assignment" form.
- ``outbox_enqueue`` / ``outbox_send``: AGS score pass-back through the ``GradeOutbox`` table.
- ``roster_sync``: Names and Role Provisioning into enrolments; an archived course is skipped.
- ``platform_register_dynamic``: LTI Dynamic Registration (platform OpenID configuration in,
  registration out).

Errors a person can act on are ``LtiRefused`` (message + HTTP status) and never a 500.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import requests
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem as PyLineItem
from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.service_connector import ServiceConnector

from eduai.courses.api import access, enrollment_upsert
from eduai.courses.models import Assignment, AssignmentKind, Course, Enrollment, Submission
from eduai.courses.services import assignment_create

from .models import (
    Deployment,
    GradeOutbox,
    GradingProgress,
    LineItem,
    LtiContext,
    LtiUser,
    OutboxStatus,
    Platform,
    RegistrationInvite,
    RegistrationOrigin,
    ResourceLink,
)
from .roles import role_from_lti
from .tool import http_session, platform_registration

logger = logging.getLogger(__name__)

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = CLAIM + "message_type"
CONTEXT = CLAIM + "context"
RESOURCE_LINK = CLAIM + "resource_link"
ROLES = CLAIM + "roles"
CUSTOM = CLAIM + "custom"
DEPLOYMENT_ID = CLAIM + "deployment_id"
TARGET_LINK_URI = CLAIM + "target_link_uri"
FOR_USER = CLAIM + "for_user"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"

SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READ = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READ = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
TOOL_SCOPES = [SCOPE_SCORE, SCOPE_LINEITEM, SCOPE_LINEITEM_READ, SCOPE_RESULT_READ, SCOPE_NRPS]

# Custom parameter the deep-linking response puts on every link; the platform sends it back
# (signed) in each launch of that link.
CUSTOM_ASSIGNMENT = "eduai_assignment_id"

# Outbox retry policy: 30 s doubling to at most 1 h between tries, 12 tries (about 6.5 h of a
# platform being down) before a row is marked failed for an admin to retry from the admin.
OUTBOX_BACKOFF_BASE_S = 30
OUTBOX_BACKOFF_MAX_S = 3600
OUTBOX_MAX_ATTEMPTS = 12
# A row claimed longer ago than this (s) belongs to a worker that died mid-send: reclaimable.
OUTBOX_CLAIM_LEASE_S = 300
# Rows one ``outbox_send`` call handles at most (each is one HTTP POST of about 1 KB).
OUTBOX_BATCH = 200


class LtiRefused(Exception):
    """A launch or request EduAI refuses, with a message for the person and an HTTP status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class LaunchResult:
    message_type: str
    platform_id: int
    user_id: int
    course_id: int
    context_pk: int
    role: str
    assignment_id: int | None
    resource_link_pk: int | None


def _digest(*parts: object, n: int = 64) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:n]


def _text(value: object, limit: int) -> str:
    # JSON strings may hold NUL, which PostgreSQL's text columns refuse: dropped from names/titles
    # (tool.py already did so for a launch, and refuses a NUL anywhere else).
    return value.replace("\x00", "").strip()[:limit] if isinstance(value, str) else ""


# --- users, courses, enrolments --------------------------------------------------------------


def _user_upsert(*, platform: Platform, sub: str, claims: dict[str, Any]) -> Any:
    User = get_user_model()
    given, family = _text(claims.get("given_name"), 150), _text(claims.get("family_name"), 150)
    name = _text(claims.get("name"), 150) or " ".join(p for p in (given, family) if p)
    email = _text(claims.get("email"), 254)
    try:
        EmailValidator()(email)
    except ValidationError:
        email = ""
    identity = LtiUser.objects.select_related("user").filter(platform=platform, sub=sub).first()
    if identity is None:
        user = User(
            username=f"lti-{platform.pk}-{_digest(sub, n=24)}",
            first_name=given,
            last_name=family,
            display_name=name,
            email=email,
            external_id=sub[:255],
        )
        user.set_unusable_password()
        user.save()
        identity = LtiUser.objects.create(platform=platform, sub=sub, user=user)
        return user
    user = identity.user
    changed = {
        k: v
        for k, v in {"first_name": given, "last_name": family, "display_name": name, "email": email}.items()
        if v and getattr(user, k) != v
    }
    if changed:
        for k, v in changed.items():
            setattr(user, k, v)
        user.save(update_fields=list(changed))
    return user


def _context_upsert(*, platform: Platform, claims: dict[str, Any]) -> LtiContext:
    context = claims.get(CONTEXT)
    if not isinstance(context, dict) or not isinstance(context.get("id"), str) or not context["id"]:
        raise LtiRefused(
            _(
                "The launch has no course context (the 'context' claim). Add EduAI to a course in the LMS, "
                "not to a site-wide menu."
            )
        )
    context_id = context["id"][:255]
    title = _text(context.get("title"), 200) or _text(context.get("label"), 200) or context_id[:200]
    label = _text(context.get("label"), 255)
    row = LtiContext.objects.select_related("course").filter(platform=platform, context_id=context_id).first()
    if row is None:
        # The suffix keeps LMS courses apart from same-named EduAI courses of the school.
        code_base = re.sub(r"\s+", "-", label or "LTI")[:40]
        course = Course.objects.create(
            school_id=platform.school_id, code=f"{code_base}-{_digest(platform.pk, context_id, n=6)}", title=title
        )
        row = LtiContext.objects.create(platform=platform, context_id=context_id, course=course, label=label)
    elif title and row.course.title != title and row.course.is_active:  # an archived course keeps its own
        row.course.title = title
        row.course.save(update_fields=["title"])
    row.title = title
    row.label = label or row.label
    # As sent, never trimmed: pylti1p3 matched it to a Deployment row (255 characters), and
    # tool.py refused a NUL in it before that lookup.
    deployment_id = claims.get(DEPLOYMENT_ID)
    if isinstance(deployment_id, str) and deployment_id:
        row.deployment_id = deployment_id
    nrps = claims.get(NRPS)
    if isinstance(nrps, dict) and isinstance(nrps.get("context_memberships_url"), str):
        row.memberships_url = nrps["context_memberships_url"][:1000]
    ags = claims.get(AGS)
    if isinstance(ags, dict):
        if isinstance(ags.get("lineitems"), str):
            row.lineitems_url = ags["lineitems"][:1000]
        if isinstance(ags.get("scope"), list):
            row.ags_scopes = [s for s in ags["scope"] if isinstance(s, str)]
    row.save()
    return row


def _assignment_for_link(*, claims: dict[str, Any], course: Course, link: ResourceLink | None) -> Assignment | None:
    custom = claims.get(CUSTOM) if isinstance(claims.get(CUSTOM), dict) else {}
    raw = custom.get(CUSTOM_ASSIGNMENT) if custom else None
    if raw in (None, "") and link is not None and link.assignment_id:
        return link.assignment
    if raw in (None, ""):
        return None
    if not (str(raw).isascii() and str(raw).isdigit()):  # "²".isdigit() is true, int("²") fails
        raise LtiRefused(
            _("The link's custom parameter %(name)s=%(value)r is not an assignment id.")
            % {"name": CUSTOM_ASSIGNMENT, "value": raw}
        )
    assignment = Assignment.objects.filter(pk=int(str(raw))).first()
    if assignment is None or assignment.course_id != course.pk:
        # A link copied from another LMS course (course copy/restore) points at that course's
        # assignment: refusing is safer than showing another course's work.
        raise LtiRefused(
            _(
                "This link points to an EduAI assignment that does not belong to this course. "
                "Ask the instructor to add the assignment again with 'Select content' (deep linking)."
            ),
            status=404,
        )
    return assignment


def _archived_launch_role(*, user: Any, course: Course, lms_role: str) -> str:
    """Who a launch into an archived course lets in, and as what; it enrols nobody and changes no
    role (the roster is frozen: its school's admins change it in EduAI, not through a launch).

    A member gets their EduAI role, whatever the LMS now says. A school admin who is not one reads
    the course as admins read every course of their school, without an enrolment
    (``access.course_role``); the LMS role only says which page they land on. Anyone else is
    refused, in one transaction with the launch's other writes (so nothing is kept).
    """
    role = (
        Enrollment.objects.filter(course=course, user_id=user.pk, is_active=True).values_list("role", flat=True).first()
    )
    if role is None and access.is_school_admin(user, course.school_id):
        return lms_role
    if role is None:
        raise LtiRefused(
            _(
                "This course is archived in EduAI: its members can still open it, read-only, but nobody new can "
                "join it. Ask the school's EduAI admin if you need access."
            ),
            status=403,
        )
    return role


@transaction.atomic
def launch_apply(*, platform_id: int, claims: dict[str, Any]) -> LaunchResult:
    """Make EduAI's state match a validated launch; returns where the person belongs."""
    platform = Platform.objects.get(pk=platform_id)
    message_type = claims.get(MESSAGE_TYPE)
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise LtiRefused(
            _("The launch does not identify the user (no 'sub' claim); anonymous launches are not supported.")
        )
    if len(sub) > 255:  # OpenID Connect Core 2: at most 255 ASCII characters (LtiUser.sub's size)
        raise LtiRefused(_("The launch's 'sub' claim is longer than the 255 characters OpenID Connect allows."))
    raw_roles = claims.get(ROLES) or []
    role = role_from_lti(raw_roles if isinstance(raw_roles, list) else [])
    if role is None:
        raise LtiRefused(
            _(
                "Your role in this LMS course has no EduAI role (EduAI serves learners, instructors and teaching "
                "assistants). Roles sent: %(roles)s."
            )
            % {"roles": ", ".join(map(str, raw_roles)) or "none"},
            status=403,
        )
    context = _context_upsert(platform=platform, claims=claims)
    user = _user_upsert(platform=platform, sub=sub, claims=claims)
    if not context.course.is_active:
        role = _archived_launch_role(user=user, course=context.course, lms_role=role)
    else:
        enrollment_upsert(course_id=context.course_id, user_id=user.pk, role=role)

    link = None
    assignment = None
    rl_claim = claims.get(RESOURCE_LINK)
    if isinstance(rl_claim, dict) and isinstance(rl_claim.get("id"), str) and rl_claim["id"]:
        link, _created = ResourceLink.objects.get_or_create(context=context, resource_link_id=rl_claim["id"][:255])
        assignment = _assignment_for_link(claims=claims, course=context.course, link=link)
        updates = []
        if assignment is not None and link.assignment_id != assignment.pk:
            link.assignment = assignment
            updates.append("assignment")
        title = _text(rl_claim.get("title"), 255)
        if title and link.title != title:
            link.title = title
            updates.append("title")
        if updates:
            link.save(update_fields=updates)
    ags = claims.get(AGS)
    if assignment is None and isinstance(ags, dict) and isinstance(ags.get("lineitem"), str):
        # A gradebook launch (submission review) may carry only the column, not our custom id.
        column = (
            LineItem.objects.filter(context=context, url=ags["lineitem"][:1000]).select_related("assignment").first()
        )
        assignment = column.assignment if column else None
    if assignment is not None and isinstance(ags, dict) and isinstance(ags.get("lineitem"), str):
        LineItem.objects.update_or_create(
            context=context,
            assignment=assignment,
            defaults={"url": ags["lineitem"][:1000], "score_maximum": float(assignment.max_score)},
        )
    return LaunchResult(
        message_type=str(message_type),
        platform_id=platform.pk,
        user_id=user.pk,
        course_id=context.course_id,
        context_pk=context.pk,
        role=role,
        assignment_id=assignment.pk if assignment else None,
        resource_link_pk=link.pk if link else None,
    )


def review_target_submission_id(*, platform_id: int, claims: dict[str, Any], assignment_id: int | None) -> int:
    """The submission a LtiSubmissionReviewRequest asks to see: the for_user's latest attempt."""
    for_user = claims.get(FOR_USER)
    if not isinstance(for_user, dict) or not isinstance(for_user.get("user_id"), str):
        raise LtiRefused(_("The submission review launch does not say whose work to open (no 'for_user' claim)."))
    if assignment_id is None:
        raise LtiRefused(_("This gradebook column is not linked to an EduAI assignment."), status=404)
    identity = LtiUser.objects.filter(platform_id=platform_id, sub=for_user["user_id"]).first()
    submission = (
        Submission.objects.filter(assignment_id=assignment_id, author_id=identity.user_id).order_by("-attempt").first()
        if identity
        else None
    )
    if submission is None:
        raise LtiRefused(_("This student has not submitted this assignment in EduAI yet."), status=404)
    return submission.pk


# --- deep linking ----------------------------------------------------------------------------


def deep_link_assignment_create(
    *, course_id: int, title: str, prompt: str, min_score: int, max_score: int, kind: str = AssignmentKind.ESSAY
) -> Assignment:
    """The deep-linking page's "create" form, through the LMS core's own service."""
    title, prompt = title.strip(), prompt.strip()
    if not title or len(title) > 200:
        raise ValidationError({"title": "A title of 1 to 200 characters is required."})
    if not prompt or len(prompt) > 20000:
        raise ValidationError({"prompt": "A prompt of 1 to 20,000 characters is required."})
    return assignment_create(
        course_id=course_id, title=title, prompt=prompt, kind=kind, min_score=min_score, max_score=max_score
    )


def deep_link_line_item(*, assignment: Assignment, review_url: str) -> PyLineItem:
    item = (
        PyLineItem()
        .set_label(assignment.title[:100])
        .set_score_maximum(float(assignment.max_score))
        .set_resource_id(f"eduai-assignment-{assignment.pk}")
        .set_tag("eduai")
    )
    # Lets the gradebook open EduAI's review of a student's work (LtiSubmissionReviewRequest).
    item.set_submission_review(["Submitted", "Completed"], label="EduAI review", url=review_url)
    return item


# --- AGS outbox ------------------------------------------------------------------------------


def _enqueue_rows(
    *, submission: Submission, grading_progress: str, score: float | None, comment: str, now
) -> list[int]:
    ids: list[int] = []
    contexts = LtiContext.objects.filter(
        course_id=submission.assignment.course_id, platform__is_active=True
    ).select_related("platform")
    for context in contexts:
        if grading_progress == GradingProgress.PENDING_MANUAL and not context.platform.supports_pending_manual:
            continue
        identity = LtiUser.objects.filter(platform=context.platform, user_id=submission.author_id).first()
        if identity is None:
            continue  # the student never came from this platform: nothing to post there
        has_column = context.line_items.filter(assignment_id=submission.assignment_id).exists()
        if not has_column and not context.lineitems_url:
            continue
        key = _digest(context.pk, submission.pk, grading_progress, score, comment)
        row, created = GradeOutbox.objects.get_or_create(
            dedupe_key=key,
            defaults={
                "context": context,
                "assignment_id": submission.assignment_id,
                "submission": submission,
                "lti_user": identity,
                "grading_progress": grading_progress,
                "activity_progress": "Completed" if grading_progress == GradingProgress.FULLY_GRADED else "Submitted",
                "score_given": score,
                "score_maximum": float(submission.assignment.max_score) if score is not None else None,
                "comment": comment,
                "timestamp": now,
                "next_attempt_at": now,
            },
        )
        if not created:
            continue
        ids.append(row.pk)
        # Older unsent posts for this student's column are stale: the newest decision wins.
        stale = GradeOutbox.objects.filter(
            context=context,
            assignment_id=submission.assignment_id,
            lti_user=identity,
            status=OutboxStatus.PENDING,
            created_at__lte=row.created_at,
        ).exclude(pk=row.pk)
        if grading_progress == GradingProgress.PENDING_MANUAL:
            # A proposal never hides a grade already decided for the same attempt.
            if GradeOutbox.objects.filter(
                submission=submission, grading_progress=GradingProgress.FULLY_GRADED
            ).exists():
                row.status = OutboxStatus.SUPERSEDED
                row.save(update_fields=["status"])
                ids.pop()
                continue
            stale = stale.filter(grading_progress=GradingProgress.PENDING_MANUAL)
        stale.update(status=OutboxStatus.SUPERSEDED)
    return ids


def outbox_enqueue(
    *, submission_id: int, grading_progress: str, score: float | None = None, comment: str = ""
) -> list[int]:
    """Queue the score posts one grading decision needs; the same decision twice queues once."""
    if grading_progress not in GradingProgress.values:
        raise ValueError(f"unknown grading progress {grading_progress!r}")
    if grading_progress == GradingProgress.FULLY_GRADED and score is None:
        raise ValueError("FullyGraded needs a score")
    from .tasks import send_outbox  # tasks import services: import here to avoid a cycle

    submission = Submission.objects.select_related("assignment").filter(pk=submission_id).first()
    if submission is None:
        return []
    for _attempt in range(3):
        try:
            with transaction.atomic():
                ids = _enqueue_rows(
                    submission=submission,
                    grading_progress=grading_progress,
                    score=score,
                    comment=comment[:10000],
                    now=timezone.now(),
                )
                if ids:
                    send_outbox.delay_on_commit(outbox_ids=ids)
                return ids
        except IntegrityError:
            continue  # a concurrent enqueue of the same decision won; ours is a duplicate
    return []


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(OUTBOX_BACKOFF_MAX_S, OUTBOX_BACKOFF_BASE_S * 2 ** max(0, attempts - 1)))


class _PlatformDown(Exception):
    pass


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, LtiServiceException):
        code = exc.response.status_code
        # 401: the platform may not have refreshed its cache of our JWKS yet (key rotation).
        return code >= 500 or code in (401, 408, 425, 429)
    return isinstance(exc, requests.RequestException)


def _post_score(row: GradeOutbox, connectors: dict[int, ServiceConnector]) -> None:
    context = row.context
    platform = context.platform
    connector = connectors.get(platform.pk)
    if connector is None:
        connector = connectors[platform.pk] = ServiceConnector(platform_registration(platform), http_session())
    scopes = list(context.ags_scopes or [SCOPE_SCORE])
    if SCOPE_SCORE not in scopes:
        raise LtiException("The platform did not grant the AGS score scope for this course")
    line = LineItem.objects.filter(context=context, assignment_id=row.assignment_id).first()
    ags = AssignmentsGradesService(
        connector, {"scope": scopes, "lineitems": context.lineitems_url, "lineitem": line.url if line else ""}
    )
    if line is None:
        # No column yet (the link was added by hand, not by deep linking): find or create ours.
        assignment = Assignment.objects.get(pk=row.assignment_id)
        found = ags.find_or_create_lineitem(
            PyLineItem()
            .set_label(assignment.title[:100])
            .set_score_maximum(float(assignment.max_score))
            .set_resource_id(f"eduai-assignment-{assignment.pk}")
            .set_tag("eduai"),
            find_by="resource_id",
        )
        line, _created = LineItem.objects.get_or_create(
            context=context,
            assignment_id=row.assignment_id,
            defaults={"url": found.get_id(), "score_maximum": float(assignment.max_score)},
        )
    grade = (
        Grade()
        .set_user_id(row.lti_user.sub)
        .set_timestamp(row.timestamp.isoformat(timespec="milliseconds"))
        .set_activity_progress(row.activity_progress)
        .set_grading_progress(row.grading_progress)
    )
    if row.score_given is not None:
        grade.set_score_given(row.score_given).set_score_maximum(row.score_maximum or 0)
    if row.comment:
        grade.set_comment(row.comment)
    ags.put_grade(grade, PyLineItem({"id": line.url}))


def outbox_send(*, outbox_ids: list[int] | None = None) -> dict[str, int]:
    """Send due outbox rows (or just ``outbox_ids`` when due). Safe to run concurrently and twice:
    each row is claimed with a conditional UPDATE, and a platform that fails is not tried again
    in the same call (its other rows wait for their next attempt)."""
    now = timezone.now()
    claimable = Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=OutboxStatus.SENDING, claimed_at__lt=now - timedelta(seconds=OUTBOX_CLAIM_LEASE_S)
    )
    due = GradeOutbox.objects.filter(claimable)
    if outbox_ids is not None:
        due = due.filter(pk__in=outbox_ids)
    ids = list(due.order_by("created_at", "id").values_list("pk", flat=True)[:OUTBOX_BATCH])
    counts = {"sent": 0, "retry": 0, "failed": 0, "deferred": 0}
    connectors: dict[int, ServiceConnector] = {}
    down: set[int] = set()
    for pk in ids:
        row = GradeOutbox.objects.select_related("context__platform", "lti_user").get(pk=pk)
        if row.context.platform_id in down:
            counts["deferred"] += 1
            continue
        claimed = GradeOutbox.objects.filter(claimable, pk=pk).update(
            status=OutboxStatus.SENDING, claimed_at=timezone.now()
        )
        if not claimed:
            continue
        try:
            _post_score(row, connectors)
        except Exception as exc:
            attempts = row.attempts + 1
            retry = _retryable(exc) and attempts < OUTBOX_MAX_ATTEMPTS
            if _retryable(exc):
                down.add(row.context.platform_id)
            logger.warning("LTI score post %s failed (attempt %s): %s", pk, attempts, exc)
            GradeOutbox.objects.filter(pk=pk, status=OutboxStatus.SENDING).update(
                status=OutboxStatus.PENDING if retry else OutboxStatus.FAILED,
                attempts=attempts,
                next_attempt_at=timezone.now() + _backoff(attempts),
                last_error=str(exc)[:1000],
                claimed_at=None,
            )
            counts["retry" if retry else "failed"] += 1
        else:
            GradeOutbox.objects.filter(pk=pk).update(
                status=OutboxStatus.SENT, attempts=row.attempts + 1, sent_at=timezone.now(), last_error=""
            )
            counts["sent"] += 1
    return counts


@transaction.atomic
def outbox_retry(*, outbox_ids: list[int]) -> int:
    """An admin's 'retry now' for failed or waiting rows."""
    return GradeOutbox.objects.filter(pk__in=outbox_ids, status__in=[OutboxStatus.FAILED, OutboxStatus.PENDING]).update(
        status=OutboxStatus.PENDING, next_attempt_at=timezone.now(), attempts=0
    )


# --- Names and Role Provisioning -------------------------------------------------------------


@dataclass(frozen=True)
class RosterResult:
    context_pk: int
    active: int
    deactivated: int
    skipped: int
    archived: bool = False  # the course is archived: nothing was fetched or changed


def roster_sync(*, context_pk: int) -> RosterResult:
    """Make the course's LMS-sourced enrolments match the platform's membership list.

    Only enrolments of people who came from this platform are deactivated when they leave the
    LMS course; people enrolled directly in EduAI are left alone. An archived course's roster
    is frozen (only its school's admins change it, in EduAI): skipped, ``archived`` says so.
    """
    context = LtiContext.objects.select_related("platform", "course").get(pk=context_pk)
    if not context.course.is_active:
        logger.info("LTI roster sync skipped: course %s (context %s) is archived", context.course_id, context.pk)
        return RosterResult(context_pk=context.pk, active=0, deactivated=0, skipped=0, archived=True)
    if not context.memberships_url:
        raise LtiRefused(
            _("This course has no Names and Role Provisioning endpoint (launch it once with NRPS enabled).")
        )
    connector = ServiceConnector(platform_registration(context.platform), http_session())
    members = NamesRolesProvisioningService(
        connector, {"context_memberships_url": context.memberships_url}
    ).get_members()
    active = skipped = 0
    seen_users: set[int] = set()
    with transaction.atomic():
        for m in members:
            sub = m.get("user_id")
            role = role_from_lti(m.get("roles") or [])
            if not isinstance(sub, str) or not sub or len(sub) > 255 or role is None:
                skipped += 1
                continue
            user = _user_upsert(platform=context.platform, sub=sub, claims=dict(m))
            if m.get("status", "Active") != "Active":
                continue
            enrollment_upsert(course_id=context.course_id, user_id=user.pk, role=role)
            seen_users.add(user.pk)
            active += 1
        lms_users = LtiUser.objects.filter(platform=context.platform).values_list("user_id", flat=True)
        deactivated = (
            Enrollment.objects.filter(course_id=context.course_id, is_active=True, user_id__in=lms_users)
            .exclude(user_id__in=seen_users)
            .update(is_active=False)
        )
        LtiContext.objects.filter(pk=context.pk).update(roster_synced_at=timezone.now())
    return RosterResult(context_pk=context.pk, active=active, deactivated=deactivated, skipped=skipped)


# --- Dynamic registration --------------------------------------------------------------------


def invite_create(
    *, school_id: int, name: str, created_by_id: int | None, days: int = 7
) -> tuple[RegistrationInvite, str]:
    """A one-time dynamic-registration token; returns the invite and the token (shown once)."""
    token = secrets.token_urlsafe(32)
    invite = RegistrationInvite.objects.create(
        school_id=school_id,
        name=name,
        token_hash=hashlib.sha256(token.encode()).hexdigest(),
        created_by_id=created_by_id,
        expires_at=timezone.now() + timedelta(days=days),
    )
    return invite, token


def invite_for_token(token: str) -> RegistrationInvite:
    invite = RegistrationInvite.objects.filter(token_hash=hashlib.sha256(token.encode()).hexdigest()).first()
    if invite is None or invite.used_at is not None or invite.expires_at <= timezone.now():
        raise LtiRefused(
            _("This registration link is unknown, expired or already used; ask EduAI's admin for a new one."), 403
        )
    return invite


def _same_site(a: str, b: str) -> bool:
    pa, pb = urlparse(a), urlparse(b)
    return bool(pa.hostname) and pa.hostname == pb.hostname


def platform_register_dynamic(
    *, token: str, openid_configuration_url: str, registration_token: str, tool: dict[str, str]
) -> Platform:
    """LTI Dynamic Registration 1.0: read the platform's configuration, register, store the result.

    ``tool`` holds EduAI's absolute URLs: login, launch, jwks, domain, logo (optional), name.
    """
    invite = invite_for_token(token)
    if not openid_configuration_url.startswith(("https://", "http://")):
        raise LtiRefused(_("openid_configuration must be an http(s) URL."))
    session = http_session()
    auth = {"Authorization": f"Bearer {registration_token}"} if registration_token else {}
    try:
        resp = session.get(openid_configuration_url, headers=auth)
        resp.raise_for_status()
        config = resp.json()
    except (requests.RequestException, ValueError) as e:
        raise LtiRefused(
            _("Could not read the platform's configuration at %(url)s: %(error)s")
            % {"url": openid_configuration_url, "error": e},
            502,
        ) from e
    if not isinstance(config, dict):
        raise LtiRefused(_("The platform's configuration is not a JSON object."), 502)
    required = ["issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint"]
    missing = [k for k in required if not isinstance(config.get(k), str)]
    if missing:
        raise LtiRefused(_("The platform's configuration lacks %(keys)s.") % {"keys": ", ".join(missing)}, 502)
    # The sizes of Platform's columns (issuer 255, URLs 500): longer values fail on save.
    too_long = [k for k, n in (("issuer", 255), *((k, 500) for k in required[1:4])) if len(config[k]) > n]
    if too_long:
        raise LtiRefused(
            _("The platform's configuration has values too long to store: %(keys)s.") % {"keys": ", ".join(too_long)},
            502,
        )
    # The spec requires the issuer to be on the configuration URL's host: a configuration
    # cannot register EduAI on behalf of another platform.
    if not _same_site(config["issuer"], openid_configuration_url):
        raise LtiRefused(_("The platform's issuer is not on the host of its openid_configuration URL."))
    # Optional members of the wrong shape are ignored, as if absent.
    platform_conf = config.get("https://purl.imsglobal.org/spec/lti-platform-configuration")
    platform_conf = platform_conf if isinstance(platform_conf, dict) else {}
    supported = config.get("scopes_supported")
    named = {s for s in supported if isinstance(s, str)} if isinstance(supported, list) else set()
    scopes = named or set(TOOL_SCOPES)
    audience = config.get("authorization_server")
    audience = audience if isinstance(audience, str) and len(audience) <= 500 else ""
    registration: dict[str, Any] = {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": tool["login"],
        "redirect_uris": [tool["launch"]],
        "client_name": tool.get("name", "EduAI"),
        "jwks_uri": tool["jwks"],
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(s for s in TOOL_SCOPES if s in scopes),
        "https://purl.imsglobal.org/spec/lti-tool-configuration": {
            "domain": tool["domain"],
            "target_link_uri": tool["launch"],
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email"],
            "messages": [
                {"type": "LtiResourceLinkRequest", "target_link_uri": tool["launch"]},
                {
                    "type": "LtiDeepLinkingRequest",
                    "target_link_uri": tool["launch"],
                    "label": tool.get("name", "EduAI"),
                },
                {"type": "LtiSubmissionReviewRequest", "target_link_uri": tool["launch"]},
            ],
        },
    }
    if tool.get("logo"):
        registration["logo_uri"] = tool["logo"]
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    try:
        resp = session.post(config["registration_endpoint"], json=registration, headers=headers)
        resp.raise_for_status()
        answer = resp.json()
    except (requests.RequestException, ValueError) as e:
        raise LtiRefused(_("The platform refused the registration: %(error)s") % {"error": e}, 502) from e
    client_id = answer.get("client_id") if isinstance(answer, dict) else None
    if not isinstance(client_id, str) or not client_id:
        raise LtiRefused(_("The platform's registration answer has no client_id."), 502)
    tool_conf = answer.get("https://purl.imsglobal.org/spec/lti-tool-configuration") or {}
    deployment_id = tool_conf.get("deployment_id") if isinstance(tool_conf, dict) else None
    # Platform.client_id and Deployment.deployment_id hold 255 characters.
    too_long = [
        k
        for k, v in (("client_id", client_id), ("deployment_id", deployment_id))
        if isinstance(v, str) and len(v) > 255
    ]
    if too_long:
        raise LtiRefused(
            _("The platform's configuration has values too long to store: %(keys)s.") % {"keys": ", ".join(too_long)},
            502,
        )
    with transaction.atomic():
        invite = RegistrationInvite.objects.select_for_update().get(pk=invite.pk)
        if invite.used_at is not None:
            raise LtiRefused(_("This registration link was used meanwhile."), 409)
        # A registration with this issuer and client id that belongs to another school is not
        # this invite's to take over: updating it would move that school's platform (and its
        # launches) here and replace the key set its launches are verified with. Refused; the
        # same school re-registering updates its own.
        existing = Platform.objects.select_for_update().filter(issuer=config["issuer"], client_id=client_id).first()
        if existing is not None and existing.school_id != invite.school_id:
            raise LtiRefused(_("This platform registration (issuer and client id) belongs to another school."), 409)
        platform, _created = Platform.objects.update_or_create(
            issuer=config["issuer"],
            client_id=client_id,
            defaults={
                "name": invite.name,
                "school_id": invite.school_id,
                "auth_login_url": config["authorization_endpoint"],
                "auth_token_url": config["token_endpoint"],
                "auth_audience": audience,
                "key_set_url": config["jwks_uri"],
                "origin": RegistrationOrigin.DYNAMIC,
                "product_family_code": str(platform_conf.get("product_family_code", ""))[:100],
                "is_active": True,
            },
        )
        if isinstance(deployment_id, str) and deployment_id:
            Deployment.objects.get_or_create(platform=platform, deployment_id=deployment_id)
        invite.used_at = timezone.now()
        invite.platform = platform
        invite.save(update_fields=["used_at", "platform"])
    return platform
