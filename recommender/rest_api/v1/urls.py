"""REST API v1 of the recommender, mounted at /api/v1/recommender/ (access rules: ``views``)."""

from django.urls import path

import eduai.converters  # noqa: F401  (registers <id:...>: 1 .. 2**63-1, else no match)

from . import views

urlpatterns = [
    path("courses/<id:course_id>/recommendations/", views.RecommendationsView.as_view(), name="recommender-api-list"),
    path("courses/<id:course_id>/ask/", views.AskView.as_view(), name="recommender-api-ask"),
    path("courses/<id:course_id>/questions/", views.QuestionListView.as_view(), name="recommender-api-questions"),
    path(
        "courses/<id:course_id>/questions/<id:question_id>/send/",
        views.QuestionSendView.as_view(),
        name="recommender-api-question-send",
    ),
    path(
        "courses/<id:course_id>/questions/<id:question_id>/resolve/",
        views.QuestionResolveView.as_view(),
        name="recommender-api-question-resolve",
    ),
    path("courses/<id:course_id>/overrides/", views.OverridesView.as_view(), name="recommender-api-overrides"),
]
