"""Score bounds in the assignment services: the +-10,000 bound (added after assignments existed)
applies to scores being set, not to ones stored before it, which must not block other edits."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from eduai.courses.models import Assignment, RubricTrait
from eduai.courses.services import assignment_create, assignment_update
from tests import factories as f


@pytest.fixture
def legacy(world):
    # given an assignment and a trait saved with scores above today's bound
    assignment = f.AssignmentFactory(course=world.course, min_score=0, max_score=50_000)
    trait = f.RubricTraitFactory(assignment=assignment, name="Ideas", min_score=0, max_score=20_000)
    return assignment, trait


def test_an_assignment_stored_before_the_bound_can_still_be_edited(legacy):
    assignment, trait = legacy
    assignment_update(assignment_id=assignment.pk, data={"title": "Renamed"}, traits=[{"id": trait.pk, "name": "Idea"}])
    assignment.refresh_from_db()
    assert (assignment.title, assignment.max_score) == ("Renamed", 50_000)
    assert RubricTrait.objects.get(pk=trait.pk).name == "Idea"


def test_a_teacher_renames_such_an_assignment_through_the_api(legacy, api_as, world):
    assignment, _ = legacy
    response = api_as(world.teacher).patch(f"/api/v1/assignments/{assignment.pk}/", {"title": "Renamed"}, format="json")
    assert response.status_code == 200, response.content
    assert Assignment.objects.get(pk=assignment.pk).title == "Renamed"


@pytest.mark.parametrize("data", [{"max_score": 60_000}, {"min_score": -20_000}, {"max_score": -1}])
def test_scores_being_set_are_still_bounded_and_ordered(legacy, data):
    assignment, _ = legacy
    with pytest.raises(ValidationError):
        assignment_update(assignment_id=assignment.pk, data=data)
    assert Assignment.objects.get(pk=assignment.pk).max_score == 50_000


def test_a_trait_score_being_set_is_still_bounded(legacy):
    assignment, trait = legacy
    with pytest.raises(ValidationError):
        assignment_update(assignment_id=assignment.pk, data={}, traits=[{"id": trait.pk, "max_score": 30_000}])


def test_a_new_assignment_is_bounded(world):
    with pytest.raises(ValidationError):
        assignment_create(course_id=world.course.pk, title="T", prompt="P", max_score=10_001)
