"""REST API v1 of assessment, mounted at /api/v1/assessment/ (eduai/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path(
        "courses/<int:course_id>/students/<int:student_id>/mastery/",
        views.StudentMasteryView.as_view(),
        name="assessment-student-mastery",
    ),
    path(
        "courses/<int:course_id>/students/<int:student_id>/mastery/history/",
        views.StudentMasteryHistoryView.as_view(),
        name="assessment-student-mastery-history",
    ),
    path(
        "courses/<int:course_id>/mastery-distribution/",
        views.CourseDistributionView.as_view(),
        name="assessment-course-distribution",
    ),
    path("courses/<int:course_id>/at-risk/", views.AtRiskView.as_view(), name="assessment-at-risk"),
    path(
        "assignments/<int:assignment_id>/learning-gain/",
        views.LearningGainView.as_view(),
        name="assessment-learning-gain",
    ),
    path(
        "students/<int:student_id>/predicted-success/",
        views.PredictedSuccessView.as_view(),
        name="assessment-predicted-success",
    ),
    path("models/", views.ModelRegistryView.as_view(), name="assessment-models"),
]
