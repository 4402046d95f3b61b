"""URLs of eduai.lti."""

urlpatterns: list = []
