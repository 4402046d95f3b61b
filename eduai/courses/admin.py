from django.contrib import admin

from . import models


class SchoolMembershipInline(admin.TabularInline):
    model = models.SchoolMembership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(models.School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [SchoolMembershipInline]


class EnrollmentInline(admin.TabularInline):
    model = models.Enrollment
    extra = 0
    raw_id_fields = ("user",)


@admin.register(models.Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "school", "language", "is_active")
    list_filter = ("school", "language", "is_active")
    search_fields = ("code", "title")
    inlines = [EnrollmentInline]


@admin.register(models.Enrollment)
class EnrollmentAdmin(admin.ModelAdmin):
    list_display = ("user", "course", "role", "is_active")
    list_filter = ("role", "course")
    search_fields = ("user__username", "course__code")
    raw_id_fields = ("user",)


@admin.register(models.Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("name", "course")
    list_filter = ("course",)
    search_fields = ("name",)
    filter_horizontal = ("prerequisites",)


class RubricTraitInline(admin.TabularInline):
    model = models.RubricTrait
    extra = 0


@admin.register(models.Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("title", "course", "kind", "min_score", "max_score", "due_at", "release_policy")
    list_filter = ("course", "kind", "release_policy")
    search_fields = ("title", "prompt")
    filter_horizontal = ("skills",)
    inlines = [RubricTraitInline]


@admin.register(models.Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("id", "assignment", "author", "attempt", "status", "final_score", "submitted_at")
    list_filter = ("status", "assignment__course", "assignment")
    search_fields = ("author__username", "text")
    raw_id_fields = ("author", "assignment")
    readonly_fields = ("submitted_at", "updated_at")


@admin.register(models.PracticeItem)
class PracticeItemAdmin(admin.ModelAdmin):
    list_display = ("title", "course", "difficulty")
    list_filter = ("course",)
    search_fields = ("title", "body")
    filter_horizontal = ("skills",)


@admin.register(models.LearningResource)
class LearningResourceAdmin(admin.ModelAdmin):
    list_display = ("title", "course", "kind", "difficulty", "is_active")
    list_filter = ("course", "kind", "is_active")
    search_fields = ("title", "body")
    filter_horizontal = ("skills",)


@admin.register(models.ActivityEvent)
class ActivityEventAdmin(admin.ModelAdmin):
    list_display = ("timestamp", "actor", "verb", "object_type", "result_success", "course", "voided")
    list_filter = ("object_type", "voided", "course")
    search_fields = ("actor__username", "object_iri", "statement_id")
    raw_id_fields = ("actor", "practice_item", "resource", "assignment")
    readonly_fields = ("statement_id", "stored_at")
