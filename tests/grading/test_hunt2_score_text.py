"""teacher_grade_set takes a score as text too (an import); text that is not a whole number is
a ValidationError like any other bad score, never a ValueError (hunt 2)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from grading import api as grading
from tests import factories as f


@pytest.mark.parametrize("text", ["²", "--5", "-²", "+-5"])
def test_a_score_text_that_only_looks_numeric_is_a_validation_error(world, text):
    # Given a submission of a 0-6 assignment
    assignment = f.AssignmentFactory(course=world.course, min_score=0, max_score=6)
    sub = f.SubmissionFactory(assignment=assignment, author=world.student)

    # When a score is given as text that str.isdigit() accepts but is no ASCII whole number
    with pytest.raises(ValidationError) as err:
        grading.teacher_grade_set(submission_id=sub.pk, score=text, grader_id=world.teacher.pk)

    # Then it is refused as a score, and nothing is stored
    assert "score" in err.value.message_dict
    assert not grading.teacher_grades_visible(user=world.teacher).filter(submission=sub).exists()


def test_a_signed_ascii_score_text_is_still_accepted(world):
    assignment = f.AssignmentFactory(course=world.course, min_score=-3, max_score=6)
    sub = f.SubmissionFactory(assignment=assignment, author=world.student)
    grade = grading.teacher_grade_set(submission_id=sub.pk, score=" -2 ", grader_id=world.teacher.pk)
    assert grade.score == -2
