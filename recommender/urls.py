"""Pages of recommender."""

from django.urls import path  # noqa: F401

app_name = "recommender"
urlpatterns: list = []
