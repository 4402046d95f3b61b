"""REST API v1 of assessment, mounted at /api/v1/assessment/ (eduai/urls.py)."""

from django.urls import path

import eduai.converters  # noqa: F401  (registers <id:...>: 1 .. 2**63-1, else no match)

from . import views

urlpatterns = [
    path(
        "courses/<id:course_id>/students/<id:student_id>/mastery/",
        views.StudentMasteryView.as_view(),
        name="assessment-student-mastery",
    ),
    path(
        "courses/<id:course_id>/students/<id:student_id>/mastery/history/",
        views.StudentMasteryHistoryView.as_view(),
        name="assessment-student-mastery-history",
    ),
    path(
        "courses/<id:course_id>/mastery-distribution/",
        views.CourseDistributionView.as_view(),
        name="assessment-course-distribution",
    ),
    path("courses/<id:course_id>/at-risk/", views.AtRiskView.as_view(), name="assessment-at-risk"),
    path(
        "assignments/<id:assignment_id>/learning-gain/",
        views.LearningGainView.as_view(),
        name="assessment-learning-gain",
    ),
    path(
        "students/<id:student_id>/predicted-success/",
        views.PredictedSuccessView.as_view(),
        name="assessment-predicted-success",
    ),
    path("models/", views.ModelRegistryView.as_view(), name="assessment-models"),
]
