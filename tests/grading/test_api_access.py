"""Grading's REST API and admin: what staff may see of the model registry, what an archived
course still allows, and the admin's train-now actions going through the minimum-essays check."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from grading import conf, services
from grading.models import GraderSettings, GradingModel, ModelStatus, TeacherGrade
from tests import factories as f

BASE = "/api/v1/grading"
pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    calls: list[dict] = []
    monkeypatch.setattr(services, "training_enqueue", lambda **kw: calls.append(kw))
    return calls


@pytest.fixture
def registry(world, make_graded, tmp_path):
    """An assignment with enough teacher grades to train, and a fine-tuned model trained on an
    encoder in a server folder."""
    assignment = f.AssignmentFactory(course=world.course)
    make_graded(assignment, conf.MIN_TRAINING_ESSAYS, author=world.other_student)
    model = GradingModel.objects.create(
        assignment=assignment,
        version=1,
        method="finetune",
        status=ModelStatus.READY,
        is_active=True,
        artefact="assignment-1/v0001-finetune",
        base_model=str(tmp_path / "srv" / "encoders" / "all-MiniLM-L6-v2"),
        val_qwk=0.7,
    )
    return assignment, model


# --- model files are server internals ---------------------------------------------------------


@pytest.mark.parametrize("who", ["ta", "teacher", "admin"])
def test_the_model_list_shows_no_server_paths(world, api_as, registry, who, tmp_path):
    assignment, _model = registry
    body = api_as(getattr(world, who)).get(f"{BASE}/assignments/{assignment.pk}/models/").json()
    assert body[0]["version"] == 1 and body[0]["method"] == "finetune"
    assert "artefact" not in body[0]
    # the base model is named, not located
    assert body[0]["base_model"] == "all-MiniLM-L6-v2"
    assert str(tmp_path) not in str(body)


def test_a_failed_runs_reason_names_files_without_their_folders(world, api_as, registry, tmp_path):
    assignment, _model = registry
    # a folder with a space in it: the quoted path is scrubbed up to its closing quote
    folder = tmp_path / "edu ai" / "models" / ".tmp" / "a1-v2-x" / "artefact"
    GradingModel.objects.create(
        assignment=assignment,
        version=2,
        method="fast",
        status=ModelStatus.FAILED,
        failure_reason=f"OSError: [Errno 28] No space left on device: '{folder}/weights.npz' (see https://x.org/a/b)",
    )
    body = api_as(world.ta).get(f"{BASE}/assignments/{assignment.pk}/models/").json()
    assert body[0]["failure_reason"] == (
        "OSError: [Errno 28] No space left on device: 'weights.npz' (see https://x.org/a/b)"
    )


def test_rolling_back_answers_without_server_paths_either(world, api_as, registry, tmp_path):
    _assignment, model = registry
    body = api_as(world.admin).post(f"{BASE}/models/{model.pk}/activate/").json()
    assert body["is_active"] and "artefact" not in body and str(tmp_path) not in str(body)


# --- an archived course ---------------------------------------------------------------------


def _archive(course) -> None:
    course.is_active = False
    course.save(update_fields=["is_active"])


def test_an_archived_courses_grades_and_models_are_read_only_but_for_school_admins(
    world, api_as, registry, queued, monkeypatch
):
    monkeypatch.setattr(services, "training_thresholds_check", lambda **kw: [])
    assignment, _model = registry
    submission = f.SubmissionFactory(assignment=assignment, author=world.student)
    _archive(world.course)
    teacher = api_as(world.teacher)
    # staff still read the registry, the settings and a grade
    assert teacher.get(f"{BASE}/assignments/{assignment.pk}/models/").status_code == 200
    assert api_as(world.ta).get(f"{BASE}/assignments/{assignment.pk}/grader-settings/").status_code == 200
    # but change nothing
    for response in (
        teacher.post(f"{BASE}/assignments/{assignment.pk}/train/", {"method": "fast"}, format="json"),
        teacher.patch(f"{BASE}/assignments/{assignment.pk}/grader-settings/", {"serving": "fast"}, format="json"),
        api_as(world.ta).post(f"{BASE}/submissions/{submission.pk}/teacher-grade/", {"score": 3}, format="json"),
    ):
        assert response.status_code == 403 and "archived" in response.json()["detail"]
    assert queued == [] and not TeacherGrade.objects.filter(submission=submission).exists()
    assert not GraderSettings.objects.filter(assignment=assignment, serving="fast").exists()
    # the school admin still may
    admin = api_as(world.admin)
    assert (
        admin.post(f"{BASE}/submissions/{submission.pk}/teacher-grade/", {"score": 3}, format="json").status_code == 201
    )
    assert (
        admin.post(f"{BASE}/assignments/{assignment.pk}/train/", {"method": "fast"}, format="json").status_code == 202
    )
    assert len(queued) == 1


# --- admin actions: the same minimum as the API -----------------------------------------------


@pytest.fixture
def superuser_client(client):
    client.force_login(f.UserFactory(username="root", is_superuser=True, is_staff=True))
    return client


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def test_admin_train_now_refuses_assignments_below_the_minimum_and_queues_the_others(
    world, superuser_client, registry, queued
):
    ready, ready_model = registry
    short = f.AssignmentFactory(course=world.course, title="Too few grades")
    short_model = GradingModel.objects.create(assignment=short, version=1, method="fast", status=ModelStatus.FAILED)
    response = superuser_client.post(
        "/admin/grading/gradingmodel/",
        {"action": "train_fast_now", "_selected_action": [ready_model.pk, short_model.pk]},
    )
    assert response.status_code == 302
    assert [(q["assignment_id"], q["method"], q["trigger"]) for q in queued] == [(ready.pk, "fast", "admin")]
    shown = _messages(response)
    assert ("success", "Queued fast training for 1 assignment(s).") in shown
    refusals = [text for level, text in shown if level == "error"]
    assert len(refusals) == 1
    assert "Too few grades" in refusals[0] and f"at least {conf.MIN_TRAINING_ESSAYS}" in refusals[0]


def test_grader_settings_train_now_goes_through_the_same_check(world, superuser_client, registry, queued):
    ready, _model = registry
    short = f.AssignmentFactory(course=world.course, title="Too few grades")
    rows = [GraderSettings.objects.create(assignment=a) for a in (ready, short)]
    response = superuser_client.post(
        "/admin/grading/gradersettings/", {"action": "train_fast_now", "_selected_action": [r.pk for r in rows]}
    )
    assert response.status_code == 302
    assert [q["assignment_id"] for q in queued] == [ready.pk]
    shown = _messages(response)
    assert ("success", "Queued fast training for 1 assignment(s).") in shown
    assert any(level == "error" and "Too few grades" in text for level, text in shown)


def test_admin_train_now_with_nothing_trainable_queues_nothing(world, superuser_client, queued):
    short = f.AssignmentFactory(course=world.course, title="Too few grades")
    model = GradingModel.objects.create(assignment=short, version=1, method="fast", status=ModelStatus.FAILED)
    response = superuser_client.post(
        "/admin/grading/gradingmodel/", {"action": "train_finetune_now", "_selected_action": [model.pk]}
    )
    assert queued == []
    shown = _messages(response)
    assert [level for level, _text in shown] == ["error"]
