"""REST API v1 of the review loop (mounted at /api/v1/review/)."""

from django.urls import path

import eduai.converters  # noqa: F401  (registers <id:...>: 1 .. 2**63-1, else no match)

from . import views

urlpatterns = [
    path("courses/<id:course_id>/queue/", views.QueueView.as_view(), name="review-api-queue"),
    path("courses/<id:course_id>/agreement/", views.CourseAgreementView.as_view(), name="review-api-course-agreement"),
    path(
        "assignments/<id:assignment_id>/agreement/",
        views.AssignmentAgreementView.as_view(),
        name="review-api-assignment-agreement",
    ),
    path("submissions/<id:submission_id>/", views.ItemView.as_view(), name="review-api-item"),
    path("submissions/<id:submission_id>/accept/", views.AcceptView.as_view(), name="review-api-accept"),
    path("submissions/<id:submission_id>/override/", views.OverrideView.as_view(), name="review-api-override"),
    path("submissions/<id:submission_id>/release/", views.ReleaseView.as_view(), name="review-api-release"),
    path("submissions/<id:submission_id>/events/", views.EventsView.as_view(), name="review-api-events"),
    path("submissions/<id:submission_id>/released/", views.ReleasedView.as_view(), name="review-api-released"),
]
