from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*(BaseUserAdmin.fieldsets or ()), ("EduAI", {"fields": ("display_name", "language", "external_id")}))
    list_display = ("username", "display_name", "email", "is_staff")
    search_fields = ("username", "display_name", "email", "external_id")
