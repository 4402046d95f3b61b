"""Admin for LTI: platform registrations (with deployments), tool keys (rotation actions),
dynamic-registration invites, and the AGS outbox (retry action)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse

from . import keys, models, services


class DeploymentInline(admin.TabularInline):
    model = models.Deployment
    extra = 1


@admin.register(models.Platform)
class PlatformAdmin(admin.ModelAdmin):
    list_display = ("name", "issuer", "client_id", "school", "origin", "is_active")
    list_filter = ("is_active", "origin", "school")
    search_fields = ("name", "issuer", "client_id")
    readonly_fields = ("origin", "product_family_code", "created_at")
    inlines = [DeploymentInline]


@admin.register(models.ToolKey)
class ToolKeyAdmin(admin.ModelAdmin):
    list_display = ("kid", "status", "created_at", "activated_at", "retired_at")
    list_filter = ("status",)
    fields = ("kid", "status", "public_key_pem", "created_at", "activated_at", "retired_at")
    readonly_fields = fields
    actions = ["stage_next", "promote_next", "retire_previous"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Rotation 1/3: publish a next key")
    def stage_next(self, request, queryset):
        key = keys.tool_key_stage()
        self.message_user(request, f"Key {key.kid} is published and will sign after 'promote'.")

    @admin.action(description="Rotation 2/3: sign with the next key")
    def promote_next(self, request, queryset):
        key = keys.tool_key_promote()
        self.message_user(request, f"Key {key.kid} now signs; the old key stays published.")

    @admin.action(description="Rotation 3/3: stop publishing previous keys")
    def retire_previous(self, request, queryset):
        n = keys.tool_key_retire_previous()
        self.message_user(request, f"{n} previous key(s) retired.")


@admin.register(models.RegistrationInvite)
class RegistrationInviteAdmin(admin.ModelAdmin):
    list_display = ("name", "school", "expires_at", "used_at", "platform")
    fields = ("school", "name")
    readonly_fields = ("platform",)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        invite, token = services.invite_create(school_id=obj.school_id, name=obj.name, created_by_id=request.user.pk)
        obj.pk, obj.token_hash, obj.expires_at, obj.created_by_id = (
            invite.pk,
            invite.token_hash,
            invite.expires_at,
            invite.created_by_id,
        )
        obj._state.adding = False
        url = request.build_absolute_uri(reverse("lti:register", kwargs={"token": token}))
        self.message_user(
            request,
            f"Give this dynamic-registration URL to the LMS admin (shown once, valid 7 days): {url}",
            messages.WARNING,
        )
        return None


@admin.register(models.LtiContext)
class LtiContextAdmin(admin.ModelAdmin):
    list_display = ("context_id", "title", "platform", "course", "roster_synced_at")
    list_filter = ("platform",)
    search_fields = ("context_id", "title", "label")
    raw_id_fields = ("course",)
    actions = ["sync_roster"]

    @admin.action(description="Sync the roster now (NRPS)")
    def sync_roster(self, request, queryset):
        from .tasks import sync_roster

        with_nrps = queryset.exclude(memberships_url="")
        archived = with_nrps.filter(course__is_active=False).count()
        for ctx in with_nrps.filter(course__is_active=True):
            sync_roster.delay(ctx.pk)
        note = f" {archived} archived course(s) skipped: their roster is frozen." if archived else ""
        self.message_user(request, "Roster sync queued." + note)


@admin.register(models.LtiUser)
class LtiUserAdmin(admin.ModelAdmin):
    list_display = ("sub", "platform", "user")
    list_filter = ("platform",)
    search_fields = ("sub", "user__username", "user__email")
    raw_id_fields = ("user",)


@admin.register(models.ResourceLink)
class ResourceLinkAdmin(admin.ModelAdmin):
    list_display = ("resource_link_id", "title", "context", "assignment")
    raw_id_fields = ("assignment",)


@admin.register(models.LineItem)
class LineItemAdmin(admin.ModelAdmin):
    list_display = ("url", "context", "assignment", "score_maximum")
    raw_id_fields = ("assignment",)


@admin.register(models.GradeOutbox)
class GradeOutboxAdmin(admin.ModelAdmin):
    list_display = ("id", "submission", "grading_progress", "score_given", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "grading_progress")
    readonly_fields = [f.name for f in models.GradeOutbox._meta.fields]
    actions = ["retry_now"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry now")
    def retry_now(self, request, queryset):
        from .tasks import send_outbox

        ids = list(queryset.values_list("pk", flat=True))
        n = services.outbox_retry(outbox_ids=ids)
        send_outbox.delay(ids)
        self.message_user(request, f"{n} row(s) queued again.")
