"""Read interaction logs (CSV) into per-student histories, refusing bad rows with plain messages.

Accepted shapes (columns in any order, extra columns ignored):

- the evaluation format: ``student_id, seq, item_id, skill_ids, correct, split`` — one row per
  response, ``skill_ids`` separated by ``;`` (may be empty: a response with no skill);
- the one-row-per-skill form of the dev logs: ``skill_id`` instead of ``skill_ids``; rows with
  the same ``student_id`` + ``seq`` are one response whose skills are gathered (they must agree
  on ``item_id`` and ``correct``);
- ``fold`` (an integer) instead of ``split``: the caller turns folds into train/test.

``correct`` must be a boolean: ``0``/``1``/``true``/``false`` (any case). ``split`` must be
``train`` or ``test`` and the same on every row of a student. ``seq`` must be an integer and
orders a student's responses (rows may come in any order); two different responses with the
same ``student_id`` + ``seq`` are an error, an exact duplicate row is dropped.
Every problem raises :class:`LogFormatError` naming the first offending line (1 = header).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd

from .base import Response

_TRUE = {"1", "true", "t", "yes"}
_FALSE = {"0", "false", "f", "no"}


class LogFormatError(ValueError):
    pass


@dataclass(frozen=True)
class StudentLog:
    student_id: str
    split: str  # "train", "test", or the fold number as text when the file has folds
    responses: tuple[Response, ...]


def _line(frame: pd.DataFrame, mask: pd.Series) -> int:
    # +2: one for the header, one because the index is 0-based
    return int(frame.index[mask.to_numpy()][0]) + 2


def _seq_values(column: pd.Series) -> pd.Series:
    """``seq`` as integers, NA where the text is not an integer an int64 holds.

    Read exactly, never through a float: two seqs above 2**53 would become one, and a
    fractional or huge one (``1.5``, ``1e30``, ``inf``) would become some int64 and scramble
    the student's order. A plain integer literal is the common case; a decimal or exponent form
    (``3.0``, ``1e3``: a float column written out) is accepted when it is whole.
    """
    text = column.str.strip()
    plain = text.str.fullmatch(r"[+-]?[0-9]{1,19}")
    # built as Python ints in an object column: pandas' own inference would go through float64
    values = pd.Series(
        [int(t) if p else _exact_integer(t) for t, p in zip(text, plain, strict=True)], index=column.index, dtype=object
    )
    return values.where(values.map(lambda v: v is not None and -(2**63) <= v < 2**63), pd.NA)


_NUMERAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,6})?")


def _exact_integer(text: str) -> int | None:
    """The integer a decimal or exponent numeral (ASCII digits) denotes exactly, else None."""
    if not _NUMERAL.fullmatch(text):
        return None
    number = Decimal(text)
    if abs(number) >= 2**63 or number != number.to_integral_value():
        return None
    return int(number)


def read_interactions(path: str | Path) -> list[StudentLog]:
    p = Path(path)
    if not p.is_file():
        raise LogFormatError(f"{p}: no such file")
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise LogFormatError(f"{p}: not a readable CSV file ({exc})") from exc
    cols = {c.strip().lower(): c for c in df.columns}
    df = df.rename(columns={v: k for k, v in cols.items()})
    skill_col = "skill_ids" if "skill_ids" in df.columns else "skill_id" if "skill_id" in df.columns else None
    split_col = "split" if "split" in df.columns else "fold" if "fold" in df.columns else None
    missing = [c for c in ("student_id", "seq", "item_id", "correct") if c not in df.columns]
    if skill_col is None:
        missing.append("skill_ids")
    if split_col is None:
        missing.append("split")
    if missing:
        raise LogFormatError(f"{p}: missing column(s) {', '.join(missing)}")
    if df.empty:
        raise LogFormatError(f"{p}: no rows")
    for c in ("student_id", "seq", "item_id", split_col):
        blank = df[c].str.strip() == ""
        if blank.any():
            raise LogFormatError(f"{p} line {_line(df, blank)}: empty {c}")
    low = df["correct"].str.strip().str.lower()
    bad = ~low.isin(_TRUE | _FALSE)
    if bad.any():
        line = _line(df, bad)
        raise LogFormatError(f"{p} line {line}: correct must be 0/1/true/false, got {df['correct'][bad].iloc[0]!r}")
    df["correct"] = low.isin(_TRUE).astype(float)
    seq = _seq_values(df["seq"])
    bad = seq.isna()
    if bad.any():
        raise LogFormatError(
            f"{p} line {_line(df, bad)}: seq must be an integer (|seq| < 2**63), got {df['seq'][bad].iloc[0]!r}"
        )
    df["seq"] = seq.astype("int64")
    df["split"] = df[split_col].str.strip().str.lower()
    if split_col == "split":
        bad = ~df["split"].isin({"train", "test"})
        if bad.any():
            raise LogFormatError(f"{p} line {_line(df, bad)}: split must be train or test")
    else:
        bad = pd.to_numeric(df["split"], errors="coerce").isna()
        if bad.any():
            raise LogFormatError(f"{p} line {_line(df, bad)}: fold must be an integer")
    if (df.groupby("student_id")["split"].nunique() > 1).any():
        sid = df.groupby("student_id")["split"].nunique().pipe(lambda s: s[s > 1].index[0])
        raise LogFormatError(f"{p}: student {sid} has rows in more than one split; split is per student")
    df["student_id"] = df["student_id"].str.strip()
    df["item_id"] = df["item_id"].str.strip()
    df["skills"] = df[skill_col].map(lambda s: tuple(k.strip() for k in s.split(";") if k.strip()))
    df = df.drop_duplicates(subset=["student_id", "seq", "item_id", "correct", "skills"])
    key = ["student_id", "seq"]
    if skill_col == "skill_id":
        agree = df.groupby(key).agg(items=("item_id", "nunique"), answers=("correct", "nunique"))
        clash = agree[(agree["items"] > 1) | (agree["answers"] > 1)]
        if len(clash):
            s, q = clash.index[0]
            raise LogFormatError(f"{p}: student {s} seq {q}: rows of one response disagree on item_id or correct")
        df = (
            df.groupby(key, sort=False)
            .agg(
                item_id=("item_id", "first"),
                correct=("correct", "first"),
                split=("split", "first"),
                skills=("skills", lambda col: tuple(dict.fromkeys(k for t in col for k in t))),
            )
            .reset_index()
        )
    else:
        dup = df.duplicated(subset=key, keep=False)
        if dup.any():
            row = df[dup].iloc[0]
            raise LogFormatError(f"{p}: student {row['student_id']} has two different responses with seq {row['seq']}")
    df = df.sort_values(["student_id", "seq"], kind="stable")
    logs: list[StudentLog] = []
    for sid, g in df.groupby("student_id", sort=False):
        responses = tuple(
            Response(item=i, skills=s, correct=c)
            for i, s, c in zip(g["item_id"], g["skills"], g["correct"], strict=True)
        )
        logs.append(StudentLog(student_id=str(sid), split=str(g["split"].iloc[0]), responses=responses))
    return logs


def split_by_fold(logs: list[StudentLog], test_fold: str) -> tuple[list[StudentLog], list[StudentLog]]:
    """Students of ``test_fold`` are the test set, everyone else trains."""
    train = [s for s in logs if s.split != test_fold]
    test = [s for s in logs if s.split == test_fold]
    return train, test
