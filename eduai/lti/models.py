"""LTI 1.3 Advantage data: platform registrations, the tool's own keys, and the links between
an LMS's contexts, users, resource links and line items and EduAI's courses, users and assignments.

Also the AGS outbox (``GradeOutbox``): one row per score post the platform must receive. Rows are
written in the same transaction as the decision to post, and sent by ``tasks.send_outbox``, so a
platform that is down loses nothing, and the dedupe key means one decision is posted once.

Nothing here is read by the LMS core: ``eduai.lti`` sits above ``eduai.courses`` and ``grading``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ToolKeyStatus(models.TextChoices):
    # Published in the JWKS but not yet signing, so platforms that cache our key set see it
    # before the first token signed with it arrives.
    NEXT = "next", "Next (published, not signing)"
    ACTIVE = "active", "Active (signing)"
    # Published for a while after rotation: JWTs signed with it may still be in flight.
    PREVIOUS = "previous", "Previous (published, not signing)"
    RETIRED = "retired", "Retired (not published)"


PUBLISHED_KEY_STATUSES = (ToolKeyStatus.NEXT, ToolKeyStatus.ACTIVE, ToolKeyStatus.PREVIOUS)


class ToolKey(models.Model):
    """One RSA key pair of the tool. The JWKS publishes every non-retired key; exactly one signs."""

    kid = models.CharField(max_length=100, unique=True, help_text="RFC 7638 thumbprint of the public key.")
    private_key_pem = models.TextField()
    public_key_pem = models.TextField()
    status = models.CharField(max_length=16, choices=ToolKeyStatus.choices, default=ToolKeyStatus.NEXT)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="lti_one_active_tool_key"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ToolKeyStatus]), name="lti_tool_key_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kid[:12]}… ({self.status})"


class RegistrationOrigin(models.TextChoices):
    ADMIN = "admin", "Entered in the admin"
    DYNAMIC = "dynamic", "LTI dynamic registration"


class Platform(models.Model):
    """One LMS registration: an (issuer, client id) pair and the platform's OIDC/OAuth endpoints."""

    name = models.CharField(max_length=200)
    school = models.ForeignKey(
        "courses.School",
        on_delete=models.PROTECT,
        related_name="lti_platforms",
        help_text="Courses launched from this platform are created in this school.",
    )
    issuer = models.CharField(max_length=255, help_text="The platform's 'iss' claim, exactly.")
    client_id = models.CharField(max_length=255, help_text="The client id the platform gave EduAI.")
    auth_login_url = models.URLField(max_length=500, help_text="OIDC authorisation endpoint of the platform.")
    auth_token_url = models.URLField(max_length=500, help_text="OAuth 2 token endpoint of the platform.")
    auth_audience = models.CharField(
        max_length=500, blank=True, default="", help_text="Audience for token requests, if not the token URL."
    )
    key_set_url = models.URLField(max_length=500, blank=True, default="", help_text="The platform's JWKS URL.")
    key_set = models.JSONField(
        null=True, blank=True, help_text="The platform's JWKS pasted here, only when it has no key set URL."
    )
    # Moodle, Canvas and Open edX accept gradingProgress=PendingManual; a platform that rejects it
    # gets only the final FullyGraded post.
    supports_pending_manual = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    origin = models.CharField(max_length=16, choices=RegistrationOrigin.choices, default=RegistrationOrigin.ADMIN)
    product_family_code = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["issuer", "client_id"], name="lti_platform_iss_client")]

    def __str__(self) -> str:
        return f"{self.name} ({self.issuer}, {self.client_id})"


class Deployment(models.Model):
    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="deployments")
    deployment_id = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "deployment_id"], name="lti_deployment_per_platform")
        ]

    def __str__(self) -> str:
        return f"{self.deployment_id} @ {self.platform.name}"


