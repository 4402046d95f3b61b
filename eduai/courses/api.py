"""Public face of the LMS core: other apps import from here, not from models or internals."""

from . import access
from .data import AssignmentData, EventInput, RecordResult, RubricTraitData
from .selectors import (
    assignment_data,
    assignments_visible,
    enrollments_visible,
    events_visible,
    practice_items_visible,
    resources_visible,
    skills_visible,
    submissions_visible,
)
from .services import (
    MAX_SCORE_POINTS,
    activity_event_void,
    activity_events_record,
    enrollment_upsert,
    submission_create,
    submission_status_set,
)
from .signals import activity_recorded, submission_received
from .text import clean_text, detect_language, unstorable_text, without_file_paths

__all__ = [
    "MAX_SCORE_POINTS",
    "AssignmentData",
    "EventInput",
    "RecordResult",
    "RubricTraitData",
    "access",
    "activity_event_void",
    "activity_events_record",
    "activity_recorded",
    "assignment_data",
    "assignments_visible",
    "clean_text",
    "detect_language",
    "enrollment_upsert",
    "enrollments_visible",
    "events_visible",
    "practice_items_visible",
    "resources_visible",
    "skills_visible",
    "submission_create",
    "submission_received",
    "submission_status_set",
    "submissions_visible",
    "unstorable_text",
    "without_file_paths",
]
