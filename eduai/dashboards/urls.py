"""Dashboard pages (mounted at /dashboards/): course, student, school, their CSVs, plotly.js."""

from django.urls import path

import eduai.converters  # noqa: F401  (registers <id:...>: 1 .. 2**63-1, else no match)

from . import views

app_name = "dashboards"
urlpatterns = [
    path("", views.index, name="index"),
    path("plotly-<str:version>.min.js", views.plotly_js, name="plotly-js"),
    path("courses/<id:course_id>/", views.course, name="course"),
    path("courses/<id:course_id>/csv/<slug:key>/", views.course_csv, name="course-csv"),
    path("courses/<id:course_id>/panel/<slug:key>/", views.course_panel, name="course-panel"),
    path("courses/<id:course_id>/me/", views.my_page, name="me"),
    path("courses/<id:course_id>/students/<id:student_id>/", views.student_page, name="student"),
    path(
        "courses/<id:course_id>/students/<id:student_id>/csv/<slug:key>/",
        views.student_csv,
        name="student-csv",
    ),
    path("schools/<id:school_id>/", views.school_page, name="school"),
    path("schools/<id:school_id>/csv/<slug:key>/", views.school_csv, name="school-csv"),
    path("schools/<id:school_id>/panel/<slug:key>/", views.school_panel, name="school-panel"),
]
