"""The knowledge-tracing model registry over REST (GET /api/v1/assessment/models/) says nothing of
where a model's files are on the server: no API user needs that (as grading's registry); the
Django admin still shows it to operators."""

from __future__ import annotations

from assessment.models import KTModelVersion
from tests import factories as f

URL = "/api/v1/assessment/models/"


def test_the_registry_answer_has_no_artefact_path(api_as, world):
    KTModelVersion.objects.create(
        school=world.school, method="deep", version=3, status="active", artefact_path="assessment/school-1/deep-v3"
    )
    rows = api_as(world.admin).get(URL).json()
    assert [(r["method"], r["version"], r["status"]) for r in rows] == [("deep", 3, "active")]
    assert "artefact_path" not in rows[0] and "assessment/school-1" not in str(rows)


def test_the_django_admin_still_shows_it(client, world):
    version = KTModelVersion.objects.create(
        school=world.school, method="deep", version=3, status="active", artefact_path="assessment/school-1/deep-v3"
    )
    client.force_login(f.UserFactory(username="root", is_superuser=True, is_staff=True))
    page = client.get(f"/admin/assessment/ktmodelversion/{version.pk}/change/")
    assert page.status_code == 200 and "assessment/school-1/deep-v3" in page.content.decode()
