"""REST API v1 of the review loop (mounted at /api/v1/review/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("courses/<int:course_id>/queue/", views.QueueView.as_view(), name="review-api-queue"),
    path("courses/<int:course_id>/agreement/", views.CourseAgreementView.as_view(), name="review-api-course-agreement"),
    path(
        "assignments/<int:assignment_id>/agreement/",
        views.AssignmentAgreementView.as_view(),
        name="review-api-assignment-agreement",
    ),
    path("submissions/<int:submission_id>/", views.ItemView.as_view(), name="review-api-item"),
    path("submissions/<int:submission_id>/accept/", views.AcceptView.as_view(), name="review-api-accept"),
    path("submissions/<int:submission_id>/override/", views.OverrideView.as_view(), name="review-api-override"),
    path("submissions/<int:submission_id>/release/", views.ReleaseView.as_view(), name="review-api-release"),
    path("submissions/<int:submission_id>/events/", views.EventsView.as_view(), name="review-api-events"),
    path("submissions/<int:submission_id>/released/", views.ReleasedView.as_view(), name="review-api-released"),
]
