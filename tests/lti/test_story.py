"""The whole LTI story against a simulated platform (a real HTTP server on 127.0.0.1):
instructor deep-links an assignment, a student launches and submits, the AI proposal reaches the
gradebook as PendingManual, the teacher's grade as FullyGraded — once, even when sent twice or
when the platform was down for a while."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from eduai.courses.api import submission_create
from eduai.courses.models import Assignment, Enrollment, Role
from eduai.lti.models import GradeOutbox, LtiUser, OutboxStatus
from eduai.lti.selectors import review_queue_url
from eduai.lti.services import outbox_send
from grading.signals import grade_released, proposal_ready

from .conftest import launch_id_from
from .platform import INSTRUCTOR, LEARNER, TA


def _deep_link_new_assignment(sim, client: Client) -> tuple[dict, Assignment]:
    page = sim.launch(
        client,
        sub="teacher-1",
        roles=[INSTRUCTOR],
        message_type="LtiDeepLinkingRequest",
        name="Grace Hopper",
        email="grace@example.org",
    )
    assert page.status_code == 200
    assert "Add an EduAI assignment" in page.content.decode()
    answer = client.post(
        f"/lti/deep-link/{launch_id_from(page.content.decode())}/",
        {
            "action": "create",
            "title": "Rivers essay",
            "prompt": "Describe a river you know.",
            "min_score": "0",
            "max_score": "6",
        },
    )
    assert answer.status_code == 200
    link = sim.accept_deep_link(answer.content.decode())
    return link, Assignment.objects.get(title="Rivers essay")


def _student_submits(sim, client, link, assignment, django_capture_on_commit_callbacks):
    resp = sim.launch(
        client,
        sub="student-1",
        roles=[LEARNER],
        resource_link_id=link["id"],
        custom=link["custom"],
        lineitem=link["lineitem"],
        name="Ada Lovelace",
    )
    assert resp.status_code == 302
    student = LtiUser.objects.get(sub="student-1").user
    # grading's own reaction to a new submission (scoring with a model) is not run here: the
    # test announces the proposal itself, as grading's serving code does after scoring.
    submission = submission_create(
        assignment_id=assignment.pk,
        author_id=student.pk,
        text="The river in my town floods every spring.",
        source="lti",
    )
    return resp, student, submission


def _release(django_capture_on_commit_callbacks, submission, score, teacher_id, **extra):
    with django_capture_on_commit_callbacks(execute=True):
        grade_released.send(
            sender=None,
            submission_id=submission.pk,
            assignment_id=submission.assignment_id,
            course_id=submission.assignment.course_id,
            score=score,
            released_by=teacher_id,
            **extra,
        )


def _proposal(submission, score: int):
    """A model's proposal stored as grading's scoring stores it, announced as its serving code does
    (no model is trained here: the review loop, not the model, is under test)."""
    from grading.models import GradingModel, Method, ModelStatus, Prediction
    from grading.signals import proposal_ready

    a = submission.assignment
    model = GradingModel.objects.create(
        assignment=a, version=1, method=Method.FAST, status=ModelStatus.READY, is_active=True, val_qwk=0.8,
        interval_coverage=0.9, interval_halfwidth=0.8,
        hyperparameters={"rubric": {"min_score": a.min_score, "max_score": a.max_score, "traits": []}},
    )  # fmt: skip
    prediction = Prediction.objects.create(
        submission=submission, model=model, score=score, raw_score=float(score), interval_low=score - 0.5,
        interval_high=score + 0.5, interval_coverage=0.9,
    )  # fmt: skip
    proposal_ready.send(sender=Prediction, submission_id=submission.pk, prediction_id=prediction.pk,
                        assignment_id=a.pk, course_id=a.course_id)  # fmt: skip
    return prediction


def test_instructor_deep_links_student_submits_and_grades_reach_the_gradebook_once(
    registered, django_capture_on_commit_callbacks, settings
):
    from grading.review import api as review

    # Teacher grades must not start training runs here (the grading engine's own tests do that).
    settings.EDUAI_GRADER_AUTO_TRAIN = "0"
    settings.EDUAI_REVIEW_EXPLAIN_ON_PROPOSAL = "0"
    sim = registered
    teacher_client, student_client = Client(), Client()

    # Given an instructor who picks "create an EduAI assignment" from the LMS's deep-linking dialog
    link, assignment = _deep_link_new_assignment(sim, teacher_client)
    course = assignment.course
    # then the LMS got a link carrying the assignment and a gradebook column out of 6 points
    assert link["custom"] == {"eduai_assignment_id": str(assignment.pk)}
    assert sim.lineitems[link["lineitem"]]["scoreMaximum"] == 6
    assert course.title == "English Composition" and course.school == sim.platform_row.school
    teacher = LtiUser.objects.get(sub="teacher-1").user
    assert Enrollment.objects.get(course=course, user=teacher).role == Role.TEACHER
    assert teacher.display_name == "Grace Hopper"

    # When a student launches the link, they land on the assignment, signed in
    resp, student, submission = _student_submits(
        sim, student_client, link, assignment, django_capture_on_commit_callbacks
    )
    assert resp["Location"] == f"/courses/{course.pk}/#assignment-{assignment.pk}"
    page = student_client.get(resp["Location"])
    assert page.status_code == 200 and "Rivers essay" in page.content.decode()
    assert Enrollment.objects.get(course=course, user=student).role == Role.STUDENT

    # When the AI's proposal (5/6) waits for review, the gradebook shows "pending manual grading"
    with django_capture_on_commit_callbacks(execute=True):
        prediction = _proposal(submission, 5)
    (pending,) = sim.scores_for(link["lineitem"])
    assert pending["gradingProgress"] == "PendingManual"
    assert pending["activityProgress"] == "Submitted"
    assert pending["userId"] == "student-1"
    assert "scoreGiven" not in pending  # the unreviewed AI score never reaches the student's gradebook

    # And the instructor, launching from the LMS, lands on the review queue of the course
    queue = sim.launch(teacher_client, sub="teacher-1", roles=[INSTRUCTOR], resource_link_id=link["id"],
                       custom=link["custom"])  # fmt: skip
    assert queue["Location"] == review_queue_url(course_id=course.pk)
    assert teacher_client.get(queue["Location"]).status_code == 200

    # When the teacher accepts the proposal with a comment (the review loop releases it)
    with django_capture_on_commit_callbacks(execute=True):
        review.review_accept(submission_id=submission.pk, user_id=teacher.pk, prediction_id=prediction.pk,
                             comment="Vivid; check commas.")  # fmt: skip
    scores = sim.scores_for(link["lineitem"])
    assert len(scores) == 2
    final = scores[-1]
    assert final["gradingProgress"] == "FullyGraded" and final["activityProgress"] == "Completed"
    assert (final["scoreGiven"], final["scoreMaximum"], final["userId"]) == (5, 6, "student-1")
    assert final["comment"] == "Vivid; check commas."
    assert final["timestamp"] >= pending["timestamp"]

    # When the same grade is released again and the beat sweeps the outbox, nothing is posted twice
    with django_capture_on_commit_callbacks(execute=True):
        review.grade_release(submission_id=submission.pk, user_id=teacher.pk)
    assert outbox_send() == {"sent": 0, "retry": 0, "failed": 0, "deferred": 0}
    assert len(sim.scores_for(link["lineitem"])) == 2


def test_platform_down_then_up_delivers_the_score_once(registered, django_capture_on_commit_callbacks):
    sim = registered
    link, assignment = _deep_link_new_assignment(sim, Client())
    _, _student, submission = _student_submits(sim, Client(), link, assignment, django_capture_on_commit_callbacks)
    teacher = LtiUser.objects.get(sub="teacher-1").user

    # Given the platform is down when the grade is released
    sim.down = True
    _release(django_capture_on_commit_callbacks, submission, 4, teacher.pk)
    row = GradeOutbox.objects.get(grading_progress="FullyGraded")
    # then nothing arrived, and the post waits with a backoff instead of being lost
    assert sim.scores_for(link["lineitem"]) == []
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at > timezone.now() and "503" in row.last_error
    # and a sweep before the backoff has passed does not hammer the platform
    assert outbox_send()["sent"] == 0

    # When the platform is back and the backoff has passed (time moved forward)
    sim.down = False
    GradeOutbox.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert outbox_send()["sent"] == 1
    assert outbox_send()["sent"] == 0
    # then the score arrived exactly once
    (score,) = sim.scores_for(link["lineitem"])
    assert score["scoreGiven"] == 4 and score["gradingProgress"] == "FullyGraded"
    assert GradeOutbox.objects.get(pk=row.pk).status == OutboxStatus.SENT


def test_a_later_grade_supersedes_an_unsent_proposal(registered, django_capture_on_commit_callbacks):
    sim = registered
    link, assignment = _deep_link_new_assignment(sim, Client())
    _, _student, submission = _student_submits(sim, Client(), link, assignment, django_capture_on_commit_callbacks)
    sim.down = True
    with django_capture_on_commit_callbacks(execute=True):
        proposal_ready.send(
            sender=None,
            submission_id=submission.pk,
            prediction_id=9,
            assignment_id=assignment.pk,
            course_id=assignment.course_id,
        )
    _release(django_capture_on_commit_callbacks, submission, 3, None)
    sim.down = False
    GradeOutbox.objects.update(next_attempt_at=timezone.now())
    outbox_send()
    # The stale PendingManual is never sent after the final grade: only FullyGraded arrives.
    assert [s["gradingProgress"] for s in sim.scores_for(link["lineitem"])] == ["FullyGraded"]


def test_instructor_and_ta_launch_open_the_course_review_page(registered):
    sim = registered
    link, assignment = _deep_link_new_assignment(sim, Client())
    resp = sim.launch(Client(), sub="ta-1", roles=[TA], resource_link_id=link["id"], custom=link["custom"])
    assert resp.status_code == 302
    assert resp["Location"] == review_queue_url(course_id=assignment.course_id)
    ta = LtiUser.objects.get(sub="ta-1").user
    assert Enrollment.objects.get(course=assignment.course, user=ta).role == Role.TA


def test_gradebook_click_opens_the_review_of_that_students_submission(registered, django_capture_on_commit_callbacks):
    sim = registered
    link, assignment = _deep_link_new_assignment(sim, Client())
    _, _student, submission = _student_submits(sim, Client(), link, assignment, django_capture_on_commit_callbacks)
    resp = sim.launch(
        Client(),
        sub="teacher-1",
        roles=[INSTRUCTOR],
        message_type="LtiSubmissionReviewRequest",
        resource_link_id=link["id"],
        custom=link["custom"],
        lineitem=link["lineitem"],
        extra={"https://purl.imsglobal.org/spec/lti/claim/for_user": {"user_id": "student-1"}},
    )
    assert resp.status_code == 302
    assert str(submission.pk) in resp["Location"]


def test_gradebook_launch_without_custom_parameters_finds_the_assignment_by_its_column(
    registered, django_capture_on_commit_callbacks
):
    sim = registered
    link, assignment = _deep_link_new_assignment(sim, Client())
    _, _student, submission = _student_submits(sim, Client(), link, assignment, django_capture_on_commit_callbacks)
    resp = sim.launch(
        Client(),
        sub="teacher-1",
        roles=[INSTRUCTOR],
        message_type="LtiSubmissionReviewRequest",
        resource_link_id="a-link-eduai-never-saw",
        lineitem=link["lineitem"],
        extra={"https://purl.imsglobal.org/spec/lti/claim/for_user": {"user_id": "student-1"}},
    )
    assert resp.status_code == 302 and str(submission.pk) in resp["Location"]


def test_student_cannot_open_submission_review_or_deep_linking(registered):
    sim = registered
    link, _ = _deep_link_new_assignment(sim, Client())
    review = sim.launch(
        Client(),
        sub="student-2",
        roles=[LEARNER],
        message_type="LtiSubmissionReviewRequest",
        resource_link_id=link["id"],
        custom=link["custom"],
        lineitem=link["lineitem"],
        extra={"https://purl.imsglobal.org/spec/lti/claim/for_user": {"user_id": "student-1"}},
    )
    assert review.status_code == 403
    deep = sim.launch(Client(), sub="student-2", roles=[LEARNER], message_type="LtiDeepLinkingRequest")
    assert deep.status_code == 403
    assert "Only instructors" in deep.content.decode()


def test_a_teaching_assistant_deep_links_existing_assignments_but_creates_none(registered):
    # given a course with one assignment, made by its teacher through deep linking
    sim = registered
    _link, existing = _deep_link_new_assignment(sim, Client())
    # when its teaching assistant opens deep linking from the LMS
    client = Client()
    page = sim.launch(client, sub="ta-1", roles=[TA], message_type="LtiDeepLinkingRequest")
    html = page.content.decode()
    # then they may pick the existing assignment but are offered no "create" form (the REST API
    # bars TAs from changing a course's setup too)
    assert page.status_code == 200 and existing.title in html
    assert 'name="title"' not in html and "only its teachers and school admins can create new ones" in html
    # and a "create" posted anyway is refused and creates nothing
    created = client.post(
        f"/lti/deep-link/{launch_id_from(html)}/",
        {"action": "create", "title": "TA essay", "prompt": "Write.", "min_score": "0", "max_score": "6"},
    )
    assert created.status_code == 403
    assert "Only the course&#x27;s teachers and school admins can create assignments" in created.content.decode()
    assert list(Assignment.objects.filter(course=existing.course)) == [existing]
    # while picking the existing one still answers the LMS with it
    picked = client.post(f"/lti/deep-link/{launch_id_from(html)}/", {"action": "pick", "assignment": existing.pk})
    assert picked.status_code == 200
    assert sim.accept_deep_link(picked.content.decode())["custom"] == {"eduai_assignment_id": str(existing.pk)}


@pytest.mark.parametrize("post", [{"action": "pick", "assignment": "999999"}, {"action": "create", "title": ""}])
def test_deep_linking_form_rejects_bad_input_and_keeps_the_page(registered, post):
    sim = registered
    client = Client()
    page = sim.launch(client, sub="teacher-1", roles=[INSTRUCTOR], message_type="LtiDeepLinkingRequest")
    launch_id = launch_id_from(page.content.decode())
    bad = client.post(f"/lti/deep-link/{launch_id}/", post)
    assert bad.status_code == 400
    # the launch id still works after a mistake, and is single-use after success
    ok = client.post(
        f"/lti/deep-link/{launch_id}/",
        {"action": "create", "title": "T", "prompt": "P", "min_score": "0", "max_score": "4"},
    )
    assert ok.status_code == 200
    again = client.post(
        f"/lti/deep-link/{launch_id}/",
        {"action": "create", "title": "T2", "prompt": "P", "min_score": "0", "max_score": "4"},
    )
    assert again.status_code == 400
    assert not Assignment.objects.filter(title="T2").exists()


def test_unknown_deep_link_id_is_refused(db, client):
    resp = client.post("/lti/deep-link/lti1p3-launch-nope/", {"action": "pick", "assignment": "1"})
    assert resp.status_code == 400
