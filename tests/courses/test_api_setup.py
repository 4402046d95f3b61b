"""Course setup through the API: courses, enrolments, skills, assignments, items, resources.

Who may do it is pinned by tests/test_permission_matrix.py; these tests pin what happens.
"""

from __future__ import annotations

from eduai.courses.models import Assignment, Course, Enrollment, RubricTrait, Skill
from tests import factories as f

# --- courses and schools -------------------------------------------------------------------


def test_school_admin_creates_a_course_in_their_school(world, api_as):
    # given a school admin
    client = api_as(world.admin)
    # when they create a course
    response = client.post(
        "/api/v1/courses/",
        {"school": world.school.pk, "code": "HIST1", "title": "History", "language": "zh"},
        format="json",
    )
    # then it exists in their school and they can open it
    assert response.status_code == 201, response.content
    course = Course.objects.get(pk=response.json()["id"])
    assert (course.school_id, course.code, course.language) == (world.school.pk, "HIST1", "zh")
    assert client.get(f"/api/v1/courses/{course.pk}/").status_code == 200


def test_a_course_code_is_unique_within_its_school(world, api_as):
    client = api_as(world.admin)
    response = client.post(
        "/api/v1/courses/", {"school": world.school.pk, "code": "ENG1", "title": "Again"}, format="json"
    )
    assert response.status_code == 400
    assert "already has a course with code 'ENG1'" in response.json()["code"][0]
    assert Course.objects.filter(code="ENG1").count() == 1


def test_a_course_never_moves_to_another_school(world, api_as):
    # given the admin of the course's school, who cannot name the other school anyway
    client = api_as(world.admin)
    # when they send a school with an update
    response = client.patch(
        f"/api/v1/courses/{world.course.pk}/", {"school": world.other_school.pk, "title": "New"}, format="json"
    )
    # then the title changes and the school does not
    assert response.status_code == 200
    world.course.refresh_from_db()
    assert (world.course.title, world.course.school_id) == ("New", world.school.pk)


def test_schools_list_shows_only_the_askers_schools(world, api_as):
    assert [s["slug"] for s in api_as(world.student).get("/api/v1/schools/").json()["results"]] == ["north"]
    assert [s["slug"] for s in api_as(world.other_admin).get("/api/v1/schools/").json()["results"]] == ["south"]


def test_courses_list_is_scoped_by_role(world, api_as):
    def codes(user):
        return sorted(c["code"] for c in api_as(user).get("/api/v1/courses/").json()["results"])

    assert codes(world.student) == ["ENG1"]
    assert codes(world.teacher) == ["ENG1"]
    assert codes(world.admin) == ["ENG1", "MATH1"]
    assert codes(world.other_admin) == ["ENG9"]


# --- enrolments ----------------------------------------------------------------------------


def test_enrolling_twice_updates_the_role_instead_of_duplicating(world, api_as):
    # given a teacher and someone new
    client = api_as(world.teacher)
    newcomer = f.UserFactory(username="newbie")
    body = {"course": world.course.pk, "user": newcomer.pk, "role": "student"}
    # when they enrol them, then enrol them again as a TA
    first = client.post("/api/v1/enrolments/", body, format="json")
    second = client.post("/api/v1/enrolments/", {**body, "role": "ta"}, format="json")
    # then one enrolment exists, now as TA; the first call created it, the second changed it
    assert (first.status_code, second.status_code) == (201, 200)
    assert list(Enrollment.objects.filter(user=newcomer).values_list("role", flat=True)) == ["ta"]
    assert second.json()["username"] == "newbie"


