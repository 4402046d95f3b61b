"""API error handling: every refusal is a 4xx JSON body with a message a person can act on.

- model-level ``ValidationError`` (raised by services) -> 400 with the field messages;
- a missing object -> 404 with the same body whatever the model (nothing about what was
  looked up leaks);
- a body that is not UTF-8 -> 400;
- a JSON body nested deeper than Python's decoder goes (about a thousand levels; DRF's parser
  only turns ValueError into a 400) -> 400;
- a write that breaks a database constraint (a race past the services' own checks, e.g. two
  courses with one code created at the same instant) -> 409; the transaction rolled back, so
  nothing was stored.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, ObjectDoesNotExist | Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, UnicodeDecodeError):
        return Response({"detail": "Request body must be valid UTF-8."}, status=status.HTTP_400_BAD_REQUEST)
    elif isinstance(exc, RecursionError) and "decoding a JSON" in str(exc):
        return Response({"detail": "The JSON body is nested too deeply."}, status=status.HTTP_400_BAD_REQUEST)
    elif isinstance(exc, IntegrityError):
        return Response(
            {"detail": "This conflicts with data stored meanwhile (for example a duplicate name); nothing was saved."},
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)
