"""REST API v1 of the review loop (mounted at /api/v1/review/)."""

urlpatterns: list = []
