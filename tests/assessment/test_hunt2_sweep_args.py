"""assessment_sweep: a look-back, grace or limit no date or query can hold is a clear
CommandError naming the option, not a ValueError/OverflowError traceback (hunt 2)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--hours", "nan"),
        ("--hours", "inf"),
        ("--hours", "1e10"),
        ("--grace", str(10**14)),
        ("--limit", str(10**20)),
    ],
)
def test_an_impossible_window_or_limit_is_a_command_error(db, option, value):
    with pytest.raises(CommandError) as err:
        call_command("assessment_sweep", "--dry-run", option, value)
    assert option in str(err.value)


def test_the_largest_allowed_values_still_run(db):
    out = StringIO()
    call_command("assessment_sweep", "--dry-run", "--hours", "876000", "--grace", "0", "--limit", "1000000", stdout=out)
    assert "dry run" in out.getvalue()
