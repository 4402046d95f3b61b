"""Statement validation per xAPI 1.0.3 (Data section 2.2-2.4). Pure functions, no database.

``validate_statement`` raises ``StatementInvalid`` with the JSON path of the first problem and
the rule it breaks, e.g. ``statement.actor: an Agent needs exactly one identifier (mbox,
mbox_sha1sum, openid or account), found 2``. Only what the specification requires is enforced;
statements an LRS must accept are accepted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, NoReturn

from django.utils.dateparse import parse_datetime

VOIDED = "http://adlnet.gov/expapi/verbs/voided"

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
_LANG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
_MAILTO = re.compile(r"^mailto:[^@\s]+@[^@\s]+$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
_VERSION = re.compile(r"^1\.0(\.\d+)?$")
_DURATION = re.compile(
    r"^P(?=\d|T\d)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
    r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$"
)

STATEMENT_KEYS = {
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
}
SUBSTATEMENT_KEYS = {"objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"}
AGENT_KEYS = {"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"}
IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")
ACTIVITY_DEFINITION_KEYS = {
    "name",
    "description",
    "type",
    "moreInfo",
    "extensions",
    "interactionType",
    "correctResponsesPattern",
    "choices",
    "scale",
    "source",
    "target",
    "steps",
}
CONTEXT_ACTIVITY_KEYS = {"parent", "grouping", "category", "other"}


class StatementInvalid(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _fail(path: str, message: str) -> NoReturn:
    raise StatementInvalid(path, message)


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(path, "must be a JSON object")
    return value


def _keys(value: dict[str, Any], allowed: set[str], path: str) -> None:
    extra = sorted(set(value) - allowed)
    if extra:
        _fail(path, f"unknown propert{'y' if len(extra) == 1 else 'ies'} {', '.join(extra)}")


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        _fail(path, "must be a string")
    return value


def _bool(value: Any, path: str) -> None:
    if not isinstance(value, bool):
        _fail(path, "must be true or false")


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(path, "must be a number")
    try:
        return float(value)
    except OverflowError:  # JSON integers are unbounded; 1 followed by 400 zeros is no float
        _fail(path, "is too large for a number (at most about 1.8e308)")


def _iri(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _IRI.match(value):
        _fail(path, "must be an IRI (an absolute identifier with a scheme, e.g. http://... or urn:...)")
    return value


def _uuid(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _UUID.match(value):
        _fail(path, "must be a UUID (RFC 4122, 8-4-4-4-12 hex digits)")
    return value


def parse_timestamp(value: Any, path: str) -> datetime:
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        # Well formed but impossible (month 13, 30 February, an offset of a day or more).
        parsed = None
    if parsed is None:
        _fail(path, "must be an ISO 8601 date and time, e.g. 2024-03-01T12:00:00Z")
    if parsed.tzinfo is None:  # type: ignore[union-attr]
        # xAPI only says a timestamp SHOULD carry its offset; without one we read it as UTC.
        parsed = parsed.replace(tzinfo=UTC)  # type: ignore[union-attr]
    try:
        parsed.astimezone(UTC)  # type: ignore[union-attr]
    except OverflowError:
        # 9999-12-31T23:00-05:00 is after the last instant a datetime (or the database) holds.
        _fail(path, "is outside the years 1 to 9999 once converted to UTC")
    return parsed  # type: ignore[return-value]


def _language_map(value: Any, path: str) -> None:
    for tag, text in _object(value, path).items():
        if not _LANG.match(tag):
            _fail(f"{path}.{tag}", "is not an RFC 5646 language tag")
        _string(text, f"{path}.{tag}")


def _extensions(value: Any, path: str) -> None:
    for key in _object(value, path):
        _iri(key, f"{path}[{key!r}]")


def validate_agent(value: Any, path: str, *, allow_group: bool = True) -> None:
    agent = _object(value, path)
    kind = agent.get("objectType", "Agent")
    if kind not in ("Agent", "Group") or (kind == "Group" and not allow_group):
        _fail(f"{path}.objectType", "must be 'Agent'" + (" or 'Group'" if allow_group else ""))
    _keys(agent, AGENT_KEYS | ({"member"} if kind == "Group" else set()), path)
    ifis = [k for k in IFI_KEYS if k in agent]
    if kind == "Agent" and len(ifis) != 1:
        _fail(path, f"an Agent needs exactly one identifier (mbox, mbox_sha1sum, openid or account), found {len(ifis)}")
    if kind == "Group":
        if len(ifis) > 1:
            _fail(path, f"a Group has at most one identifier, found {len(ifis)}")
        if not ifis and not isinstance(agent.get("member"), list):
            _fail(f"{path}.member", "an anonymous Group (no identifier) needs a member list")
        if "member" in agent:
            if not isinstance(agent["member"], list):
                _fail(f"{path}.member", "must be a list of Agents")
            for i, member in enumerate(agent["member"]):
                validate_agent(member, f"{path}.member[{i}]", allow_group=False)
    if "name" in agent:
        _string(agent["name"], f"{path}.name")
    if "mbox" in agent and (not isinstance(agent["mbox"], str) or not _MAILTO.match(agent["mbox"])):
        _fail(f"{path}.mbox", "must be a mailto: IRI, e.g. mailto:ada@example.org")
    if "mbox_sha1sum" in agent and (
        not isinstance(agent["mbox_sha1sum"], str) or not _SHA1.match(agent["mbox_sha1sum"])
    ):
        _fail(f"{path}.mbox_sha1sum", "must be 40 hex digits (SHA-1 of the mailto IRI)")
    if "openid" in agent:
        _iri(agent["openid"], f"{path}.openid")
    if "account" in agent:
        account = _object(agent["account"], f"{path}.account")
        _keys(account, {"homePage", "name"}, f"{path}.account")
        if "homePage" not in account or "name" not in account:
            _fail(f"{path}.account", "needs both homePage and name")
        _iri(account["homePage"], f"{path}.account.homePage")
        _string(account["name"], f"{path}.account.name")


def _activity(value: Any, path: str) -> None:
    activity = _object(value, path)
    _keys(activity, {"objectType", "id", "definition"}, path)
    if activity.get("objectType", "Activity") != "Activity":
        _fail(f"{path}.objectType", "must be 'Activity'")
    if "id" not in activity:
        _fail(f"{path}.id", "is required")
    _iri(activity["id"], f"{path}.id")
    if "definition" in activity:
        definition = _object(activity["definition"], f"{path}.definition")
        _keys(definition, ACTIVITY_DEFINITION_KEYS, f"{path}.definition")
        for key in ("name", "description"):
            if key in definition:
                _language_map(definition[key], f"{path}.definition.{key}")
        for key in ("type", "moreInfo"):
            if key in definition:
                _iri(definition[key], f"{path}.definition.{key}")
        if "extensions" in definition:
            _extensions(definition["extensions"], f"{path}.definition.extensions")


def _statement_ref(value: dict[str, Any], path: str) -> None:
    _keys(value, {"objectType", "id"}, path)
    _uuid(value.get("id"), f"{path}.id")


def _object_of(value: Any, path: str, *, in_substatement: bool) -> str:
    obj = _object(value, path)
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        _activity(obj, path)
    elif kind in ("Agent", "Group"):
        validate_agent(obj, path)
    elif kind == "StatementRef":
        _statement_ref(obj, path)
    elif kind == "SubStatement":
        if in_substatement:
            _fail(f"{path}.objectType", "a SubStatement cannot contain another SubStatement")
        _statement_body(obj, path, substatement=True)
    else:
        _fail(f"{path}.objectType", "must be Activity, Agent, Group, StatementRef or SubStatement")
    return kind


def _result(value: Any, path: str) -> None:
    result = _object(value, path)
    _keys(result, {"score", "success", "completion", "response", "duration", "extensions"}, path)
    if "score" in result:
        score = _object(result["score"], f"{path}.score")
        _keys(score, {"scaled", "raw", "min", "max"}, f"{path}.score")
        nums = {k: _number(score[k], f"{path}.score.{k}") for k in ("scaled", "raw", "min", "max") if k in score}
        if "scaled" in nums and not -1 <= nums["scaled"] <= 1:
            _fail(f"{path}.score.scaled", "must be between -1 and 1")
        if "min" in nums and "max" in nums and nums["min"] >= nums["max"]:
            _fail(f"{path}.score", "min must be less than max")
        if "raw" in nums and "min" in nums and nums["raw"] < nums["min"]:
            _fail(f"{path}.score.raw", "must not be below min")
        if "raw" in nums and "max" in nums and nums["raw"] > nums["max"]:
            _fail(f"{path}.score.raw", "must not be above max")
    for key in ("success", "completion"):
        if key in result:
            _bool(result[key], f"{path}.{key}")
    if "response" in result:
        _string(result["response"], f"{path}.response")
    if "duration" in result and (not isinstance(result["duration"], str) or not _DURATION.match(result["duration"])):
        _fail(f"{path}.duration", "must be an ISO 8601 duration, e.g. PT1M30S")
    if "extensions" in result:
        _extensions(result["extensions"], f"{path}.extensions")


def _context(value: Any, path: str, object_kind: str) -> None:
    context = _object(value, path)
    _keys(
        context,
        {
            "registration",
            "instructor",
            "team",
            "contextActivities",
            "revision",
            "platform",
            "language",
            "statement",
            "extensions",
        },
        path,
    )
    if "registration" in context:
        _uuid(context["registration"], f"{path}.registration")
    if "instructor" in context:
        validate_agent(context["instructor"], f"{path}.instructor")
    if "team" in context:
        team = _object(context["team"], f"{path}.team")
        if team.get("objectType") != "Group":
            _fail(f"{path}.team", "must be a Group")
        validate_agent(team, f"{path}.team")
    if "contextActivities" in context:
        activities = _object(context["contextActivities"], f"{path}.contextActivities")
        _keys(activities, CONTEXT_ACTIVITY_KEYS, f"{path}.contextActivities")
        for key, entry in activities.items():
            entries = entry if isinstance(entry, list) else [entry]
            for i, item in enumerate(entries):
                _activity(item, f"{path}.contextActivities.{key}[{i}]")
    for key in ("revision", "platform"):
        if key in context:
            _string(context[key], f"{path}.{key}")
            if object_kind in ("Agent", "Group"):
                _fail(f"{path}.{key}", "must not be used when the object is an Agent or Group")
    if "language" in context and (not isinstance(context["language"], str) or not _LANG.match(context["language"])):
        _fail(f"{path}.language", "is not an RFC 5646 language tag")
    if "statement" in context:
        ref = _object(context["statement"], f"{path}.statement")
        if ref.get("objectType") != "StatementRef":
            _fail(f"{path}.statement.objectType", "must be 'StatementRef'")
        _statement_ref(ref, f"{path}.statement")
    if "extensions" in context:
        _extensions(context["extensions"], f"{path}.extensions")


def _attachments(value: Any, path: str) -> None:
    if not isinstance(value, list):
        _fail(path, "must be a list")
    for i, item in enumerate(value):
        att = _object(item, f"{path}[{i}]")
        for key in ("usageType", "display", "contentType", "length", "sha2"):
            if key not in att:
                _fail(f"{path}[{i}].{key}", "is required")
        if "fileUrl" not in att:
            # The payload would come in a multipart/mixed body, which this endpoint does not take.
            _fail(f"{path}[{i}]", "attachments with content are not supported here; send a fileUrl instead")


def _statement_body(st: dict[str, Any], path: str, *, substatement: bool) -> None:
    _keys(st, SUBSTATEMENT_KEYS if substatement else STATEMENT_KEYS, path)
    for key in ("actor", "verb", "object"):
        if key not in st:
            _fail(f"{path}.{key}", "is required")
    validate_agent(st["actor"], f"{path}.actor")
    verb = _object(st["verb"], f"{path}.verb")
    _keys(verb, {"id", "display"}, f"{path}.verb")
    if "id" not in verb:
        _fail(f"{path}.verb.id", "is required")
    _iri(verb["id"], f"{path}.verb.id")
    if "display" in verb:
        _language_map(verb["display"], f"{path}.verb.display")
    kind = _object_of(st["object"], f"{path}.object", in_substatement=substatement)
    if verb["id"] == VOIDED and kind != "StatementRef":
        _fail(f"{path}.object", "a voiding statement's object must be a StatementRef")
    if "result" in st:
        _result(st["result"], f"{path}.result")
    if "context" in st:
        _context(st["context"], f"{path}.context", kind)
    if "timestamp" in st:
        parse_timestamp(st["timestamp"], f"{path}.timestamp")
    if "attachments" in st:
        _attachments(st["attachments"], f"{path}.attachments")


def validate_statement(value: Any, path: str = "statement") -> dict[str, Any]:
    st = _object(value, path)
    _statement_body(st, path, substatement=False)
    if "id" in st:
        _uuid(st["id"], f"{path}.id")
    if "stored" in st:
        parse_timestamp(st["stored"], f"{path}.stored")
    if "authority" in st:
        validate_agent(st["authority"], f"{path}.authority")
    if "version" in st and (not isinstance(st["version"], str) or not _VERSION.match(st["version"])):
        _fail(f"{path}.version", "must be a 1.0.x version")
    return st


def parse_duration_seconds(value: str) -> float | None:
    """Seconds in an ISO 8601 duration without years/months/weeks (their length varies)."""
    match = re.match(
        r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$", value
    )
    if not match:
        return None
    d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
    return ((d * 24 + h) * 60 + m) * 60 + s
