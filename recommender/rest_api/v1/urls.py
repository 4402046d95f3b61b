"""REST API v1 of recommender."""

urlpatterns: list = []
