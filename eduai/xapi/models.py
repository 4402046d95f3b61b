"""xAPI (Experience API 1.0.3) statement store: the LRS-compatible subset at /xapi/.

- ``LrsClient``: one credential per LMS integration (HTTP Basic key/secret). Only a SHA-256 of
  the secret is stored; secrets are 32 random bytes, so a slow password hash buys nothing and
  would cost every statement request (PBKDF2 at 1M rounds is ~0.5 s of CPU). A client is scoped
  to a school, or to one course of that school.
- ``Statement``: every valid statement received, as stored (with ``id``, ``stored``,
  ``authority``, ``version``), so GET returns what was sent. When its actor and course map to an
  enrolled EduAI user, it also became an ``ActivityEvent`` (``event``); otherwise
  ``unmapped_reason`` says why (an LRS accepts valid statements it cannot interpret).

Each school is its own LRS: a statement id is unique within a school, not across schools. Ids
are chosen by the senders, so a global key would let one school's answer (a 409, or a silent
"already stored") tell it that another school holds an id, and let it take ids before another
school sends them. A statement's event keeps the statement's id (``ActivityEvent.statement_id``
is unique per course, so another course's event under the same id is another event); the link
is ``event``, and the event's ``raw`` keeps the statement as sent.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class LrsClient(models.Model):
    name = models.CharField(max_length=200)
    key = models.CharField(max_length=64, unique=True, help_text="The HTTP Basic user name.")
    secret_sha256 = models.CharField(max_length=64)
    school = models.ForeignKey("courses.School", on_delete=models.CASCADE, related_name="lrs_clients")
    course = models.ForeignKey(
        "courses.Course",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="lrs_clients",
        help_text="Blank: every course of the school.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class CourseAlias(models.Model):
    """An LMS's IRI for a course (Moodle ``https://moodle/course/view.php?id=5``, Open edX
    ``https://lms/course/course-v1:Org+X+2024``), so its statements' contextActivities find it."""

    iri = models.CharField(max_length=500, unique=True)
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="xapi_aliases")

    def __str__(self) -> str:
        return f"{self.iri} -> {self.course}"


class Statement(models.Model):
    statement_id = models.UUIDField()
    client = models.ForeignKey(LrsClient, null=True, on_delete=models.SET_NULL, related_name="statements")
    school = models.ForeignKey("courses.School", on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey("courses.Course", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event = models.ForeignKey(
        "courses.ActivityEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Indexed projections of the statement for the GET filters.
    actor_ifi = models.CharField(max_length=600, db_index=True)
    verb_id = models.CharField(max_length=500, db_index=True)
    activity_id = models.CharField(max_length=1000, blank=True, default="", db_index=True)
    registration = models.UUIDField(null=True, blank=True, db_index=True)
    voids = models.UUIDField(null=True, blank=True, help_text="For a voiding statement: the voided id.")
    voided = models.BooleanField(default=False)
    timestamp = models.DateTimeField()
    stored = models.DateTimeField(db_index=True)
    data = models.JSONField()
    unmapped_reason = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["stored", "id"]
        indexes = [models.Index(fields=["school", "stored"]), models.Index(fields=["school", "voids"])]
        constraints = [
            models.UniqueConstraint(fields=["school", "statement_id"], name="xapi_statement_id_per_school"),
            models.CheckConstraint(condition=~Q(voided=True, voids__isnull=False), name="xapi_voiding_not_voided"),
        ]

    def __str__(self) -> str:
        return str(self.statement_id)
