"""REST API v1 of grading, mounted at /api/v1/grading/ (see ``views`` for the access rules)."""

from django.urls import path

from eduai.converters import IdRouter

from . import views

router = IdRouter()
router.register("predictions", views.PredictionViewSet, basename="grading-prediction")

urlpatterns = [
    path("assignments/<id:assignment_id>/models/", views.AssignmentModelsView.as_view(), name="grading-models"),
    path("assignments/<id:assignment_id>/train/", views.TrainNowView.as_view(), name="grading-train"),
    path(
        "assignments/<id:assignment_id>/grader-settings/", views.GraderSettingsView.as_view(), name="grading-settings"
    ),
    path("models/<id:model_id>/activate/", views.ActivateModelView.as_view(), name="grading-model-activate"),
    path(
        "submissions/<id:submission_id>/teacher-grade/", views.TeacherGradeView.as_view(), name="grading-teacher-grade"
    ),
    *router.urls,
]
