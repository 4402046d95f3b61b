"""Pages of the review loop (mounted at /review/)."""

from django.urls import path

import eduai.converters  # noqa: F401  (registers <id:...>: 1 .. 2**63-1, else no match)

from . import views

app_name = "review"
urlpatterns = [
    path("courses/<id:course_id>/", views.queue, name="queue"),
    path("courses/<id:course_id>/agreement/", views.agreement, name="agreement"),
    path("courses/<id:course_id>/assignments/<id:assignment_id>/policy/", views.policy, name="policy"),
    path("courses/<id:course_id>/submissions/<id:submission_id>/", views.item, name="item"),
    path("courses/<id:course_id>/submissions/<id:submission_id>/decide/", views.decide, name="decide"),
    path("my/", views.my_grades, name="my-grades"),
    path("my/<id:submission_id>/", views.my_submission, name="my-submission"),
]
