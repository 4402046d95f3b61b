"""URLs of eduai.xapi."""

urlpatterns: list = []
