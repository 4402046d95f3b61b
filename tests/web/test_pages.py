"""Site pages: who may open what, what each role sees, and that user text is escaped."""

from __future__ import annotations

import pytest
from django.urls import reverse

from eduai.courses.models import Role, SubmissionStatus
from tests import factories as f

pytestmark = pytest.mark.django_db


def _client_for(client, user):
    client.force_login(user)
    return client


# --- sign-in ------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_sign_in(client):
    # When: someone not signed in opens the home page
    response = client.get(reverse("home"))
    # Then: they are redirected to the login page, which renders
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b"Sign in to EduAI" in page.content


def test_sign_in_with_the_right_password_lands_on_home(client, world):
    response = client.post(reverse("login"), {"username": "stu", "password": f.DEFAULT_PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("home")
    assert b"Welcome, Stu" in response.content


def test_wrong_password_shows_an_error_and_keeps_the_username(client, world):
    response = client.post(reverse("login"), {"username": "stu", "password": "nope"})
    assert response.status_code == 200
    assert b"didn't match" in response.content
    assert b'value="stu"' in response.content


# --- home by role -------------------------------------------------------------------------


def test_student_home_lists_their_courses_and_latest_grades(client, world):
    # Given: a released grade and a submission still waiting
    assignment = f.AssignmentFactory(course=world.course, title="Town essay", min_score=1, max_score=6)
    f.SubmissionFactory(assignment=assignment, author=world.student, status=SubmissionStatus.RELEASED, final_score=5)
    other = f.AssignmentFactory(course=world.course, title="Second essay")
    f.SubmissionFactory(assignment=other, author=world.student, status=SubmissionStatus.RECEIVED)
    # When
    response = _client_for(client, world.student).get(reverse("home"))
    # Then: own course with a link, the released grade, the waiting count; no teaching table
    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("course-detail", args=[world.course.id]) in html
    assert "ENG1 — English 1" in html
    assert "MATH1" not in html  # not their course
    assert "Town essay" in html and ">5<" in html and "on a scale of 1–6" in html
    assert "1 submission is waiting for a grade." in html
    assert 'id="teaching"' not in html


def test_student_home_shows_the_teachers_released_grade_and_comment(client, world):
    import grading.api as grading_api
    import grading.review.api as review_api

    # Given: the teacher grades and releases an essay through the grading services
    assignment = f.AssignmentFactory(course=world.course, title="River essay", min_score=1, max_score=6)
    submission = f.SubmissionFactory(assignment=assignment, author=world.student)
    grading_api.teacher_grade_set(
        submission_id=submission.id,
        score=4,
        grader_id=world.teacher.id,
        comment="Vary your openings.",
        trigger_training=False,
    )
    review_api.grade_release(submission_id=submission.id, user_id=world.teacher.id)
    # When
    html = _client_for(client, world.student).get(reverse("home")).content.decode()
    # Then: score, comment and a link to their own submission page
    assert "River essay" in html and '<span class="score">4</span>' in html
    assert '<blockquote class="comment">Vary your openings.</blockquote>' in html
    assert reverse("review:my-submission", args=[submission.id]) in html


def test_teacher_home_links_to_the_review_and_recommendation_pages(client, world):
    html = _client_for(client, world.teacher).get(reverse("home")).content.decode()
    for url in (
        reverse("dashboards:course", args=[world.course.id]),
        reverse("review:queue", args=[world.course.id]),
        reverse("review:agreement", args=[world.course.id]),
        reverse("recommender:course", args=[world.course.id]),
    ):
        assert url in html
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("who", ["teacher", "student"])
def test_every_course_page_links_back_to_its_course(client, world, who):
    # given a course member on each page the course overview links to
    c = _client_for(client, getattr(world, who))
    back = f'href="{reverse("course-detail", args=[world.course.id])}"'
    pages = [reverse("recommender:course", args=[world.course.id])]
    if who == "teacher":
        pages += [reverse("review:queue", args=[world.course.id]), reverse("dashboards:course", args=[world.course.id])]
    for url in pages:
        response = c.get(url)
        # then the page's breadcrumb leads back to the course overview
        assert response.status_code == 200, url
        assert back in response.content.decode().split('class="crumbs"', 1)[-1].split("</p>", 1)[0], url


def test_recommended_resources_and_answer_sources_open_the_resource_page(client, world):
    # given a course resource (text only, no web link) that the course can recommend and quote
    skill = f.SkillFactory(course=world.course, name="Fractions")
    resource = f.LearningResourceFactory(
        course=world.course,
        title="Adding fractions",
        body="Fractions with unlike denominators need a common denominator.",
    )
    resource.skills.add(skill)
    link = f'href="{reverse("resource-detail", args=[world.course.id, resource.id])}"'
    c = _client_for(client, world.student)
    # when the student opens "what next", the recommended resource links to its page
    html = c.get(reverse("recommender:course", args=[world.course.id])).content.decode()
    assert "Adding fractions" in html and link in html.split('id="recommendations"', 1)[1].split("</section>", 1)[0]
    # and when they ask the course, the answer's source links to the same page
    response = c.post(
        reverse("recommender:ask", args=[world.course.id]), {"question": "common denominator fractions?"}, follow=True
    )
    answer = response.content.decode().split('class="answer"', 1)[1]
    assert "Adding fractions" in answer and link in answer
    assert c.get(reverse("resource-detail", args=[world.course.id, resource.id])).status_code == 200


def test_student_home_links_to_their_progress_and_next_steps(client, world):
    html = _client_for(client, world.student).get(reverse("home")).content.decode()
    for url in (
        reverse("dashboards:me", args=[world.course.id]),
        reverse("recommender:course", args=[world.course.id]),
        reverse("review:my-grades"),
    ):
        assert url in html
        assert client.get(url, follow=True).status_code == 200, url


def test_student_does_not_see_other_students_grades(client, world):
    assignment = f.AssignmentFactory(course=world.course, title="Secret essay")
    classmate = f.UserFactory(username="classmate")
    f.EnrollmentFactory(course=world.course, user=classmate)
    f.SubmissionFactory(assignment=assignment, author=classmate, status=SubmissionStatus.RELEASED, final_score=6)
    html = _client_for(client, world.student).get(reverse("home")).content.decode()
    assert "Secret essay" not in html
    assert "No graded work yet." in html


def test_teacher_home_lists_taught_courses_with_work_awaiting_a_grade(client, world):
    assignment = f.AssignmentFactory(course=world.course)
    for _ in range(3):
        f.SubmissionFactory(assignment=assignment, status=SubmissionStatus.SCORED)
    f.SubmissionFactory(assignment=assignment, status=SubmissionStatus.RELEASED, final_score=3)
    html = _client_for(client, world.teacher).get(reverse("home")).content.decode()
    assert 'id="teaching"' in html
    assert "ENG1 — English 1" in html
    assert '<span class="badge warn">3</span>' in html
    assert "Course overview" in html
    assert "MATH1" not in html  # another teacher's course
    assert 'id="feedback"' not in html


def test_ta_sees_the_course_with_the_ta_role(client, world):
    html = _client_for(client, world.ta).get(reverse("home")).content.decode()
    assert "Teaching assistant" in html
    assert "ENG1 — English 1" in html


def test_school_admin_sees_every_course_of_their_school_only(client, world):
    html = _client_for(client, world.admin).get(reverse("home")).content.decode()
    assert 'id="school"' in html
    assert "ENG1" in html and "MATH1" in html
    assert "ENG9" not in html  # the other school's course
    assert "Teach" in html  # the teacher's name column


def test_user_without_courses_is_told_so(client, db):
    loner = f.UserFactory(username="loner")
    html = _client_for(client, loner).get(reverse("home")).content.decode()
    assert "You are not enrolled in any course yet." in html


def test_home_runs_a_fixed_number_of_queries(client, world, django_assert_max_num_queries):
    # Given: a school admin with many courses
    for i in range(15):
        course = f.CourseFactory(school=world.school, code=f"X{i}")
        f.EnrollmentFactory(course=course, user=f.UserFactory(), role=Role.TEACHER)
        f.SubmissionFactory(assignment=f.AssignmentFactory(course=course))
    client.force_login(world.admin)
    # Then: the page does not issue a query per course (session + user + the selector's reads)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("home")).status_code == 200


# --- course page --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("student", 200),
        ("teacher", 200),
        ("ta", 200),
        ("admin", 200),
        ("other_student", 403),
        ("other_teacher", 403),
        ("other_admin", 403),
    ],
)
def test_course_page_is_open_to_members_and_school_admins_only(client, world, who, status):
    client.force_login(getattr(world, who))
    assert client.get(reverse("course-detail", args=[world.course.id])).status_code == status


