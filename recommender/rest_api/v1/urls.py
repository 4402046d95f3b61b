"""REST API v1 of the recommender, mounted at /api/v1/recommender/ (access rules: ``views``)."""

from django.urls import path

from . import views

urlpatterns = [
    path("courses/<int:course_id>/recommendations/", views.RecommendationsView.as_view(), name="recommender-api-list"),
    path("courses/<int:course_id>/ask/", views.AskView.as_view(), name="recommender-api-ask"),
    path("courses/<int:course_id>/questions/", views.QuestionListView.as_view(), name="recommender-api-questions"),
    path(
        "courses/<int:course_id>/questions/<int:question_id>/send/",
        views.QuestionSendView.as_view(),
        name="recommender-api-question-send",
    ),
    path(
        "courses/<int:course_id>/questions/<int:question_id>/resolve/",
        views.QuestionResolveView.as_view(),
        name="recommender-api-question-resolve",
    ),
    path("courses/<int:course_id>/overrides/", views.OverridesView.as_view(), name="recommender-api-overrides"),
]