def test_a_person_of_another_school_cannot_be_enrolled_nor_named(world, api_as):
    # given someone who belongs to the other school only, and someone of no school yet
    theirs = f.UserFactory(username="south-pupil")
    f.SchoolAdminFactory(school=world.other_school, user=theirs, is_admin=False)
    newcomer = f.UserFactory(username="fresh")
    client = api_as(world.teacher)
    # when the teacher tries to enrol each in their course
    refused = client.post("/api/v1/enrolments/", {"course": world.course.pk, "user": theirs.pk}, format="json")
    taken = client.post("/api/v1/enrolments/", {"course": world.course.pk, "user": newcomer.pk}, format="json")
    # then the other school's pupil "does not exist" for them: no enrolment, no membership, no
    # username in the answer; the newcomer is enrolled and joins the school
    assert refused.status_code == 400
    assert "does not exist" in refused.json()["user"][0] and "south-pupil" not in refused.content.decode()
    assert not Enrollment.objects.filter(user=theirs).exists()
    assert list(theirs.school_memberships.values_list("school_id", flat=True)) == [world.other_school.pk]
    assert taken.status_code == 201
    assert newcomer.school_memberships.filter(school=world.school).exists()
    # and someone of both schools can be enrolled in either
    f.SchoolAdminFactory(school=world.school, user=theirs, is_admin=False)
    again = client.post("/api/v1/enrolments/", {"course": world.course.pk, "user": theirs.pk}, format="json")
    assert again.status_code == 201
    # and once enrolled, their enrolment can be rewritten whole (PUT names the person again)
    # even after they left this school
    theirs.school_memberships.filter(school=world.school).delete()
    put = client.put(
        f"/api/v1/enrolments/{again.json()['id']}/",
        {"course": world.course.pk, "user": theirs.pk, "role": "ta"},
        format="json",
    )
    assert put.status_code == 200 and put.json()["role"] == "ta"


def test_ending_an_enrolment_keeps_the_record_and_removes_access(world, api_as):
    # given the student's enrolment and a submission they made
    enrolment = Enrollment.objects.get(course=world.course, user=world.student)
    f.SubmissionFactory(assignment=f.AssignmentFactory(course=world.course), author=world.student)
    # when the teacher ends it
    response = api_as(world.teacher).delete(f"/api/v1/enrolments/{enrolment.pk}/")
    # then the enrolment is inactive (not deleted), the work stays, and the course is gone for them
    assert response.status_code == 204
    enrolment.refresh_from_db()
    assert enrolment.is_active is False
    assert world.student.submissions.count() == 1
    assert api_as(world.student).get(f"/api/v1/courses/{world.course.pk}/").status_code == 404


def test_an_enrolment_cannot_be_moved_to_another_person(world, api_as):
    enrolment = Enrollment.objects.get(course=world.course, user=world.student)
    response = api_as(world.teacher).patch(
        f"/api/v1/enrolments/{enrolment.pk}/", {"user": world.teacher.pk}, format="json"
    )
    assert response.status_code == 400
    assert "another person" in response.json()["user"][0]


def test_students_see_only_their_own_enrolment(world, api_as):
    rows = api_as(world.student).get("/api/v1/enrolments/").json()["results"]
    assert [r["username"] for r in rows] == ["stu"]
    staff_rows = api_as(world.teacher).get(f"/api/v1/enrolments/?course={world.course.pk}").json()["results"]
    assert sorted(r["username"] for r in staff_rows) == ["assist", "stu", "teach"]


# --- skills --------------------------------------------------------------------------------