def test_missing_course_is_404(client, world):
    client.force_login(world.admin)
    assert client.get(reverse("course-detail", args=[999999])).status_code == 404


def test_course_page_for_staff_counts_the_class_and_shows_drafts(client, world):
    published = f.AssignmentFactory(course=world.course, title="Published one")
    f.AssignmentFactory(course=world.course, title="Draft one", is_published=False)
    f.SubmissionFactory(assignment=published, status=SubmissionStatus.SCORED)
    f.SubmissionFactory(assignment=published, status=SubmissionStatus.RELEASED, final_score=4)
    html = _client_for(client, world.teacher).get(reverse("course-detail", args=[world.course.id])).content.decode()
    assert "Draft one" in html and "draft" in html
    assert "Awaiting a grade" in html
    queue = reverse("review:queue", args=[world.course.id])
    assert f'href="{queue}?assignment={published.id}" title="Review queue">1</a>' in html
    assert "Your submissions" not in html


def test_course_page_for_student_shows_own_work_and_hides_drafts(client, world):
    published = f.AssignmentFactory(course=world.course, title="Published one", max_score=6)
    f.AssignmentFactory(course=world.course, title="Draft one", is_published=False)
    f.SubmissionFactory(assignment=published, author=world.student, status=SubmissionStatus.RELEASED, final_score=4)
    f.SubmissionFactory(assignment=published, author=f.UserFactory(), status=SubmissionStatus.RELEASED, final_score=2)
    html = _client_for(client, world.student).get(reverse("course-detail", args=[world.course.id])).content.decode()
    assert "Draft one" not in html
    assert "Your submissions" in html
    assert '<span class="score">4</span>' in html
    assert '<span class="score">2</span>' not in html  # a classmate's grade


