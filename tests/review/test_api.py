"""The review REST API: the same rules as the pages, as a client sees them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from eduai.courses.models import SubmissionStatus
from grading.models import TeacherGrade

pytestmark = pytest.mark.django_db


def _queue(api_as, user, course_id, **params):
    return api_as(user).get(reverse("review-api-queue", args=[course_id]), params)


def test_queue_api_orders_by_confidence_and_pages(api_as, rw, make_sub, propose):
    subs = [make_sub() for _ in range(5)]
    widths = [1.0, 4.0, 2.0, 3.0, 0.5]
    for sub, w in zip(subs, widths, strict=True):
        propose(sub, 3, 3 - w / 2, 3 + w / 2)
    first = _queue(api_as, rw.world.teacher, rw.world.course.pk, page_size=3)
    assert first.status_code == 200
    body = first.json()
    assert (body["count"], body["pages"], body["status"]) == (5, 2, "waiting")
    assert [r["interval_width"] for r in body["results"]] == [4.0, 3.0, 2.0]
    second = _queue(api_as, rw.world.teacher, rw.world.course.pk, page_size=3, page=2).json()
    assert [r["submission_id"] for r in second["results"]] == [subs[0].pk, subs[4].pk]
    assert second["results"][0]["proposed_score"] == 3 and second["results"][0]["decision"] == ""


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"page": 0},
        {"page_size": 1000},
        {"assignment": "abc"},
        {"page": "x"},
        # past a 64-bit id: a 400, not an OverflowError from the database driver
        {"assignment": str(2**63)},
    ],
)
def test_queue_api_refuses_bad_parameters_with_400(api_as, rw, params):
    response = _queue(api_as, rw.world.teacher, rw.world.course.pk, **params)
    assert response.status_code == 400


@pytest.mark.parametrize("who", ["student", "other_teacher", "other_admin", None])
def test_outsiders_get_404_or_401(api_as, rw, make_sub, propose, who):
    sub = make_sub()
    p = propose(sub, 3)
    user = getattr(rw.world, who) if who else None
    client = api_as(user)
    expected = 401 if who is None else 404
    assert client.get(reverse("review-api-queue", args=[rw.world.course.pk])).status_code == expected
    assert client.get(reverse("review-api-item", args=[sub.pk])).status_code == expected
    assert client.get(reverse("review-api-course-agreement", args=[rw.world.course.pk])).status_code == expected
    accept = client.post(reverse("review-api-accept", args=[sub.pk]), {"prediction": p.pk}, format="json")
    assert accept.status_code == expected
    assert not TeacherGrade.objects.filter(submission=sub).exists()


def test_accept_override_and_conflict_over_the_api(api_as, rw, make_sub, propose):
    sub = make_sub()
    p = propose(sub, 4)
    teacher = api_as(rw.world.teacher)
    item = teacher.get(reverse("review-api-item", args=[sub.pk])).json()
    assert item["revision"] == 0 and item["submission"]["proposed_score"] == 4
    assert {f["key"] for f in item["feedback"]} == {"overall", "trait:Ideas", "trait:Conventions"}
    accepted = teacher.post(reverse("review-api-accept", args=[sub.pk]),
                            {"prediction": p.pk, "revision": 0, "feedback": ["overall"]}, format="json")  # fmt: skip
    assert accepted.status_code == 200 and accepted.json()["kind"] == "accepted"
    # a second client that still holds revision 0
    stale = api_as(rw.world.ta).post(reverse("review-api-override", args=[sub.pk]),
                                     {"score": 1, "revision": 0}, format="json")  # fmt: skip
    assert stale.status_code == 409
    override = teacher.post(
        reverse("review-api-override", args=[sub.pk]),
        {"score": 5, "trait_scores": {"Ideas": 4}, "revision": 1, "model_mistake": True, "prediction": p.pk},
        format="json",
    )
    assert override.status_code == 200 and override.json() == {
        "submission_id": sub.pk, "kind": "overridden", "score": 5, "revision": 2, "released": True,
    }  # fmt: skip
    events = teacher.get(reverse("review-api-events", args=[sub.pk])).json()
    assert [e["kind"] for e in events] == ["proposed", "accepted", "released", "overridden", "released"]


@pytest.mark.parametrize(
    "body",
    [{"score": 99}, {"score": "x"}, {"score": 3, "trait_scores": {"Nope": 1}}, {"score": 3, "trait_scores": "x"},
     {"score": 3, "prediction": 999999}, {}, {"score": 3, "feedback": "overall"}],
)  # fmt: skip
def test_bad_overrides_are_400_and_store_nothing(api_as, rw, make_sub, propose, body):
    sub = make_sub()
    propose(sub, 3)
    response = api_as(rw.world.teacher).post(reverse("review-api-override", args=[sub.pk]), body, format="json")
    assert response.status_code == 400, response.content
    sub.refresh_from_db()
    assert sub.status == SubmissionStatus.SCORED and not TeacherGrade.objects.filter(submission=sub).exists()


def test_released_endpoint_shows_a_student_nothing_before_release(api_as, rw, make_sub, propose):
    sub = make_sub()
    p = propose(sub, 5, 4.8, 5.2)
    student = api_as(rw.world.student)
    before = student.get(reverse("review-api-released", args=[sub.pk])).json()
    assert before["released"] is False and before["score"] is None and before["feedback"] == []
    assert "5" not in str({k: v for k, v in before.items() if k not in {"submission_id", "course_id"}})
    api_as(rw.world.teacher).post(reverse("review-api-accept", args=[sub.pk]), {"prediction": p.pk}, format="json")
    after = student.get(reverse("review-api-released", args=[sub.pk])).json()
    assert (after["released"], after["score"], after["released_by"]) == (True, 5, "teacher")
    assert api_as(rw.world.other_student).get(reverse("review-api-released", args=[sub.pk])).status_code == 404


def test_an_unavailable_explanation_names_no_server_folder(api_as, rw, make_sub, propose, settings, tmp_path):
    # given a proposal whose model's files are gone, in a models folder with a space in its path
    settings.EDUAI_MODEL_ROOT = tmp_path / "edu ai" / "models"
    sub = make_sub(text="My town has a river. It floods every spring. We love it anyway.")
    rw.model.artefact = "grading/a1/v1"
    rw.model.save(update_fields=["artefact"])
    propose(sub, 3)
    # when a TA opens the essay's review item over the API
    body = api_as(rw.world.ta).get(reverse("review-api-item", args=[sub.pk])).json()
    # then the explanation says why it is missing, naming the file but not the server's folders
    explanation = body["explanation"]
    assert explanation["status"] == "unavailable"
    assert explanation["reason"].startswith("FileNotFoundError: ")
    assert str(tmp_path) not in explanation["reason"] and "/" not in explanation["reason"]


def test_queue_api_query_count_does_not_grow_with_the_queue(api_as, rw, make_sub, propose, django_assert_num_queries):
    for _ in range(3):
        propose(make_sub(), 3)
    url = reverse("review-api-queue", args=[rw.world.course.pk])

    def fresh_client():  # a fresh user object: nothing cached from an earlier request
        return api_as(type(rw.world.teacher).objects.get(pk=rw.world.teacher.pk))

    # course, access (school admin + enrolment), count, rows, proposals
    client = fresh_client()
    with django_assert_num_queries(6):
        assert client.get(url).status_code == 200
    for _ in range(20):
        propose(make_sub(), 4)
    client = fresh_client()
    with django_assert_num_queries(6):
        assert len(client.get(url).json()["results"]) == 23
