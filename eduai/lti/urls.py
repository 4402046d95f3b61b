"""URLs of eduai.lti (mounted at /lti/)."""

from django.urls import path

from . import views

app_name = "lti"
urlpatterns = [
    path("login/", views.oidc_login, name="login"),
    path("launch/", views.launch, name="launch"),
    path("jwks/", views.jwks, name="jwks"),
    path("deep-link/<str:launch_id>/", views.deep_link_respond, name="deep-link"),
    path("register/<str:token>/", views.dynamic_register, name="register"),
    path("canvas.json", views.canvas_config, name="canvas-config"),
]