def test_skill_prerequisites_are_stored_and_returned(world, api_as):
    client = api_as(world.teacher)
    basics = client.post("/api/v1/skills/", {"course": world.course.pk, "name": "Basics"}, format="json").json()
    response = client.post(
        "/api/v1/skills/", {"course": world.course.pk, "name": "Essays", "prerequisites": [basics["id"]]}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["prerequisites"] == [basics["id"]]
    assert list(Skill.objects.get(name="Essays").prerequisites.values_list("name", flat=True)) == ["Basics"]


def test_a_prerequisite_cycle_is_refused(world, api_as):
    # given a -> b -> c (c needs b, b needs a)
    a = f.SkillFactory(course=world.course, name="a")
    b = f.SkillFactory(course=world.course, name="b")
    c = f.SkillFactory(course=world.course, name="c")
    b.prerequisites.add(a)
    c.prerequisites.add(b)
    # when the teacher makes a need c
    response = api_as(world.teacher).patch(f"/api/v1/skills/{a.pk}/", {"prerequisites": [c.pk]}, format="json")
    # then it is refused and the graph is unchanged
    assert response.status_code == 400
    assert "depend on itself" in response.json()["prerequisites"][0]
    assert a.prerequisites.count() == 0


def test_a_skill_cannot_be_its_own_prerequisite(world, api_as):
    skill = f.SkillFactory(course=world.course)
    response = api_as(world.teacher).patch(f"/api/v1/skills/{skill.pk}/", {"prerequisites": [skill.pk]}, format="json")
    assert response.status_code == 400
    assert "own prerequisite" in response.json()["prerequisites"][0]


def test_a_skill_cannot_move_to_another_course(world, api_as):
    skill = f.SkillFactory(course=world.course)
    response = api_as(world.admin).patch(
        f"/api/v1/skills/{skill.pk}/", {"course": world.other_course.pk}, format="json"
    )
    assert response.status_code == 400
    assert "cannot move to another course" in response.json()["course"][0]
    skill.refresh_from_db()
    assert skill.course_id == world.course.pk


# --- assignments -------------------------------------------------------------------------


def test_teacher_creates_an_assignment_with_rubric_skills_due_date_and_release_policy(world, api_as):
    skill = f.SkillFactory(course=world.course)
    response = api_as(world.teacher).post(
        "/api/v1/assignments/",
        {
            "course": world.course.pk,
            "title": "Argument essay",
            "kind": "essay",
            "prompt": "Should homework be banned?",
            "min_score": 1,
            "max_score": 6,
            "skills": [skill.pk],
            "due_at": "2025-05-01T17:00:00+02:00",
            "release_policy": "auto_release_confident",
            "auto_release_max_interval": 0.5,
            "auto_release_min_qwk": 0.8,
            "traits": [
                {"name": "Ideas", "min_score": 0, "max_score": 4},
                {"name": "Conventions", "min_score": 1, "max_score": 3},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["due_at"] == "2025-05-01T15:00:00Z"
    assert [(t["name"], t["min_score"], t["max_score"], t["position"]) for t in body["traits"]] == [
        ("Ideas", 0, 4, 0),
        ("Conventions", 1, 3, 1),
    ]
    assignment = Assignment.objects.get(pk=body["id"])
    assert assignment.release_policy == "auto_release_confident"
    assert list(assignment.skills.all()) == [skill]


def test_rubric_update_keeps_listed_traits_adds_new_and_removes_the_rest(world, api_as):
    # given an assignment with traits Ideas, Voice and Style
    assignment = f.AssignmentFactory(course=world.course)
    ideas = f.RubricTraitFactory(assignment=assignment, name="Ideas", position=0)
    voice = f.RubricTraitFactory(assignment=assignment, name="Voice", position=1)
    f.RubricTraitFactory(assignment=assignment, name="Style", position=2)
    # when the teacher swaps the names of Ideas and Voice, adds Grammar and leaves out Style
    response = api_as(world.teacher).patch(
        f"/api/v1/assignments/{assignment.pk}/",
        {"traits": [{"id": voice.pk, "name": "Ideas"}, {"id": ideas.pk, "name": "Voice"}, {"name": "Grammar"}]},
        format="json",
    )
    # then the ids are kept with their new names, Grammar is new and Style is gone
    assert response.status_code == 200, response.content
    traits = list(RubricTrait.objects.filter(assignment=assignment).order_by("position"))
    assert [(t.pk, t.name) for t in traits[:2]] == [(voice.pk, "Ideas"), (ideas.pk, "Voice")]
    assert [t.name for t in traits] == ["Ideas", "Voice", "Grammar"]


def test_updating_other_fields_leaves_the_rubric_alone(world, api_as):
    assignment = f.AssignmentFactory(course=world.course)
    trait = f.RubricTraitFactory(assignment=assignment)
    response = api_as(world.teacher).patch(f"/api/v1/assignments/{assignment.pk}/", {"title": "New"}, format="json")
    assert response.status_code == 200
    assert [t["id"] for t in response.json()["traits"]] == [trait.pk]


def test_an_answered_assignment_cannot_be_deleted(world, api_as):
    # given an assignment with a submission
    assignment = f.AssignmentFactory(course=world.course)
    f.SubmissionFactory(assignment=assignment, author=world.student)
    # when the teacher deletes it
    response = api_as(world.teacher).delete(f"/api/v1/assignments/{assignment.pk}/")
    # then it is refused with advice, and the assignment and its submission stay
    assert response.status_code == 400
    assert "unpublish it instead" in response.json()["detail"][0]
    assert Assignment.objects.filter(pk=assignment.pk).exists()


def test_students_do_not_see_unpublished_assignments(world, api_as):
    draft = f.AssignmentFactory(course=world.course, is_published=False, title="Draft")
    f.AssignmentFactory(course=world.course, title="Live")
    student = api_as(world.student)
    assert [a["title"] for a in student.get("/api/v1/assignments/").json()["results"]] == ["Live"]
    assert student.get(f"/api/v1/assignments/{draft.pk}/").status_code == 404
    teacher_titles = {a["title"] for a in api_as(world.teacher).get("/api/v1/assignments/").json()["results"]}
    assert teacher_titles == {"Draft", "Live"}


def test_assignments_filter_by_course_and_skill_and_order(world, api_as):
    skill = f.SkillFactory(course=world.course)
    first = f.AssignmentFactory(course=world.course, title="B")
    first.skills.add(skill)
    f.AssignmentFactory(course=world.course, title="A")
    f.AssignmentFactory(course=world.other_course, title="Other")
    admin = api_as(world.admin)
    by_course = admin.get(f"/api/v1/assignments/?course={world.course.pk}&ordering=title").json()["results"]
    assert [a["title"] for a in by_course] == ["A", "B"]
    by_skill = admin.get(f"/api/v1/assignments/?skill={skill.pk}").json()["results"]
    assert [a["title"] for a in by_skill] == ["B"]


# --- practice items and resources --------------------------------------------------------


def test_practice_item_answers_are_for_staff_only(world, api_as):
    item = f.PracticeItemFactory(course=world.course, answer="7/8")
    assert api_as(world.student).get(f"/api/v1/practice-items/{item.pk}/").json()["answer"] is None
    assert api_as(world.ta).get(f"/api/v1/practice-items/{item.pk}/").json()["answer"] == "7/8"
    listed = api_as(world.student).get("/api/v1/practice-items/").json()["results"]
    assert [i["answer"] for i in listed] == [None]


def test_inactive_resources_are_hidden_from_students(world, api_as):
    f.LearningResourceFactory(course=world.course, title="Old", is_active=False)
    f.LearningResourceFactory(course=world.course, title="Current")
    assert [r["title"] for r in api_as(world.student).get("/api/v1/resources/").json()["results"]] == ["Current"]
    assert len(api_as(world.teacher).get("/api/v1/resources/").json()["results"]) == 2


def test_resource_skills_must_belong_to_its_course(world, api_as):
    resource = f.LearningResourceFactory(course=world.course)
    foreign = f.SkillFactory(course=world.other_course)
    response = api_as(world.admin).patch(f"/api/v1/resources/{resource.pk}/", {"skills": [foreign.pk]}, format="json")
    assert response.status_code == 400
    assert "do not belong to this course" in response.json()["skills"][0]
    assert resource.skills.count() == 0


def test_pagination_is_bounded(world, api_as):
    for i in range(5):
        f.SkillFactory(course=world.course, name=f"s{i}")
    client = api_as(world.teacher)
    page = client.get("/api/v1/skills/?page_size=2").json()
    assert (page["count"], len(page["results"])) == (5, 2)
    assert page["next"] is not None
    assert client.get("/api/v1/skills/?page=99").status_code == 404


def test_a_constraint_race_past_the_checks_is_a_409_not_a_500(world, api_as, monkeypatch):
    # given a write that loses a race to a concurrent one (the database refuses it)
    from django.db import IntegrityError

    from eduai.courses import services

    def lose_the_race(**kwargs):
        raise IntegrityError("UNIQUE constraint failed: courses_skill.course_id, courses_skill.name")

    monkeypatch.setattr(services, "skill_create", lose_the_race)
    # when the teacher's request hits it
    response = api_as(world.teacher).post("/api/v1/skills/", {"course": world.course.pk, "name": "X"}, format="json")
    # then they are told it conflicts, without database details
    assert response.status_code == 409
    assert "nothing was saved" in response.json()["detail"]
    assert "UNIQUE" not in response.content.decode()
