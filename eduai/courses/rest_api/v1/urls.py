"""REST API v1 of the LMS core."""

urlpatterns: list = []
