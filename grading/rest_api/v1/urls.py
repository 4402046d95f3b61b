"""REST API v1 of grading."""

urlpatterns: list = []
