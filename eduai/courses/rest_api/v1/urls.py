"""REST API v1 of the LMS core, mounted at /api/v1/ (see ``views`` for the access rules)."""

from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token

from eduai.converters import IdRouter

from . import views

router = IdRouter()
router.register("schools", views.SchoolViewSet, basename="school")
router.register("courses", views.CourseViewSet, basename="course")
router.register("enrolments", views.EnrollmentViewSet, basename="enrolment")
router.register("skills", views.SkillViewSet, basename="skill")
router.register("assignments", views.AssignmentViewSet, basename="assignment")
router.register("submissions", views.SubmissionViewSet, basename="submission")
router.register("practice-items", views.PracticeItemViewSet, basename="practice-item")
router.register("resources", views.LearningResourceViewSet, basename="resource")
router.register("events", views.ActivityEventViewSet, basename="event")

urlpatterns = [
    # POST username + password (form or JSON) -> {"token": "..."}; send it as "Authorization: Token <key>".
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("me/", views.MeView.as_view(), name="api-me"),
    *router.urls,
]
