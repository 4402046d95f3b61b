"""Reads of the xAPI endpoint, always within the asking client's scope (its school, or course)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from .data import ClientScope
from .mapping import actor_ifi
from .models import Statement
from .validation import StatementInvalid, parse_timestamp, validate_agent

DEFAULT_LIMIT = 100
# Most statements one GET returns (each is about 1-2 KB of JSON).
MAX_LIMIT = 500
KNOWN = {
    "statementId",
    "voidedStatementId",
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
}


def _bool(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise ValueError(f"{name} must be true or false.")
    return value == "true"


@dataclass(frozen=True)
class StatementQuery:
    statement_id: uuid.UUID | None = None
    voided_statement_id: uuid.UUID | None = None
    agent_ifi: str | None = None
    verb: str | None = None
    activity: str | None = None
    registration: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_LIMIT
    ascending: bool = False
    format: str = "exact"

    @classmethod
    def from_params(cls, params: dict[str, str]) -> StatementQuery:
        unknown = sorted(set(params) - KNOWN)
        if unknown:
            raise ValueError(f"Unknown parameter(s): {', '.join(unknown)}.")
        for name in ("related_activities", "related_agents"):
            if _bool(params, name):
                raise ValueError(f"{name}=true is not supported by this LRS subset.")
        fmt = params.get("format", "exact")
        if fmt not in ("exact", "ids", "canonical"):
            raise ValueError("format must be exact, ids or canonical.")
        _bool(params, "attachments")
        args: dict[str, Any] = {"format": fmt, "ascending": _bool(params, "ascending")}
        for name, field in (
            ("statementId", "statement_id"),
            ("voidedStatementId", "voided_statement_id"),
            ("registration", "registration"),
        ):
            if name in params:
                try:
                    args[field] = uuid.UUID(params[name])
                except ValueError:
                    raise ValueError(f"{name} must be a UUID.") from None
        if args.get("statement_id") or args.get("voided_statement_id"):
            extra = set(params) - {"statementId", "voidedStatementId", "format", "attachments"}
            if extra or ("statement_id" in args and "voided_statement_id" in args):
                raise ValueError("statementId/voidedStatementId cannot be combined with other filters.")
        if "agent" in params:
            try:
                agent = json.loads(params["agent"])
                validate_agent(agent, "agent")
            except (ValueError, StatementInvalid, RecursionError) as exc:  # RecursionError: nested ~1,000 deep
                raise ValueError(f"agent must be an Agent or identified Group as JSON: {exc}") from None
            args["agent_ifi"] = actor_ifi(agent)
        # PostgreSQL refuses a NUL even as a query parameter (a 500), and no stored value has one.
        if any("\x00" in v for v in (*params.values(), args.get("agent_ifi", ""))):
            raise ValueError("Parameters must not contain NUL characters (\\u0000).")
        for name in ("verb", "activity"):
            if name in params:
                args[name] = params[name]
        for name in ("since", "until"):
            if name in params:
                try:
                    args[name] = parse_timestamp(params[name], name)
                except StatementInvalid as exc:
                    raise ValueError(str(exc)) from None
        if "limit" in params:
            if not (params["limit"].isascii() and params["limit"].isdigit()):
                raise ValueError("limit must be a non-negative integer.")
            limit = int(params["limit"])
            args["limit"] = MAX_LIMIT if limit == 0 else min(limit, MAX_LIMIT)
        return cls(**args)


def _in_scope(scope: ClientScope) -> QuerySet[Statement]:
    qs = Statement.objects.filter(school_id=scope.school_id)
    if scope.course_id is not None:
        qs = qs.filter(course_id=scope.course_id)
    return qs


def statement_single(*, scope: ClientScope, query: StatementQuery) -> Statement | None:
    if query.statement_id:
        return _in_scope(scope).filter(statement_id=query.statement_id, voided=False).first()
    if query.voided_statement_id:
        return _in_scope(scope).filter(statement_id=query.voided_statement_id, voided=True).first()
    return None


def statements_query(
    *, scope: ClientScope, query: StatementQuery, after_pk: int | None
) -> tuple[list[Statement], int | None]:
    """One page of matching statements (voided ones excluded) and the cursor of the next page."""
    qs = _in_scope(scope).filter(voided=False)
    if query.agent_ifi:
        qs = qs.filter(actor_ifi=query.agent_ifi)
    if query.verb:
        qs = qs.filter(verb_id=query.verb)
    if query.activity:
        qs = qs.filter(activity_id=query.activity)
    if query.registration:
        qs = qs.filter(registration=query.registration)
    if query.since:
        qs = qs.filter(stored__gt=query.since)
    if query.until:
        qs = qs.filter(stored__lte=query.until)
    # pk order is stored order (ids grow as statements are stored), and a stable cursor.
    if after_pk is not None:
        qs = qs.filter(pk__gt=after_pk) if query.ascending else qs.filter(pk__lt=after_pk)
    qs = qs.order_by("pk" if query.ascending else "-pk")
    rows = list(qs[: query.limit + 1])
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        return rows, rows[-1].pk
    return rows, None


def _ids_only(agent: dict[str, Any]) -> dict[str, Any]:
    keep = {k: agent[k] for k in ("objectType", "mbox", "mbox_sha1sum", "openid", "account") if k in agent}
    if "member" in agent:
        keep["member"] = [_ids_only(m) for m in agent["member"]]
    return keep


def formatted(row: Statement, fmt: str) -> dict[str, Any]:
    data = dict(row.data)
    if fmt != "ids":
        return data
    data["actor"] = _ids_only(data["actor"])
    data["verb"] = {"id": data["verb"]["id"]}
    obj = data["object"]
    if obj.get("objectType", "Activity") == "Activity":
        data["object"] = {"objectType": "Activity", "id": obj["id"]}
    elif obj.get("objectType") in ("Agent", "Group"):
        data["object"] = _ids_only(obj)
    return data
