"""The REST API (/api/v1/recommender/...) and the pages (/recommender/...): who may see what,
bad input as 4xx with a message, and what a user sees on the page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from recommender.models import Question, QuestionStatus, ResourceOverride
from tests import factories as f

API = "/api/v1/recommender/courses/{}/"


def test_student_gets_recommendations_with_reasons_in_words(world, maths, api_as):
    res = api_as(world.student).get(API.format(maths.course.pk) + "recommendations/?limit=5")
    assert res.status_code == 200
    body = res.json()
    assert body["course"] == maths.course.pk and body["cold_start"] is True
    assert len(body["results"]) == 5
    first = body["results"][0]
    assert first["reasons"][0]["code"] == "start_here"
    assert first["reasons"][0]["text"].startswith("A good place to start: Fractions")


def test_reasons_follow_the_request_language(world, maths, api_as):
    res = api_as(world.student).get(API.format(maths.course.pk) + "recommendations/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert res.status_code == 200
    text = res.json()["results"][0]["reasons"][0]["text"]
    assert "起点" in text and "Fractions" in text  # the wording may come from the shared catalogue


@pytest.mark.parametrize("limit", ["0", "21", "abc", "-3"])
def test_bad_limit_is_a_400(world, maths, api_as, limit):
    res = api_as(world.student).get(API.format(maths.course.pk) + f"recommendations/?limit={limit}")
    assert res.status_code == 400
    assert "limit" in res.json()


def test_access_rules_of_the_api(world, maths, api_as):
    url = API.format(maths.course.pk) + "recommendations/"
    assert api_as(None).get(url).status_code in (401, 403)
    assert api_as(world.other_student).get(url).status_code == 404  # not their course: never confirmed
    assert api_as(world.teacher).get(url).status_code == 403  # staff have no personal list
    assert api_as(world.student).get(API.format(world.foreign_course.pk) + "recommendations/").status_code == 404
    assert api_as(world.student).get(API.format(99999) + "recommendations/").status_code == 404


def test_ask_api_answers_and_refuses_bad_input(world, maths, api_as):
    client = api_as(world.student)
    url = API.format(maths.course.pk) + "ask/"
    ok = client.post(url, {"question": "How do I add fractions with unlike denominators?"}, format="json")
    assert ok.status_code == 200
    body = ok.json()
    assert body["found"] is True and body["passages"][0]["resource_id"] == maths.r_fractions.pk
    start, end = body["passages"][0]["highlight"]
    assert body["passages"][0]["text"][start:end] == body["passages"][0]["highlighted"]
    missing = client.post(url, {"question": "Who won the 1966 world cup?"}, format="json").json()
    assert missing["found"] is False and missing["passages"] == [] and "teacher" in missing["message"]
    for bad in ({"question": ""}, {"question": 12}, {"question": ["a"]}, {}, {"question": "y" * 5000}):
        res = client.post(url, bad, format="json")
        assert res.status_code == 400, bad
        assert "question" in res.json()
    assert Question.objects.count() == 2
    # a non-JSON body is a 400 too, never a 500
    res = client.post(url, data=b"\xff\xfe not json", content_type="application/json")
    assert res.status_code == 400


def test_question_list_and_resolution_through_the_api(world, maths, api_as, classmate):
    student = api_as(world.student)
    q = student.post(API.format(maths.course.pk) + "ask/", {"question": "What is a prime number?"}, format="json")
    qid = q.json()["question_id"]
    api_as(classmate).post(API.format(maths.course.pk) + "ask/", {"question": "What is a ratio?"}, format="json")
    # the student lists only their own questions
    mine = student.get(API.format(maths.course.pk) + "questions/").json()
    assert [x["id"] for x in mine] == [qid]
    # classmate cannot send it; the student can
    assert api_as(classmate).post(API.format(maths.course.pk) + f"questions/{qid}/send/").status_code == 404
    sent = student.post(API.format(maths.course.pk) + f"questions/{qid}/send/")
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    # the teacher sees it; another course's teacher does not see the course at all
    teacher = api_as(world.teacher)
    listed = teacher.get(API.format(maths.course.pk) + "questions/?status=sent").json()
    assert [x["id"] for x in listed] == [qid] and listed[0]["student_name"]
    assert api_as(world.other_teacher).get(API.format(maths.course.pk) + "questions/").status_code == 404
    assert teacher.get(API.format(maths.course.pk) + "questions/?status=bogus").status_code == 400
    # a student cannot resolve; the teacher can, with a reply the student then reads
    assert student.post(API.format(maths.course.pk) + f"questions/{qid}/resolve/", {}).status_code == 403
    done = teacher.post(API.format(maths.course.pk) + f"questions/{qid}/resolve/", {"reply": "See lesson 4."})
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    assert student.get(API.format(maths.course.pk) + "questions/").json()[0]["teacher_reply"] == "See lesson 4."


def test_overrides_api(world, maths, api_as):
    url = API.format(maths.course.pk) + "overrides/"
    teacher = api_as(world.teacher)
    res = teacher.post(url, {"resource": maths.r_general.pk, "action": "pin"}, format="json")
    assert res.status_code == 200
    assert {r["id"]: r["override"] for r in res.json()}[maths.r_general.pk] == "pin"
    assert teacher.post(url, {"resource": maths.r_general.pk, "action": "boost"}, format="json").status_code == 400
    assert teacher.post(url, {"resource": "x", "action": "pin"}, format="json").status_code == 400
    foreign = f.LearningResourceFactory(course=world.other_course)
    assert teacher.post(url, {"resource": foreign.pk, "action": "hide"}, format="json").status_code == 400
    assert (
        api_as(world.ta).post(url, {"resource": maths.r_general.pk, "action": "hide"}, format="json").status_code == 403
    )
    assert api_as(world.ta).get(url).status_code == 200
    assert api_as(world.student).get(url).status_code == 403
    assert ResourceOverride.objects.get().action == "pin"


def test_schema_lists_the_recommender_endpoints(world, api_as):
    res = api_as(world.admin).get("/api/schema/")
    assert res.status_code == 200
    text = res.content.decode()
    assert "/api/v1/recommender/courses/{course_id}/recommendations/" in text
    assert "/api/v1/recommender/courses/{course_id}/ask/" in text


# --- Pages ----------------------------------------------------------------------------------


def test_student_page_shows_recommendations_reasons_and_the_ask_box(world, maths, client):
    client.force_login(world.student)
    res = client.get(reverse("recommender:course", args=[maths.course.pk]))
    assert res.status_code == 200
    html = res.content.decode()
    assert "Adding fractions" in html
    assert "A good place to start: Fractions" in html
    assert 'name="question"' in html


def test_student_home_goes_straight_to_their_only_course(world, maths, client):
    client.force_login(world.student)
    res = client.get(reverse("recommender:home"))
    assert res.status_code == 302 and res.url == reverse("recommender:course", args=[maths.course.pk])


def test_page_asks_escapes_and_offers_the_teacher(world, maths, client):
    client.force_login(world.student)
    url = reverse("recommender:ask", args=[maths.course.pk])
    res = client.post(url, {"question": "<script>alert(1)</script> who won the cup?"}, follow=True)
    html = res.content.decode()
    assert res.status_code == 200
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "could not find an answer" in html
    qid = Question.objects.get().pk
    assert reverse("recommender:send-question", args=[maths.course.pk, qid]) in html
    sent = client.post(reverse("recommender:send-question", args=[maths.course.pk, qid]))
    assert sent.status_code == 302
    assert Question.objects.get().status == QuestionStatus.SENT
    found = client.post(url, {"question": "How do I add fractions with unlike denominators?"}, follow=True)
    found = found.content.decode()
    assert "<mark>To add fractions with unlike denominators, first find a common denominator.</mark>" in found
    empty = client.post(url, {"question": "   "})
    assert empty.status_code == 400 and "Text is empty." in empty.content.decode()


def test_teacher_page_lists_sent_questions_and_pins(world, maths, client):
    q = Question.objects.create(
        course=maths.course, student=world.student, text="Why is 0.999... equal to 1?", status=QuestionStatus.SENT
    )
    client.force_login(world.teacher)
    html = client.get(reverse("recommender:course", args=[maths.course.pk])).content.decode()
    assert "Why is 0.999... equal to 1?" in html
    assert reverse("recommender:override", args=[maths.course.pk, maths.r_general.pk]) in html
    res = client.post(reverse("recommender:override", args=[maths.course.pk, maths.r_general.pk]), {"action": "hide"})
    assert res.status_code == 302
    assert ResourceOverride.objects.get().action == "hide"
    res = client.post(reverse("recommender:resolve-question", args=[maths.course.pk, q.pk]), {"reply": "Limits!"})
    assert res.status_code == 302
    q.refresh_from_db()
    assert q.status == QuestionStatus.RESOLVED and q.teacher_reply == "Limits!"


def test_pages_refuse_outsiders(world, maths, client):
    client.force_login(world.other_student)
    assert client.get(reverse("recommender:course", args=[maths.course.pk])).status_code == 404
    assert client.post(reverse("recommender:ask", args=[maths.course.pk]), {"question": "hi"}).status_code == 404
    client.force_login(world.ta)
    res = client.post(reverse("recommender:override", args=[maths.course.pk, maths.r_general.pk]), {"action": "pin"})
    assert res.status_code == 403
    client.logout()
    assert client.get(reverse("recommender:course", args=[maths.course.pk])).status_code == 302  # to sign-in


def test_student_page_in_chinese(world, maths, client):
    client.force_login(world.student)
    res = client.get(reverse("recommender:course", args=[maths.course.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert res.status_code == 200
    html = res.content.decode()
    assert "起点" in html and "Fractions" in html


def test_a_students_listed_answers_no_longer_quote_a_resource_hidden_since(world, maths, api_as):
    # given a student's answered question quoting the course's resources
    student, teacher = api_as(world.student), api_as(world.teacher)
    asked = student.post(
        API.format(maths.course.pk) + "ask/", {"question": "How do I turn a fraction into a percentage?"}, format="json"
    )
    quoted = {p["resource_id"] for p in asked.json()["passages"]}
    assert quoted, "the question must be answered from the course's resources for this test"
    hidden = sorted(quoted)[0]
    # when the teacher hides one of the quoted resources
    res = teacher.post(
        API.format(maths.course.pk) + "overrides/", {"resource": hidden, "action": "hide"}, format="json"
    )
    assert res.status_code == 200
    # then the student's question list (and the send reply) no longer quotes it
    listed = student.get(API.format(maths.course.pk) + "questions/").json()[0]["answer"]
    assert hidden not in {p["resource_id"] for p in listed}
    assert {p["resource_id"] for p in listed} == quoted - {hidden}
    qid = asked.json()["question_id"]
    sent = student.post(API.format(maths.course.pk) + f"questions/{qid}/send/").json()["answer"]
    assert hidden not in {p["resource_id"] for p in sent}
    # while the teacher still sees what the student was shown
    shown = teacher.get(API.format(maths.course.pk) + "questions/").json()[0]["answer"]
    assert {p["resource_id"] for p in shown} == quoted
