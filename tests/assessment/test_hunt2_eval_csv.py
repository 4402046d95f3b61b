"""evaluate_mastery's input file: a row the reader cannot turn into numbers is a clear
CommandError, not a pandas traceback (hunt 2)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command


@pytest.mark.parametrize("seq", ["1e400", "inf", "-inf"])
def test_a_non_finite_seq_is_a_command_error(tmp_path, seq):
    # Given a log whose first response has a seq no integer holds
    path = tmp_path / "log.csv"
    path.write_text(
        f"student_id,seq,item_id,correct,split,skill_ids\n1,{seq},a,1,train,s1\n1,2,a,0,train,s1\n2,1,a,1,test,s1\n"
    )

    # When it is evaluated, Then the command says what is wrong with the file
    with pytest.raises(CommandError) as err:
        call_command("evaluate_mastery", str(path), "--model", "bkt")
    assert str(path) in str(err.value)
    assert "not a usable interaction log" in str(err.value)
