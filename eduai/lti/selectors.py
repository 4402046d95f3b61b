"""Reads of the LTI tool: where a launch sends a person.

EduAI pages owned by other apps may not exist yet; each URL falls back to the course page
(with an anchor) so a launch always lands somewhere that exists.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse


def _first(candidates: list[tuple[str, dict[str, int]]]) -> str | None:
    for name, kwargs in candidates:
        try:
            return reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return None


def course_url(course_id: int) -> str:
    return reverse("course-detail", kwargs={"course_id": course_id})


def assignment_url(*, course_id: int, assignment_id: int) -> str:
    found = _first([("grading:assignment", {"assignment_id": assignment_id})])
    return found or f"{course_url(course_id)}#assignment-{assignment_id}"


def review_queue_url(*, course_id: int) -> str:
    found = _first([("review:queue", {"course_id": course_id})])
    return found or course_url(course_id)


def submission_review_url(*, course_id: int, submission_id: int) -> str:
    found = _first([("review:item", {"course_id": course_id, "submission_id": submission_id})])
    return found or f"{course_url(course_id)}#submission-{submission_id}"
