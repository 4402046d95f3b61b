"""Reading interaction logs: both accepted shapes, and a clear message for each bad input."""

from __future__ import annotations

import pytest

from assessment.kt.io import LogFormatError, read_interactions, split_by_fold


def write(tmp_path, text: str):
    p = tmp_path / "log.csv"
    p.write_text(text)
    return p


def test_eval_format_with_multi_skill_rows_out_of_order(tmp_path):
    p = write(
        tmp_path,
        "student_id,seq,item_id,skill_ids,correct,split\n"
        "s1,2,i3,Fractions,0,train\n"
        "s1,1,i2,Fractions;Decimals,1,train\n"
        "s2,1,i2,,true,test\n",
    )
    logs = {s.student_id: s for s in read_interactions(p)}
    assert [r.item for r in logs["s1"].responses] == ["i2", "i3"]
    assert logs["s1"].responses[0].skills == ("Fractions", "Decimals")
    assert logs["s1"].responses[0].correct == 1.0
    assert logs["s2"].responses[0].skills == () and logs["s2"].split == "test"


def test_one_row_per_skill_form_is_grouped_into_one_response(tmp_path):
    p = write(
        tmp_path,
        "student_id,seq,item_id,skill_id,correct,fold\n7,0,100,A,1,1\n7,0,100,B,1,1\n7,1,101,A,0,1\n8,0,100,A,0,2\n",
    )
    logs = read_interactions(p)
    seven = next(s for s in logs if s.student_id == "7")
    assert [(r.item, r.skills, r.correct) for r in seven.responses] == [("100", ("A", "B"), 1.0), ("101", ("A",), 0.0)]
    train, test = split_by_fold(logs, "2")
    assert [s.student_id for s in test] == ["8"] and [s.student_id for s in train] == ["7"]


def test_exact_duplicate_rows_are_dropped(tmp_path):
    p = write(tmp_path, "student_id,seq,item_id,skill_ids,correct,split\na,1,q,S,1,train\na,1,q,S,1,train\n")
    assert len(read_interactions(p)[0].responses) == 1


@pytest.mark.parametrize(
    "text,message",
    [
        ("student_id,seq,item_id,skill_ids,correct,split\na,1,q,S,yes please,train\n", "line 2: correct must be"),
        ("student_id,seq,item_id,skill_ids,correct,split\na,1,q,S,2,train\n", "correct must be"),
        ("student_id,seq,item_id,skill_ids,correct,split\na,one,q,S,1,train\n", "seq must be an integer"),
        # numbers no int64 holds: each would have become an arbitrary seq and scrambled the order
        *[
            (f"student_id,seq,item_id,skill_ids,correct,split\na,1,q,S,1,train\na,{seq},r,S,0,train\n", "line 3: seq")
            for seq in (
                *("inf", "-inf", "nan", "1e30", "1e400", "1.5", "9223372036854775808", "12345678901234567890123"),
                *("1.0000000000000001", "0x10", "1_000", "\u0663"),  # not whole; not ASCII decimal numerals
            )
        ],
        ("student_id,seq,item_id,skill_ids,correct,split\na,1,q,S,1,valid\n", "split must be train or test"),
        ("student_id,seq,item_id,skill_ids,correct,split\na,1,q,S,1,train\na,2,q,S,1,test\n", "split is per student"),
        ("student_id,seq,item_id,skill_ids,correct,split\na,1,q,S,1,train\na,1,r,S,0,train\n", "two different"),
        ("student_id,seq,item_id,skill_id,correct,fold\na,1,q,S,1,1\na,1,q,T,0,1\n", "disagree"),
        ("student_id,seq,item_id,correct,split\na,1,q,1,train\n", "missing column(s) skill_ids"),
        ("student_id,seq,item_id,skill_ids,correct,split\n", "no rows"),
        ("", "not a readable CSV"),
        ("student_id,seq,item_id,skill_ids,correct,split\n,1,q,S,1,train\n", "empty student_id"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message(tmp_path, text, message):
    with pytest.raises(LogFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_interactions(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(LogFormatError, match="no such file"):
        read_interactions(tmp_path / "nope.csv")


def test_seq_is_read_exactly_beyond_float_precision_and_float_written_seqs_are_accepted(tmp_path):
    # Given seqs above 2**53 that a float would merge, and a seq written out as a float
    big = 2**60
    p = write(
        tmp_path,
        "student_id,seq,item_id,skill_ids,correct,split\n"
        f"a,{big + 1},late,S,0,train\na,{big},early,S,1,train\na,2.0,first,S,1,train\na,1e1,second,S,1,train\n"
        # in decimal and exponent form too: a float would make 2**53 + 1 and 2**53 one seq
        f"b,{2**53 + 1}.0,later,S,0,train\nb,{2**53}e0,sooner,S,1,train\nb,000{2**53 + 3},last,S,1,train\n",
    )

    # When read, Then they are distinct responses in exact seq order
    logs = {s.student_id: s for s in read_interactions(p)}
    assert [r.item for r in logs["a"].responses] == ["first", "second", "early", "late"]
    assert [r.item for r in logs["b"].responses] == ["sooner", "later", "last"]
