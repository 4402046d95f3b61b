"""The LMS domain every EduAI app builds on.

Models hold fields, constraints and small derived properties; writes go through
``services.py`` and reads through ``selectors.py``. Constraints that the database can check
are declared here so that no code path (admin, shell, bulk load) can break them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class School(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SchoolMembership(models.Model):
    """A person's place in a school. ``is_admin`` makes them a school admin (sees all courses)."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="school_memberships")
    is_admin = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "user"], name="uniq_school_membership")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.school}{' (admin)' if self.is_admin else ''}"


class Course(models.Model):
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="courses")
    code = models.CharField(max_length=50)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=20000)
    # Main language of the course's text ("en", "zh"): picks the text pipeline by default.
    language = models.CharField(max_length=10, default="en")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["school_id", "code"]
        constraints = [models.UniqueConstraint(fields=["school", "code"], name="uniq_course_code_per_school")]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Role(models.TextChoices):
    STUDENT = "student", "Student"
    TEACHER = "teacher", "Teacher"
    TA = "ta", "Teaching assistant"


STAFF_ROLES = (Role.TEACHER, Role.TA)


class Enrollment(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT)
    # Optional subgroup attribute used only for fairness reporting (e.g. language background).
    language_background = models.CharField(max_length=50, blank=True, default="")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "user"], name="uniq_enrollment_per_course"),
            models.CheckConstraint(condition=Q(role__in=[r.value for r in Role]), name="enrollment_role_valid"),
        ]
        indexes = [models.Index(fields=["user", "role"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.course} as {self.role}"


class Skill(models.Model):
    """A knowledge component. Prerequisites form a directed graph within a course."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="skills")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    prerequisites = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="unlocks")

    class Meta:
        ordering = ["course_id", "name"]
        constraints = [models.UniqueConstraint(fields=["course", "name"], name="uniq_skill_name_per_course")]

    def __str__(self) -> str:
        return self.name


class AssignmentKind(models.TextChoices):
    ESSAY = "essay", "Essay"
    SHORT_ANSWER = "short_answer", "Short answer"


class ReleasePolicy(models.TextChoices):
    REVIEW_ALL = "review_all", "Review all"
    AUTO_RELEASE_CONFIDENT = "auto_release_confident", "Auto-release confident"


class Assignment(models.Model):
    """An essay or short-answer task with its rubric (integer score range and optional traits)."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="assignments")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=AssignmentKind.choices, default=AssignmentKind.ESSAY)
    prompt = models.TextField(max_length=20000)
    min_score = models.IntegerField(default=0)
    max_score = models.IntegerField(default=6)
    skills = models.ManyToManyField(Skill, blank=True, related_name="assignments")
    due_at = models.DateTimeField(null=True, blank=True)
    language = models.CharField(max_length=10, blank=True, default="", help_text="Blank: the course's language.")
    release_policy = models.CharField(max_length=32, choices=ReleasePolicy.choices, default=ReleasePolicy.REVIEW_ALL)
    # Auto-release only when the interval is at most this wide (rubric points) ...
    auto_release_max_interval = models.FloatField(default=1.0)
    # ... and the serving model's validated QWK is at least this.
    auto_release_min_qwk = models.FloatField(default=0.7)
    is_published = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course_id", "due_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(max_score__gt=F("min_score")), name="assignment_score_range_valid"),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in AssignmentKind]), name="assignment_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def text_language(self) -> str:
        return self.language or self.course.language


class RubricTrait(models.Model):
    """A named analytic trait of an assignment's rubric with its own integer range."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="traits")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=5000)
    min_score = models.IntegerField(default=0)
    max_score = models.IntegerField(default=4)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["assignment_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "name"], name="uniq_trait_name_per_assignment"),
            models.CheckConstraint(condition=Q(max_score__gt=F("min_score")), name="trait_score_range_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.assignment}: {self.name}"


class SubmissionStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    SCORING = "scoring", "Scoring"
    SCORED = "scored", "Scored"
    REVIEWED = "reviewed", "Reviewed"
    RELEASED = "released", "Released"
    FAILED = "failed", "Failed"


class Submission(models.Model):
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="submissions")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    text = models.TextField()
    attempt = models.PositiveIntegerField(default=1)
    language = models.CharField(max_length=10, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=SubmissionStatus.choices, default=SubmissionStatus.RECEIVED, db_index=True
    )
    status_reason = models.CharField(max_length=500, blank=True, default="")
    submitted_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Grade of record (the teacher's, or an auto-released model score). Null until graded.
    final_score = models.IntegerField(null=True, blank=True)
    # Where the submission came from when not typed into EduAI ("api", "lti", "import", ...).
    source = models.CharField(max_length=20, default="api")

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "author", "attempt"], name="uniq_submission_attempt"),
            models.CheckConstraint(condition=Q(attempt__gte=1), name="submission_attempt_positive"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in SubmissionStatus]), name="submission_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["assignment", "status"])]

    def __str__(self) -> str:
        return f"Submission {self.pk} by {self.author} for {self.assignment}"


class PracticeItem(models.Model):
    """An exercise a student answers right or wrong; responses are evidence for its skills."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="practice_items")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, max_length=20000)
    answer = models.CharField(max_length=500, blank=True, default="")
    skills = models.ManyToManyField(Skill, blank=True, related_name="practice_items")
    # Author's difficulty estimate in [0, 1]; the knowledge-tracing model learns its own.
    difficulty = models.FloatField(default=0.5)
    # Stable IRI for xAPI objects; defaults to a URN built from the id.
    external_id = models.CharField(max_length=500, blank=True, default="", db_index=True)

    class Meta:
        ordering = ["course_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(difficulty__gte=0) & Q(difficulty__lte=1), name="practice_item_difficulty_unit"
            )
        ]

    def __str__(self) -> str:
        return self.title


