"""Translatable display labels for values the core models store as plain codes.

The core models' choice labels are not marked for translation (changing them would need a
migration in an app the pages do not own), so the pages translate the codes here.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _

ROLE_LABELS = {
    "admin": _("School admin"),
    "teacher": _("Teacher"),
    "ta": _("Teaching assistant"),
    "student": _("Student"),
}

SUBMISSION_STATUS_LABELS = {
    "received": _("Received"),
    "scoring": _("Being scored"),
    "scored": _("Suggested score ready"),
    "reviewed": _("Reviewed"),
    "released": _("Graded"),
    "failed": _("Scoring failed"),
}

ASSIGNMENT_KIND_LABELS = {
    "essay": _("Essay"),
    "short_answer": _("Short answer"),
}

RESOURCE_KIND_LABELS = {
    "reading": _("Reading"),
    "video": _("Video"),
    "example": _("Worked example"),
    "exercise_set": _("Exercise set"),
    "link": _("Link"),
}


def label(mapping: Mapping[str, object], code: str) -> str:
    """The translated label for ``code``, or the code itself for values added later."""
    return str(mapping.get(code, code))
