from django.contrib import admin

from . import models


@admin.register(models.ResourceOverride)
class ResourceOverrideAdmin(admin.ModelAdmin):
    list_display = ("resource", "course", "action", "created_by", "created_at")
    list_filter = ("action",)
    raw_id_fields = ("course", "resource", "created_by")


@admin.register(models.Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ("id", "course", "student", "status", "top_score", "created_at")
    list_filter = ("status", "language")
    search_fields = ("text",)
    raw_id_fields = ("course", "student", "resolved_by")
    readonly_fields = ("answer", "top_score", "created_at")


@admin.register(models.RecommendationSet)
class RecommendationSetAdmin(admin.ModelAdmin):
    list_display = ("student", "course", "computed_at", "stale_since", "cold_start")
    raw_id_fields = ("student", "course")
    readonly_fields = ("items",)


@admin.register(models.ResourceIndex)
class ResourceIndexAdmin(admin.ModelAdmin):
    list_display = ("resource", "course", "language", "encoder", "passage_count", "indexed_at")
    list_filter = ("language", "encoder")
    raw_id_fields = ("resource", "course")
    exclude = ("vector",)


@admin.register(models.CourseProfile)
class CourseProfileAdmin(admin.ModelAdmin):
    list_display = ("course", "computed_at")
    raw_id_fields = ("course",)
