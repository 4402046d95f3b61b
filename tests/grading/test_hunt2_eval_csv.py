"""evaluate_grader's input file: a bad number in a row is a clear error naming the line, never a
traceback from deep inside the evaluation (hunt 2)."""

from __future__ import annotations

import csv

import pytest
from django.core.management import CommandError, call_command


def _write(path, *, max_score: str = "6", trait: str | None = None) -> str:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["essay_id", "prompt_id", "text", "score", "min_score", "max_score", "split"]
            + (["trait_style"] if trait is not None else [])
        )
        for i in range(7):
            row = [f"e{i}", "p1", f"essay number {i}", "3", "0", max_score, "train" if i < 6 else "test"]
            if trait is not None:
                row.append(trait if i == 0 else "2")
            w.writerow(row)
    return str(path)


@pytest.mark.parametrize(
    ("case", "kwargs", "names"),
    [
        ("max_score 1e20", {"max_score": "1e20"}, "max_score"),
        ("max_score 10**20 as digits", {"max_score": str(10**20)}, "max_score"),
        ("trait nan", {"trait": "nan"}, "trait_style"),
        ("trait inf", {"trait": "inf"}, "trait_style"),
        ("trait 1e300", {"trait": "1e300"}, "trait_style"),
    ],
)
def test_an_out_of_range_number_is_a_command_error_naming_line_and_column(tmp_path, case, kwargs, names):
    # Given a file whose rows are fine except for one number no rubric can hold
    path = _write(tmp_path / "essays.csv", **kwargs)

    # When it is evaluated, Then the command refuses it before any database or model work
    with pytest.raises(CommandError) as err:
        call_command("evaluate_grader", path, "--no-progress")
    assert "line 2" in str(err.value), case
    assert names in str(err.value), case


def test_a_file_saved_with_a_byte_order_mark_is_read(tmp_path):
    # Given the same essays saved as spreadsheet programs save "CSV UTF-8": with a BOM first
    from grading.evaluation import read_eval_csv

    plain = _write(tmp_path / "plain.csv")
    marked = tmp_path / "marked.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + (tmp_path / "plain.csv").read_bytes())

    # When both are read, Then they give the same prompts (the first column is not 'missing')
    assert read_eval_csv(marked) == read_eval_csv(plain)
