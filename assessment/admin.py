"""Admin: read-mostly views of the registry, mastery and evidence (writes go through services)."""

from django.contrib import admin

from .models import Evidence, KTModelVersion, Mastery, StudentKTState


@admin.register(KTModelVersion)
class KTModelVersionAdmin(admin.ModelAdmin):
    list_display = (
        "school",
        "method",
        "version",
        "status",
        "valid_auc",
        "baseline_auc",
        "n_train_students",
        "created_at",
    )
    list_filter = ("method", "status", "school")
    readonly_fields = [f.name for f in KTModelVersion._meta.fields]


@admin.register(Mastery)
class MasteryAdmin(admin.ModelAdmin):
    list_display = ("student", "course", "skill", "p", "trend", "n_evidence", "method", "as_of")
    list_filter = ("course", "method")
    readonly_fields = [f.name for f in Mastery._meta.fields]


@admin.register(Evidence)
class EvidenceAdmin(admin.ModelAdmin):
    list_display = ("student", "course", "kind", "item_key", "credit", "occurred_at")
    list_filter = ("kind", "course")
    readonly_fields = [f.name for f in Evidence._meta.fields]


@admin.register(StudentKTState)
class StudentKTStateAdmin(admin.ModelAdmin):
    list_display = ("student", "course", "model_version", "n_evidence", "last_occurred_at", "updated_at")
    readonly_fields = [f.name for f in StudentKTState._meta.fields]
