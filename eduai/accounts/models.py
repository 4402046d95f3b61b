"""The user model. Custom from day one so that schools' fields can be added without a swap."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    display_name = models.CharField(max_length=150, blank=True)
    # Preferred interface language ("" = follow the browser).
    language = models.CharField(max_length=10, blank=True, default="")
    # Identity in an LMS (LTI "sub" / xAPI account name) when the user came from one.
    external_id = models.CharField(max_length=255, blank=True, default="", db_index=True)

    @property
    def label(self) -> str:
        return self.display_name or self.get_full_name() or self.username
