"""Pages of the recommender, mounted at /recommender/."""

from django.urls import path

from . import views

app_name = "recommender"
urlpatterns = [
    path("", views.home, name="home"),
    path("course/<int:course_id>/", views.course, name="course"),
    path("course/<int:course_id>/ask/", views.ask, name="ask"),
    path("course/<int:course_id>/questions/<int:question_id>/send/", views.send_question, name="send-question"),
    path(
        "course/<int:course_id>/questions/<int:question_id>/resolve/", views.resolve_question, name="resolve-question"
    ),
    path("course/<int:course_id>/resources/<int:resource_id>/override/", views.override, name="override"),
]
