"""REST API v1 of assessment."""

urlpatterns: list = []
