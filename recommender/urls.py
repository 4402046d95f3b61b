"""Pages of the recommender, mounted at /recommender/."""

from django.urls import path

import eduai.converters  # noqa: F401  (registers <id:...>: 1 .. 2**63-1, else no match)

from . import views

app_name = "recommender"
urlpatterns = [
    path("", views.home, name="home"),
    path("course/<id:course_id>/", views.course, name="course"),
    path("course/<id:course_id>/ask/", views.ask, name="ask"),
    path("course/<id:course_id>/questions/<id:question_id>/send/", views.send_question, name="send-question"),
    path("course/<id:course_id>/questions/<id:question_id>/resolve/", views.resolve_question, name="resolve-question"),
    path("course/<id:course_id>/resources/<id:resource_id>/override/", views.override, name="override"),
]
