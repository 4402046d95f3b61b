"""recommender_refresh --course: an id no course can have is 'no course', not a driver
OverflowError from the id__in lookup (hunt 2)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command


@pytest.mark.parametrize("course_id", [str(2**63), str(2**64), "-1", "0"])
def test_an_impossible_course_id_is_a_command_error(db, course_id):
    with pytest.raises(CommandError) as err:
        call_command("recommender_refresh", "--course", course_id, "--index-only")
    assert course_id in str(err.value)
