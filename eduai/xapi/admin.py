"""Admin for xAPI: LRS clients (the secret is shown once, on creation) and stored statements."""

from django.contrib import admin, messages

from . import models, services


@admin.register(models.LrsClient)
class LrsClientAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "school", "course", "is_active", "last_used_at")
    list_filter = ("is_active", "school")
    search_fields = ("name", "key")
    raw_id_fields = ("course",)

    def get_fields(self, request, obj=None):
        return ("name", "school", "course", "is_active") if obj else ("name", "school", "course")

    def get_readonly_fields(self, request, obj=None):
        return ("key", "last_used_at") if obj else ()

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        try:
            client, secret = services.lrs_client_create(name=obj.name, school_id=obj.school_id, course_id=obj.course_id)
        except services.XapiError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return None
        obj.pk, obj.key, obj.secret_sha256 = client.pk, client.key, client.secret_sha256
        obj._state.adding = False
        self.message_user(
            request, f"Key {client.key}, secret {secret} — the secret is shown only now.", messages.WARNING
        )
        return None


@admin.register(models.CourseAlias)
class CourseAliasAdmin(admin.ModelAdmin):
    list_display = ("iri", "course")
    search_fields = ("iri", "course__code", "course__title")
    raw_id_fields = ("course",)


@admin.register(models.Statement)
class StatementAdmin(admin.ModelAdmin):
    list_display = ("statement_id", "verb_id", "course", "voided", "stored", "unmapped_reason")
    list_filter = ("voided", "school")
    search_fields = ("statement_id", "actor_ifi", "verb_id", "activity_id")
    readonly_fields = [f.name for f in models.Statement._meta.fields]

    def has_add_permission(self, request):
        return False
