"""Top-level URLs. Each app mounts its own ``urls.py`` (pages) and ``rest_api/v1/urls.py``."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/schema/ui/", SpectacularSwaggerView.as_view(url_name="schema"), name="schema-ui"),
    path("api/v1/", include("eduai.courses.rest_api.v1.urls")),
    path("api/v1/grading/", include("grading.rest_api.v1.urls")),
    path("api/v1/review/", include("grading.review.rest_api.v1.urls")),
    path("api/v1/assessment/", include("assessment.rest_api.v1.urls")),
    path("api/v1/recommender/", include("recommender.rest_api.v1.urls")),
    path("lti/", include("eduai.lti.urls")),
    path("xapi/", include("eduai.xapi.urls")),
    path("grading/", include("grading.urls")),
    path("review/", include("grading.review.urls")),
    path("assessment/", include("assessment.urls")),
    path("recommender/", include("recommender.urls")),
    path("dashboards/", include("eduai.dashboards.urls")),
    path("", include("eduai.web.urls")),
]
