"""End to end through the real services: a student's submission is scored by the worker.

Given a course whose teacher scored a dozen essays through the API (the tenth grade crosses the
first training threshold, so grading enqueues training on the ``inference`` queue and the
worker trains the assignment's fast model), when a student obtains a token and POSTs an essay
to /api/v1/submissions/, then the ``submission_received`` signal enqueues scoring, the worker
scores it with that model, and the API shows the submission ``scored`` with the model's
proposal, which the teacher can read and the student cannot (nothing is released yet).
"""

from __future__ import annotations

import random

import pytest
from rest_framework.test import APIClient

from eduai.courses.models import Role
from tests import factories as f

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Seconds. Training loads the bundled MiniLM encoder (~90 MB) in the worker and embeds a dozen
# short essays: about 10-20 s on this 2-core machine; the bound leaves room for a busy CI box.
TRAIN_TIMEOUT_S = 240
SCORE_TIMEOUT_S = 90

_PLAIN = [
    "I like the park.",
    "The park is near my house.",
    "It is green.",
    "I go there with my dog.",
    "It is fun.",
]
_RICH = [
    "The riverside park where my grandfather taught me to fish remains the one place that steadies me.",
    "Its willows lean over the water, and in autumn their leaves drift past like small yellow boats.",
    "Because the town grew around it, the park also records our history: the old mill stones still line the path.",
    "When exams overwhelm me, walking its loop reminds me that patience, not speed, carries a long journey.",
    "Consequently, I argue that every neighbourhood deserves a shared green space protected from development.",
    "Such places teach children to notice seasons, to share benches with strangers, and to value quiet.",
    "In conclusion, the park matters to me not only for its beauty but for the person it has helped me become.",
]


def essay(score: int, rng: random.Random) -> str:
    """An essay whose length and vocabulary grow with its score (what a fast model can learn)."""
    plain = rng.sample(_PLAIN, k=min(len(_PLAIN), 2 + score // 3))
    rich = rng.sample(_RICH, k=min(len(_RICH), score))
    return " ".join(plain + rich)


def token_client(username: str) -> APIClient:
    client = APIClient()
    got = client.post("/api/v1/auth/token/", {"username": username, "password": f.DEFAULT_PASSWORD}, format="json")
    assert got.status_code == 200, got.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {got.json()['token']}")
    return client


def test_posted_submission_is_scored_by_the_worker_with_a_model_it_trained(worker, wait_until):
    rng = random.Random(20261129)
    course = f.CourseFactory(code="ENG-IT", title="English (integration)")
    teacher = f.UserFactory(username="it-teacher")
    f.EnrollmentFactory(course=course, user=teacher, role=Role.TEACHER)
    assignment = f.AssignmentFactory(course=course, title="A place", language="en", min_score=0, max_score=6)
    scores = [0, 1, 2, 3, 4, 5, 6, 0, 2, 4, 6, 3]
    graded = []
    for i, score in enumerate(scores):
        author = f.UserFactory(username=f"it-writer-{i}")
        f.EnrollmentFactory(course=course, user=author, role=Role.STUDENT)
        graded.append((f.SubmissionFactory(assignment=assignment, author=author, text=essay(score, rng)), score))
    student = f.UserFactory(username="it-student")
    f.EnrollmentFactory(course=course, user=student, role=Role.STUDENT)

    # Given the teacher grades the dozen essays through the API
    as_teacher = token_client("it-teacher")
    for submission, score in graded:
        url = f"/api/v1/grading/submissions/{submission.pk}/teacher-grade/"
        got = as_teacher.post(url, {"score": score}, format="json")
        assert got.status_code == 201, got.content

    # Then the tenth grade's training threshold makes the worker train and activate a model
    models_url = f"/api/v1/grading/assignments/{assignment.pk}/models/"

    def serving_model():
        rows = as_teacher.get(models_url).json()
        failed = [r for r in rows if r["status"] == "failed"]
        assert not failed, f"training failed in the worker: {failed}"
        return next((r for r in rows if r["is_active"] and r["status"] == "ready"), None)

    model = wait_until(serving_model, timeout=TRAIN_TIMEOUT_S, what="the worker to train a serving model")
    assert model["method"] == "fast"
    assert model["trigger"] == "threshold:10"
    assert model["n_train"] + model["n_val"] >= 10

    # When a student posts an essay with a token
    as_student = token_client("it-student")
    posted = as_student.post(
        "/api/v1/submissions/", {"assignment": assignment.pk, "text": essay(5, rng)}, format="json"
    )
    assert posted.status_code == 201, posted.content
    submission_id = posted.json()["id"]
    assert posted.json()["status"] == "received"

    # Then the worker scores it, and the student sees it scored (awaiting the teacher's review)
    def status():
        state = as_student.get(f"/api/v1/submissions/{submission_id}/").json()["status"]
        assert state != "failed", as_teacher.get(f"/api/v1/submissions/{submission_id}/").json()
        return state if state == "scored" else None

    wait_until(status, timeout=SCORE_TIMEOUT_S, what=f"submission {submission_id} to be scored by the worker")

    # And the teacher reads the model's proposal, made by the serving model, within the rubric
    predictions = as_teacher.get("/api/v1/grading/predictions/", {"submission": submission_id}).json()["results"]
    assert len(predictions) == 1
    proposal = predictions[0]
    assert proposal["model"] == model["id"]
    assert 0 <= proposal["score"] <= 6
    assert proposal["interval_low"] <= proposal["score"] <= proposal["interval_high"]

    # And the student does not see the proposal before a teacher releases a grade
    hidden = as_student.get("/api/v1/grading/predictions/", {"submission": submission_id}).json()["results"]
    assert hidden == []
