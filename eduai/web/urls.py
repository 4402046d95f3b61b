"""Site pages shared by every role: sign-in, home, course overview, resources, language."""

from django.contrib.auth import views as auth_views
from django.urls import path

import eduai.converters  # noqa: F401  (registers <id:...>: 1 .. 2**63-1, else no match)

from . import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("language/", views.language_set, name="language-set"),
    path("healthz", views.healthz, name="healthz"),
    path("courses/<id:course_id>/", views.course_detail, name="course-detail"),
    path("courses/<id:course_id>/resources/<id:resource_id>/", views.resource_detail, name="resource-detail"),
    path("", views.home, name="home"),
]