def test_skills_are_listed_foundations_first(client, world):
    base = f.SkillFactory(course=world.course, name="Zeta basics")
    advanced = f.SkillFactory(course=world.course, name="Alpha advanced")
    advanced.prerequisites.add(base)
    html = _client_for(client, world.student).get(reverse("course-detail", args=[world.course.id])).content.decode()
    assert html.index("Zeta basics") < html.index("Alpha advanced")
    assert "builds on Zeta basics" in html


# --- resource page ------------------------------------------------------------------------


def test_resource_page_shows_paragraphs_to_course_members(client, world):
    resource = f.LearningResourceFactory(course=world.course, title="Fractions", body="First para.\n\nSecond para.")
    url = reverse("resource-detail", args=[world.course.id, resource.id])
    html = _client_for(client, world.student).get(url).content.decode()
    assert "<p>First para.</p>" in html and "<p>Second para.</p>" in html
    client.force_login(world.other_student)
    assert client.get(url).status_code == 403


def test_resource_from_another_course_is_404_through_this_course(client, world):
    resource = f.LearningResourceFactory(course=world.other_course)
    client.force_login(world.student)
    assert client.get(reverse("resource-detail", args=[world.course.id, resource.id])).status_code == 404


def test_inactive_resource_is_hidden_from_students_but_not_teachers(client, world):
    resource = f.LearningResourceFactory(course=world.course, title="Old notes", is_active=False)
    url = reverse("resource-detail", args=[world.course.id, resource.id])
    client.force_login(world.student)
    assert client.get(url).status_code == 404
    assert "Old notes" not in client.get(reverse("course-detail", args=[world.course.id])).content.decode()
    client.force_login(world.teacher)
    assert client.get(url).status_code == 200


def test_only_web_links_become_links(client, world):
    bad = f.LearningResourceFactory(course=world.course, url="javascript:alert(1)")
    good = f.LearningResourceFactory(course=world.course, url="https://example.org/notes")
    client.force_login(world.student)
    assert "javascript:" not in client.get(reverse("resource-detail", args=[world.course.id, bad.id])).content.decode()
    assert (
        'href="https://example.org/notes"'
        in client.get(reverse("resource-detail", args=[world.course.id, good.id])).content.decode()
    )


# --- escaping -----------------------------------------------------------------------------

EVIL = '<script>alert("x")</script>'


def test_user_text_is_escaped_everywhere(client, world):
    # Given: hostile text in every field a page shows
    world.course.title = EVIL
    world.course.description = EVIL
    world.course.save()
    world.student.display_name = EVIL
    world.student.save()
    world.teacher.display_name = EVIL
    world.teacher.save()
    import grading.api as grading_api
    import grading.review.api as review_api

    assignment = f.AssignmentFactory(course=world.course, title=EVIL)
    submission = f.SubmissionFactory(assignment=assignment, author=world.student)
    grading_api.teacher_grade_set(
        submission_id=submission.id, score=3, grader_id=world.teacher.id, comment=EVIL, trigger_training=False
    )
    review_api.grade_release(submission_id=submission.id, user_id=world.teacher.id)
    f.SkillFactory(course=world.course, name=EVIL, description=EVIL)
    resource = f.LearningResourceFactory(course=world.course, title=EVIL, body=EVIL)
    client.force_login(world.student)
    pages = [
        reverse("home"),
        reverse("course-detail", args=[world.course.id]),
        reverse("resource-detail", args=[world.course.id, resource.id]),
    ]
    for url in pages:
        html = client.get(url).content.decode()
        # Then: the script tag never appears raw, only escaped
        assert "<script>" not in html, url
        assert "&lt;script&gt;" in html, url
