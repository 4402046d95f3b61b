"""evaluate_mastery's input file: a row the reader cannot turn into numbers is a clear
CommandError, not a pandas traceback (hunt 2)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command


@pytest.mark.parametrize("seq", ["1e400", "inf", "-inf", "1e30"])
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
    assert "line 2: seq must be an integer" in str(err.value)


def test_out_in_a_folder_not_made_yet_is_written_not_a_traceback_after_the_run(tmp_path):
    # Given a valid log and --out naming a file in a folder that does not exist yet
    from tests.assessment.test_commands import make_log

    out = tmp_path / "results" / "bkt" / "result.json"

    # When the evaluation has run, Then its result is written there (the folder made), as
    # evaluate_grader does, instead of a FileNotFoundError losing the run
    call_command(
        "evaluate_mastery", str(make_log(tmp_path, n_students=12, length=8)), "--model", "bkt", "--out", str(out)
    )
    assert "auc" in out.read_text()


def test_evaluate_risk_out_in_a_folder_not_made_yet_is_written(tmp_path):
    out = tmp_path / "results" / "risk.json"
    call_command("evaluate_risk", "--students", "60", "--out", str(out))
    assert "simulated" in out.read_text()


@pytest.mark.parametrize("students", ["49", "100001", str(10**12)])
def test_evaluate_risk_refuses_a_population_out_of_bounds_before_simulating(students):
    # Given a cohort size too small for reliability bins, or one that would simulate for hours
    # When the evaluation is asked for, Then it stops at once naming the option and its bounds
    with pytest.raises(CommandError, match=r"--students must be between 50 and 100,000"):
        call_command("evaluate_risk", "--students", students)
