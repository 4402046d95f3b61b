"""GET students/{id}/predicted-success/: staff ask only about students of the items' courses
("You may only ask about students of courses you teach"); anyone else, of this school or
another, is 'no such student' rather than a prediction for a stranger (hunt 2)."""

from __future__ import annotations

import pytest

from tests import factories as f


def _url(student_id: int, item_id: int) -> str:
    return f"/api/v1/assessment/students/{student_id}/predicted-success/?item_ids={item_id}"


@pytest.mark.parametrize("who", ["other_student", "other_admin", "other_teacher"])
@pytest.mark.parametrize("asker", ["teacher", "ta", "admin"])
def test_staff_cannot_ask_about_someone_who_is_not_a_student_of_the_items_course(api_as, world, who, asker):
    # Given a practice item of the teacher's course and someone who is not its student
    item = f.PracticeItemFactory(course=world.course)
    stranger = getattr(world, who)

    # When the course's staff ask for that person's predicted success on the item
    r = api_as(getattr(world, asker)).get(_url(stranger.pk, item.pk))

    # Then there is no such student for them (as for a user id that does not exist)
    assert r.status_code == 404, r.content


def test_staff_still_see_their_students_prediction(api_as, world):
    item = f.PracticeItemFactory(course=world.course)
    r = api_as(world.teacher).get(_url(world.student.pk, item.pk))
    assert r.status_code == 200
    assert set(r.json()["items"]) == {str(item.pk)}


def test_a_student_learns_nothing_about_which_user_ids_exist(api_as, world):
    # Given a practice item of the student's course
    item = f.PracticeItemFactory(course=world.course)

    # When the student asks about a classmate's id and about an id nobody has
    existing = api_as(world.student).get(_url(world.other_admin.pk, item.pk))
    missing = api_as(world.student).get(_url(world.other_admin.pk + 10_000, item.pk))

    # Then both are the same refusal: whether the id is someone's is none of their business
    assert existing.status_code == missing.status_code == 403
    assert existing.json() == missing.json()
