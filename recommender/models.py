"""Models of the recommender: the search index of a course's resources, the per-student cache
of recommendations, teachers' pins and hides, and the questions students ask.

Contract:
- ``Passage`` and ``ResourceIndex`` are derived data: they can be dropped and rebuilt from the
  ``LearningResource`` rows at any time (``services.course_index``). Vectors are float32,
  L2-normalised, stored as raw bytes (384 dims x 4 bytes = 1.5 KiB per passage for MiniLM).
- ``RecommendationSet`` is a cache. The source of truth is mastery (assessment), activity and
  grades; a stale or missing set is recomputed, and serving always re-checks hides and
  deletions so a cached list can never show a hidden or deleted resource.
- ``Question`` rows belong to one student in one course; only that student and the course's
  staff may read them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from eduai.courses.models import Course, LearningResource


class ResourceIndex(models.Model):
    """Which version of a resource's text the passages and vector were built from."""

    resource = models.OneToOneField(LearningResource, on_delete=models.CASCADE, related_name="recommender_index")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    # sha256 of title + body + language: a changed resource gets re-indexed, an unchanged one never.
    content_hash = models.CharField(max_length=64)
    # Mean of the passage vectors (L2-normalised); empty when no encoder serves the language.
    vector = models.BinaryField(blank=True, default=b"")
    encoder = models.CharField(max_length=200, blank=True, default="")
    language = models.CharField(max_length=10, default="en")
    passage_count = models.PositiveIntegerField(default=0)
    indexed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["course", "indexed_at"])]

    def __str__(self) -> str:
        return f"index of resource {self.resource_id}"


class Passage(models.Model):
    """A few sentences of one resource: the unit that 'ask the course' returns."""

    resource = models.ForeignKey(LearningResource, on_delete=models.CASCADE, related_name="recommender_passages")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    text = models.TextField()
    language = models.CharField(max_length=10, default="en")
    # Lexical terms (already segmented: jieba for Chinese), so a query never re-segments the corpus.
    terms = models.JSONField(default=list)
    vector = models.BinaryField(blank=True, default=b"")
    # One vector per sentence (retrieval.sentence_spans order), for highlighting the answering
    # sentence without running the encoder at question time: ~5 x 1.5 KiB per passage.
    sentence_vectors = models.BinaryField(blank=True, default=b"")

    class Meta:
        ordering = ["resource_id", "position"]
        constraints = [models.UniqueConstraint(fields=["resource", "position"], name="uniq_passage_position")]
        indexes = [models.Index(fields=["course"])]

    def __str__(self) -> str:
        return f"passage {self.position} of resource {self.resource_id}"


class OverrideAction(models.TextChoices):
    PIN = "pin", _("Pinned")
    HIDE = "hide", _("Hidden")


class ResourceOverride(models.Model):
    """A teacher's decision about one resource in their course: always show it, or never."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    resource = models.ForeignKey(LearningResource, on_delete=models.CASCADE, related_name="recommender_overrides")
    action = models.CharField(max_length=8, choices=OverrideAction.choices)
    note = models.CharField(max_length=300, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["course", "resource"], name="uniq_override_per_resource"),
            models.CheckConstraint(condition=Q(action__in=["pin", "hide"]), name="override_action_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.action} resource {self.resource_id} in course {self.course_id}"


class RecommendationSet(models.Model):
    """The cached, ranked list for one student in one course.

    An activity or grading event sets ``dirty_at`` (always) and ``stale_since`` (if unset; only
    then is a refresh scheduled: the debounce). A refresh clears ``stale_since`` only if no
    event came after it started (``dirty_at <= started``); otherwise it schedules itself again,
    so an event that lands during a refresh is never lost.
    """

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    items = models.JSONField(default=list)
    cold_start = models.BooleanField(default=False)
    computed_at = models.DateTimeField(null=True, blank=True)
    # First event not yet reflected (null = fresh) and the latest event seen.
    stale_since = models.DateTimeField(null=True, blank=True)
    dirty_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["student", "course"], name="uniq_recommendations_per_student")]
        indexes = [models.Index(fields=["course", "stale_since"])]

    def __str__(self) -> str:
        return f"recommendations of {self.student_id} in {self.course_id}"


class CourseProfile(models.Model):
    """Course-level signals shared by every student's ranking: 'what helped similar students'
    (collaborative filtering over implicit feedback) and popularity. Rebuilt by the batch refresh."""

    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="+")
    data = models.JSONField(default=dict)
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"profile of course {self.course_id}"


class QuestionStatus(models.TextChoices):
    ANSWERED = "answered", _("Answered from the course")
    NOT_FOUND = "not_found", _("Not found in the course")
    SENT = "sent", _("Sent to the teacher")
    RESOLVED = "resolved", _("Resolved by the teacher")


class Question(models.Model):
    """A student's question, what EduAI answered, and whether a teacher must look at it."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(max_length=2000)
    language = models.CharField(max_length=10, default="en")
    status = models.CharField(max_length=16, choices=QuestionStatus.choices)
    # Fused relevance of the best passage in [0, 1]; below settings' threshold means "not found".
    top_score = models.FloatField(default=0.0)
    # The passages shown (ids, resource ids, highlighted sentence, scores) as the student saw them.
    answer = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    teacher_reply = models.TextField(blank=True, default="", max_length=5000)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["answered", "not_found", "sent", "resolved"]), name="question_status_valid"
            )
        ]
        indexes = [models.Index(fields=["course", "status", "created_at"]), models.Index(fields=["student", "course"])]

    def __str__(self) -> str:
        return f"question {self.pk} in course {self.course_id}"
