"""URLs of eduai.xapi (mounted at /xapi/). No trailing slashes: xAPI clients append
"statements" and "about" to the endpoint they are given (https://host/xapi/)."""

from django.urls import path

from . import views

app_name = "xapi"
urlpatterns = [
    path("statements", views.statements, name="statements"),
    path("about", views.about, name="about"),
]
