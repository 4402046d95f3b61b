"""The xAPI endpoint (/xapi/): statements (POST, PUT, GET) and about.

Every request but /about must carry ``X-Experience-API-Version: 1.0.x`` and HTTP Basic
credentials of an ``LrsClient``; every answer carries ``X-Experience-API-Version: 1.0.3``.
Errors are JSON ``{"error": reason}`` with 400 (invalid, or one statement over
``services.MAX_STATEMENT_BYTES``), 401 (credentials), 403 (scope), 404, 409 (conflicting id),
413 (the request too large).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from eduai.courses.api import unstorable_text

from . import selectors
from .data import ClientScope
from .models import LrsClient
from .services import XAPI_VERSION, XapiError, secret_hash, statements_store

_VERSION_OK = ("1.0", "1.0.0", "1.0.1", "1.0.2", "1.0.3")
_CURSOR_SALT = "eduai.xapi.more"


def _no_constant(name: str) -> Any:
    # Python's json reads NaN and Infinity, which are not JSON: stored, they would break every
    # later GET (and PostgreSQL's jsonb refuses them).
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    # parse_constant never sees a number too large for a float: 1e400 reads as infinity, which
    # the event insert and PostgreSQL's jsonb refuse just as they refuse Infinity (a 500 on save).
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} does not fit a float")
    return value


def _storable(value: Any) -> bool:
    """No NUL character or lone surrogate in any key or string: PostgreSQL's jsonb and text
    columns refuse both (a 500 on save otherwise)."""
    if isinstance(value, str):
        return not unstorable_text(value)
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


def _answer(payload: Any, status: int = 200) -> HttpResponse:
    if status == 204:
        response = HttpResponse(status=204)
    else:
        response = JsonResponse(payload, status=status, safe=False)
    response["X-Experience-API-Version"] = XAPI_VERSION
    return response


def _error(message: str, status: int = 400) -> HttpResponse:
    response = _answer({"error": message}, status)
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="EduAI xAPI"'
    return response


def _authenticate(request: HttpRequest) -> ClientScope | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Basic "):
        return None
    try:
        key, _, secret = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if "\x00" in key:  # no key has one, and PostgreSQL refuses it even in a lookup (a 500)
        return None
    client = LrsClient.objects.filter(key=key, is_active=True).first()
    # Compare even when the key is unknown, so timing does not tell which keys exist.
    expected = client.secret_sha256 if client else "0" * 64
    if not hmac.compare_digest(secret_hash(secret), expected) or client is None:
        return None
    now = timezone.now()
    if client.last_used_at is None or now - client.last_used_at > timedelta(minutes=1):
        LrsClient.objects.filter(pk=client.pk).update(last_used_at=now)
    return ClientScope(client_id=client.pk, key=client.key, school_id=client.school_id, course_id=client.course_id)


def about(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return _error("Only GET is allowed on /about.", 405)
    return _answer({"version": [XAPI_VERSION], "extensions": {}})


@csrf_exempt
def statements(request: HttpRequest) -> HttpResponse:
    version = request.headers.get("X-Experience-API-Version", "")
    if version not in _VERSION_OK:
        return _error("The X-Experience-API-Version header is required and must be 1.0.x (this LRS speaks 1.0.3).")
    scope = _authenticate(request)
    if scope is None:
        return _error("HTTP Basic credentials of an EduAI LRS client are required.", 401)
    if request.GET.get("method"):
        return _error("The alternate request syntax (?method=) is not supported; send a plain request.")
    try:
        if request.method in ("POST", "PUT"):
            return _write(request, scope)
        if request.method in ("GET", "HEAD"):
            return _read(request, scope)
    except XapiError as exc:
        return _error(exc.message, exc.status)
    return _error(f"{request.method} is not allowed on /statements.", 405)


def _write(request: HttpRequest, scope: ClientScope) -> HttpResponse:
    if request.content_type != "application/json":
        return _error("Statements must be sent as application/json (multipart attachments are not supported).")
    try:
        body = json.loads(request.body or b"null", parse_constant=_no_constant, parse_float=_finite_float)
    except RequestDataTooBig:
        return _error("The request body is too large.", 413)
    except (ValueError, UnicodeDecodeError):
        return _error("The body is not valid JSON.")
    except RecursionError:
        return _error("The body's JSON is nested too deeply.")
    try:
        storable = _storable(body)
    except RecursionError:  # decodable, but deeper than this walk's stack allows
        return _error("The body's JSON is nested too deeply.")
    if not storable:
        return _error(
            "The body contains a NUL character or a lone surrogate (\\u0000, \\ud800), which cannot be stored."
        )
    if request.method == "PUT":
        unknown = set(request.GET) - {"statementId"}
        if unknown or "statementId" not in request.GET:
            return _error("PUT /statements needs exactly the statementId parameter.")
        if not isinstance(body, dict):
            return _error("PUT takes a single statement (a JSON object).")
        statements_store(scope=scope, statements=[body], put_id=request.GET["statementId"])
        return _answer(None, 204)
    if request.GET:
        return _error(f"Unknown parameter(s) for POST: {', '.join(sorted(request.GET))}.")
    batch = body if isinstance(body, list) else [body]
    if not batch:
        return _error("The batch is empty.")
    if len(batch) > settings.EDUAI_MAX_EVENTS_PER_REQUEST:
        return _error(f"At most {settings.EDUAI_MAX_EVENTS_PER_REQUEST} statements per request.", 413)
    return _answer(statements_store(scope=scope, statements=batch))


def _read(request: HttpRequest, scope: ClientScope) -> HttpResponse:
    params = request.GET.dict()
    cursor = params.pop("cursor", None)
    try:
        query = selectors.StatementQuery.from_params(params)
    except ValueError as exc:
        return _error(str(exc))
    if query.statement_id or query.voided_statement_id:
        found = selectors.statement_single(scope=scope, query=query)
        if found is None:
            return _error("No such statement.", 404)
        return _answer(selectors.formatted(found, query.format))
    after = None
    if cursor:
        try:
            after = int(signing.loads(cursor, salt=_CURSOR_SALT, max_age=24 * 3600))
        except (signing.BadSignature, ValueError, TypeError):
            return _error("The 'more' cursor is invalid or expired; run the query again.")
    rows, last_pk = selectors.statements_query(scope=scope, query=query, after_pk=after)
    more = ""
    if last_pk is not None:
        more = f"{request.path}?{urlencode({**params, 'cursor': signing.dumps(last_pk, salt=_CURSOR_SALT)})}"
    response = _answer({"statements": [selectors.formatted(r, query.format) for r in rows], "more": more})
    response["X-Experience-API-Consistent-Through"] = timezone.now().isoformat(timespec="milliseconds")
    return response
