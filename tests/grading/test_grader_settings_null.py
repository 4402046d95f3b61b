"""`auto_finetune` of an assignment is three-valued: on, off, or null (the deployment's
EDUAI_GRADER_AUTO_FINETUNE decides). A PATCH with null goes back to the deployment default; a PATCH
that leaves the key out leaves it as it is."""

from __future__ import annotations

import json

import pytest

from grading import services
from grading.models import GraderSettings
from tests import factories as f

BASE = "/api/v1/grading"


def _patch(client, assignment, body):
    return client.patch(
        f"{BASE}/assignments/{assignment.pk}/grader-settings/", data=json.dumps(body), content_type="application/json"
    )


@pytest.mark.django_db
def test_patch_null_resets_auto_finetune_to_the_deployment_default(world, api_as):
    assignment = f.AssignmentFactory(course=world.course)
    teacher = api_as(world.teacher)
    assert _patch(teacher, assignment, {"auto_finetune": True}).json()["auto_finetune"] is True

    response = _patch(teacher, assignment, {"auto_finetune": None})

    assert response.status_code == 200 and response.json()["auto_finetune"] is None
    assert GraderSettings.objects.get(assignment=assignment).auto_finetune is None


@pytest.mark.django_db
def test_patch_without_the_key_keeps_auto_finetune(world, api_as):
    assignment = f.AssignmentFactory(course=world.course)
    teacher = api_as(world.teacher)
    _patch(teacher, assignment, {"auto_finetune": False})

    response = _patch(teacher, assignment, {"serving": "fast"})

    assert response.status_code == 200 and response.json() == {
        "serving": "fast",
        "auto_finetune": False,
        "last_threshold": 0,
    }


@pytest.mark.django_db
def test_the_service_tells_null_from_left_out(world):
    assignment = f.AssignmentFactory(course=world.course)
    services.grader_settings_set(assignment_id=assignment.pk, auto_finetune=True)
    assert services.grader_settings_set(assignment_id=assignment.pk, serving="best").auto_finetune is True
    assert services.grader_settings_set(assignment_id=assignment.pk, auto_finetune=None).auto_finetune is None