class ResourceKind(models.TextChoices):
    READING = "reading", "Reading"
    VIDEO = "video", "Video"
    EXAMPLE = "example", "Worked example"
    EXERCISE_SET = "exercise_set", "Exercise set"
    LINK = "link", "Link"


class LearningResource(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="resources")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, max_length=200000)
    url = models.URLField(blank=True, max_length=1000)
    kind = models.CharField(max_length=16, choices=ResourceKind.choices, default=ResourceKind.READING)
    skills = models.ManyToManyField(Skill, blank=True, related_name="resources")
    difficulty = models.FloatField(default=0.5)
    language = models.CharField(max_length=10, blank=True, default="")
    is_active = models.BooleanField(default=True)
    external_id = models.CharField(max_length=500, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(difficulty__gte=0) & Q(difficulty__lte=1), name="resource_difficulty_unit"
            ),
            models.CheckConstraint(condition=Q(kind__in=[k.value for k in ResourceKind]), name="resource_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.title


class ObjectType(models.TextChoices):
    PRACTICE_ITEM = "practice_item", "Practice item"
    RESOURCE = "resource", "Learning resource"
    ASSIGNMENT = "assignment", "Assignment"
    COURSE = "course", "Course"
    QUESTION = "question", "Question asked"
    OTHER = "other", "Other"


class ActivityEvent(models.Model):
    """One learning event, shaped like an xAPI statement (actor, verb, object, result, timestamp).

    ``statement_id`` is the xAPI statement id: unique within the event's course, so a re-sent
    statement is stored once, and another course's id (another school's) neither blocks nor
    names this course's. Look an event up by (course, statement id), not by the id alone.
    ``timestamp`` is when it happened (may be earlier than ``stored_at`` for late arrivals).
    """

    statement_id = models.UUIDField(default=uuid.uuid4, editable=False)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="events")
    verb = models.CharField(max_length=300, help_text="xAPI verb IRI, e.g. http://adlnet.gov/expapi/verbs/answered")
    object_type = models.CharField(max_length=20, choices=ObjectType.choices, default=ObjectType.OTHER)
    object_iri = models.CharField(max_length=1000, blank=True, default="")
    practice_item = models.ForeignKey(
        PracticeItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    resource = models.ForeignKey(
        LearningResource, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    assignment = models.ForeignKey(Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    result_success = models.BooleanField(null=True, blank=True)
    result_completion = models.BooleanField(null=True, blank=True)
    result_score_scaled = models.FloatField(null=True, blank=True)
    result_score_raw = models.FloatField(null=True, blank=True)
    result_duration = models.DurationField(null=True, blank=True)
    result_response = models.TextField(blank=True, default="", max_length=10000)
    timestamp = models.DateTimeField(db_index=True)
    stored_at = models.DateTimeField(auto_now_add=True)
    voided = models.BooleanField(default=False)
    # The statement as received (xAPI), for audit and re-processing.
    raw = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["timestamp", "id"]
        constraints = [
            # statement_id first: its index also serves lookups by the id alone (xAPI's links).
            models.UniqueConstraint(fields=["statement_id", "course"], name="uniq_event_statement_per_course"),
            models.CheckConstraint(
                condition=Q(result_score_scaled__isnull=True)
                | (Q(result_score_scaled__gte=-1) & Q(result_score_scaled__lte=1)),
                name="event_score_scaled_range",
            ),
            models.CheckConstraint(
                condition=Q(object_type__in=[o.value for o in ObjectType]), name="event_object_type_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["course", "timestamp"]),
            models.Index(fields=["actor", "timestamp"]),
            models.Index(fields=["course", "actor", "timestamp"]),
        ]

    def __str__(self) -> str:
        return f"{self.actor} {self.verb.rsplit('/', 1)[-1]} {self.object_type}:{self.object_iri}"
