"""Writes of the xAPI endpoint: store statements (deduplicated, voiding honoured) and turn the
mappable ones into activity events through the LMS core (``activity_events_record``,
``activity_event_void``). A batch is all-or-nothing, as xAPI requires: one invalid statement and
nothing of the request is stored.

Every read and write here is within the client's school (its own LRS, models.py): a duplicate or
a conflict (409) is with a statement of that school, a voiding statement voids that school's
statement, and a statement voids or links only its own event.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from eduai.courses.api import EventInput, activity_event_void, activity_events_record
from eduai.courses.models import ActivityEvent

from .data import ClientScope
from .mapping import OutOfScope, actor_ifi, statement_to_event
from .models import LrsClient, Statement
from .validation import VOIDED, StatementInvalid, parse_timestamp, validate_statement

XAPI_VERSION = "1.0.3"
# Largest statement accepted, in bytes of its JSON (UTF-8, compact). A statement is stored twice
# (the statement, and the event's raw copy); without a cap of its own, the request limit
# (DATA_UPLOAD_MAX_MEMORY_SIZE, 10 MiB) would let one statement be 10 MiB. Statements are
# typically under 2 KB; 256 KiB still takes a long essay in result.response (100,000 characters
# of English, the core's longest submission, EDUAI_MAX_SUBMISSION_CHARS; the event keeps 10,000).
MAX_STATEMENT_BYTES = 256 * 1024


class XapiError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@transaction.atomic
def lrs_client_create(*, name: str, school_id: int, course_id: int | None = None) -> tuple[LrsClient, str]:
    """A new credential; returns it and its secret (shown once, stored only as a hash)."""
    if course_id is not None:
        from eduai.courses.models import Course

        if not Course.objects.filter(pk=course_id, school_id=school_id).exists():
            raise XapiError("The course is not in the client's school.")
    secret = secrets.token_urlsafe(32)
    client = LrsClient.objects.create(
        name=name,
        key=secrets.token_hex(12),
        secret_sha256=secret_hash(secret),
        school_id=school_id,
        course_id=course_id,
    )
    return client, secret


def _json_bytes(value: Any) -> int:
    # The view has refused lone surrogates already; surrogatepass only keeps this total.
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))


def _normalise(statement: dict[str, Any]) -> dict[str, Any]:
    """contextActivities values as lists (the form an LRS returns)."""
    st = copy.deepcopy(statement)
    for target in (st, st.get("object") if isinstance(st.get("object"), dict) else None):
        activities = ((target or {}).get("context") or {}).get("contextActivities")
        if isinstance(activities, dict):
            for key, value in list(activities.items()):
                activities[key] = value if isinstance(value, list) else [value]
    return st


def _comparable(statement: dict[str, Any]) -> str:
    """Statement Comparison (xAPI 2.2.7): ignore id, stored, authority, version, timestamp, attachments."""
    st = _normalise(statement)
    return json.dumps({k: st.get(k) for k in ("actor", "verb", "object", "result", "context")}, sort_keys=True)


def _authority(scope: ClientScope) -> dict[str, Any]:
    return {
        "objectType": "Agent",
        "name": "EduAI LRS client",
        "account": {"homePage": "urn:eduai:lrs-client", "name": scope.key},
    }


def statements_store(*, scope: ClientScope, statements: list[Any], put_id: str | None = None) -> list[str]:
    """Store a batch; returns the ids in order. Raises ``XapiError`` (400/403/409); 400 for a
    statement over ``MAX_STATEMENT_BYTES``."""
    if put_id is not None:
        if len(statements) != 1:
            raise XapiError("PUT takes exactly one statement.")
        body = statements[0]
        if isinstance(body, dict):
            if "id" in body and str(body["id"]).lower() != put_id.lower():
                raise XapiError("The statement's id differs from the statementId parameter.")
            body = {**body, "id": put_id}
        statements = [body]
    validated: list[dict[str, Any]] = []
    for i, raw in enumerate(statements):
        path = f"statements[{i}]" if put_id is None else "statement"
        size = _json_bytes(raw)
        if size > MAX_STATEMENT_BYTES:
            raise XapiError(
                f"{path}: the statement is {size:,} bytes of JSON; "
                f"at most {MAX_STATEMENT_BYTES:,} bytes of JSON per statement."
            )
        try:
            st = validate_statement(raw, path)
        except StatementInvalid as exc:
            raise XapiError(str(exc)) from exc
        st = _normalise(st)
        st["id"] = str(uuid.UUID(st["id"])) if "id" in st else str(uuid.uuid4())
        validated.append(st)

    seen: dict[str, str] = {}
    fresh: list[dict[str, Any]] = []
    for st in validated:
        key = _comparable(st)
        if st["id"] in seen:
            if seen[st["id"]] != key:
                raise XapiError(f"Statement id {st['id']} appears twice in the batch with different content.")
            continue
        seen[st["id"]] = key
        fresh.append(st)

    for attempt in range(2):
        try:
            _store_batch(scope, fresh)
            break
        except IntegrityError:
            # A concurrent request stored one of these ids between our read and our insert; the
            # second pass sees it and compares contents like any other duplicate.
            if attempt:
                raise XapiError("Could not store the statements because of concurrent writes; retry.", 409) from None
    return [st["id"] for st in validated]


def _store_batch(scope: ClientScope, fresh: list[dict[str, Any]]) -> None:
    with transaction.atomic():
        existing = {
            str(s.statement_id): s
            for s in Statement.objects.select_for_update().filter(
                school_id=scope.school_id, statement_id__in=[st["id"] for st in fresh]
            )
        }
        for st in fresh:
            if st["id"] in existing and _comparable(existing[st["id"]].data) != _comparable(st):
                raise XapiError(f"Statement {st['id']} already exists with different content.", 409)
        new = [copy.deepcopy(st) for st in fresh if st["id"] not in existing]
        _store_new(scope, new)


def _store_new(scope: ClientScope, new: list[dict[str, Any]]) -> None:
    now = timezone.now()
    rows: list[Statement] = []
    events: list[EventInput] = []
    for st in new:
        st["stored"] = now.isoformat(timespec="milliseconds")
        st["authority"] = _authority(scope)
        st.setdefault("version", XAPI_VERSION)
        st.setdefault("timestamp", st["stored"])
        voids = st["object"]["id"] if st["verb"]["id"] == VOIDED else None
        course_id, reason = None, ""
        if voids is None:
            try:
                mapped = statement_to_event(st, school_id=scope.school_id, course_id=scope.course_id)
            except OutOfScope as exc:
                raise XapiError(f"Statement {st['id']}: {exc}.", 403) from exc
            course_id, reason = mapped.course_id, mapped.reason
            if mapped.event is not None:
                events.append(mapped.event)
        else:
            course_id = scope.course_id
        obj = st["object"]
        rows.append(
            Statement(
                statement_id=uuid.UUID(st["id"]),
                client_id=scope.client_id,
                school_id=scope.school_id,
                course_id=course_id,
                actor_ifi=actor_ifi(st["actor"])[:600],
                verb_id=st["verb"]["id"][:500],
                activity_id=obj["id"][:1000] if obj.get("objectType", "Activity") == "Activity" else "",
                registration=(st.get("context") or {}).get("registration"),
                voids=uuid.UUID(voids) if voids else None,
                timestamp=parse_timestamp(st["timestamp"], "timestamp"),
                stored=now,
                data=st,
                unmapped_reason=reason,
            )
        )
    # A statement links the event of its id in its own course: the one recorded now, or one that
    # course recorded earlier under that id (the REST API takes statement ids too). Event ids are
    # unique per course (courses/0002): another course's event under the same id is another event,
    # so every event keeps its statement's id, and a later REST post of that id in the same course
    # is a duplicate of it.
    events = [e for e in events if e.statement_id is not None]  # statement_to_event always sets it
    if events:
        activity_events_record(events=events)
    course_of = {e.statement_id: e.course_id for e in events}
    found = ActivityEvent.objects.filter(statement_id__in=list(course_of)).values_list(
        "statement_id", "course_id", "pk"
    )
    by_id = {sid: pk for sid, course_id, pk in found if course_of[sid] == course_id}
    for row in rows:
        row.event_id = by_id.get(row.statement_id)
    Statement.objects.bulk_create(rows)
    for row in rows:
        if row.voids is not None:
            _void(scope, row)
    # A statement whose voiding statement came first (out-of-order delivery) is born voided, if
    # that voiding statement's client could have voided it (as _void checks): its school, and its
    # course for a course-scoped client (a voiding row's course is its client's course).
    new_rows = {r.statement_id: r for r in rows if r.voids is None}
    early = Statement.objects.filter(school_id=scope.school_id, voids__in=list(new_rows)).values_list(
        "voids", "course_id"
    )
    for target_id, course_id in early:
        target = new_rows.get(target_id) if target_id is not None else None
        if target is None or (course_id is not None and course_id != target.course_id):
            continue
        Statement.objects.filter(pk=target.pk).update(voided=True)
        _void_event(target)


def _void_event(target: Statement) -> None:
    """Void the event of a voided statement: its linked event, or else the event its course
    recorded under its id (through the REST API, or before the course was archived)."""
    if target.event_id is not None:
        events = ActivityEvent.objects.filter(pk=target.event_id)
    elif target.course_id is not None:
        events = ActivityEvent.objects.filter(statement_id=target.statement_id, course_id=target.course_id)
    else:
        return
    event = events.values_list("statement_id", "course_id").first()
    if event is not None:
        activity_event_void(statement_id=event[0], course_id=event[1])


def _void(scope: ClientScope, voiding: Statement) -> None:
    if voiding.voids is None:
        return
    target = Statement.objects.select_for_update().filter(school_id=scope.school_id, statement_id=voiding.voids).first()
    if target is None:
        return  # xAPI: an LRS should not reject a voiding statement whose target it has not seen
    if target.school_id != scope.school_id or (scope.course_id is not None and target.course_id != scope.course_id):
        raise XapiError(f"Statement {voiding.statement_id}: this client may not void {target.statement_id}.", 403)
    if target.voids is not None:
        raise XapiError(f"Statement {voiding.statement_id}: a voiding statement cannot be voided.")
    if not target.voided:
        Statement.objects.filter(pk=target.pk).update(voided=True)
        _void_event(target)
