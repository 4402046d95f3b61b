"""Pages of the review loop (mounted at /review/)."""

from django.urls import path

from . import views

app_name = "review"
urlpatterns = [
    path("courses/<int:course_id>/", views.queue, name="queue"),
    path("courses/<int:course_id>/agreement/", views.agreement, name="agreement"),
    path("courses/<int:course_id>/assignments/<int:assignment_id>/policy/", views.policy, name="policy"),
    path("courses/<int:course_id>/submissions/<int:submission_id>/", views.item, name="item"),
    path("courses/<int:course_id>/submissions/<int:submission_id>/decide/", views.decide, name="decide"),
    path("my/", views.my_grades, name="my-grades"),
    path("my/<int:submission_id>/", views.my_submission, name="my-submission"),
]