class RegistrationInvite(models.Model):
    """A one-time URL a school admin gives an LMS admin for LTI dynamic registration.

    Only the SHA-256 of the token is stored; the URL is shown once when the invite is created.
    """

    school = models.ForeignKey("courses.School", on_delete=models.CASCADE, related_name="lti_invites")
    name = models.CharField(max_length=200, help_text="A label for the platform to be registered.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    platform = models.ForeignKey(Platform, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({'used' if self.used_at else 'open'})"


class LtiContext(models.Model):
    """An LMS course (the 'context' claim) and the EduAI course it maps to."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="contexts")
    context_id = models.CharField(max_length=255)
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="lti_contexts")
    title = models.CharField(max_length=255, blank=True, default="")
    label = models.CharField(max_length=255, blank=True, default="")
    deployment_id = models.CharField(max_length=255, blank=True, default="")
    # Service endpoints from the latest launch (NRPS memberships, AGS line-item container).
    memberships_url = models.URLField(max_length=1000, blank=True, default="")
    lineitems_url = models.URLField(max_length=1000, blank=True, default="")
    ags_scopes = models.JSONField(default=list, blank=True)
    roster_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "context_id"], name="lti_context_per_platform")]

    def __str__(self) -> str:
        return f"{self.label or self.context_id} @ {self.platform.name}"


class LtiUser(models.Model):
    """The platform's 'sub' for a person. Users are never matched by e-mail: a platform cannot
    claim an existing EduAI account by sending its address."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="users")
    sub = models.CharField(max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lti_identities")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["platform", "sub"], name="lti_user_per_platform")]

    def __str__(self) -> str:
        return f"{self.sub} @ {self.platform.name} -> {self.user}"


class ResourceLink(models.Model):
    context = models.ForeignKey(LtiContext, on_delete=models.CASCADE, related_name="resource_links")
    resource_link_id = models.CharField(max_length=255)
    assignment = models.ForeignKey(
        "courses.Assignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="lti_resource_links"
    )
    title = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["context", "resource_link_id"], name="lti_resource_link_per_context")
        ]

    def __str__(self) -> str:
        return f"{self.title or self.resource_link_id} ({self.context})"


class LineItem(models.Model):
    """A gradebook column in the platform that receives an EduAI assignment's scores."""

    context = models.ForeignKey(LtiContext, on_delete=models.CASCADE, related_name="line_items")
    assignment = models.ForeignKey("courses.Assignment", on_delete=models.CASCADE, related_name="lti_line_items")
    url = models.URLField(max_length=1000, help_text="The line item's id (URL) at the platform.")
    score_maximum = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["context", "assignment"], name="lti_line_item_per_context_assignment")
        ]

    def __str__(self) -> str:
        return self.url


class LaunchDataRecord(models.Model):
    """Short-lived LTI login/launch data (state, nonce, validated launches): a database-backed
    ``pylti1p3`` launch-data storage, so the login and the launch may hit different processes."""

    key = models.CharField(max_length=255, unique=True)
    value = models.JSONField(null=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.key


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    SUPERSEDED = "superseded", "Superseded by a later score"
    FAILED = "failed", "Failed (gave up)"
    SKIPPED = "skipped", "Skipped (no gradebook to post to)"


class GradingProgress(models.TextChoices):
    PENDING_MANUAL = "PendingManual", "Pending manual review"
    FULLY_GRADED = "FullyGraded", "Fully graded"


class GradeOutbox(models.Model):
    """One AGS score post to make. Claimed with a conditional UPDATE before sending (no two workers
    send the same row); the ``dedupe_key`` makes a repeated decision (a signal sent twice) one row."""

    context = models.ForeignKey(LtiContext, on_delete=models.CASCADE, related_name="outbox")
    assignment = models.ForeignKey("courses.Assignment", on_delete=models.CASCADE, related_name="+")
    submission = models.ForeignKey("courses.Submission", on_delete=models.CASCADE, related_name="lti_outbox")
    lti_user = models.ForeignKey(LtiUser, on_delete=models.CASCADE, related_name="+")
    grading_progress = models.CharField(max_length=20, choices=GradingProgress.choices)
    activity_progress = models.CharField(max_length=20, default="Completed")
    score_given = models.FloatField(null=True, blank=True)
    score_maximum = models.FloatField(null=True, blank=True)
    comment = models.TextField(blank=True, default="", max_length=10000)
    # Fixed at enqueue time: the platform keeps the score with the latest timestamp, so a re-send
    # of this row after a lost acknowledgement cannot overwrite a later score.
    timestamp = models.DateTimeField()
    dedupe_key = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in OutboxStatus]), name="lti_outbox_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(grading_progress__in=[g.value for g in GradingProgress]),
                name="lti_outbox_progress_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.grading_progress} for submission {self.submission_id} ({self.status})"
