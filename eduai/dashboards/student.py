"""Panels of one student's page: the open learner model a student can read, and a teacher's
drill-down. What a student may see differs from what staff see in one place: a grade that is
decided but not yet released is staff-only (``StudentContext.staff``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import sources
from .figures import (
    BLACK,
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    VERMILLION,
    Fig,
    Panel,
    hover_date,
    line_style,
    status_label,
    style,
)
from .panels import MAX_LINES, _empty, pct

# Mastery bands of the open learner model (share of the skill's evidence the model credits):
# below 40% "not yet", 40-70% "getting there", 70%+ "secure". The 70% line is where the
# recommender stops treating a skill as a gap (see recommender/ranking.py).
BANDS = ((40.0, VERMILLION), (70.0, ORANGE), (101.0, GREEN))


def band_colour(p: float) -> str:
    return next(colour for edge, colour in BANDS if p < edge)


@dataclass
class StudentContext:
    user: Any
    course: Any
    student_id: int
    name: str
    staff: bool
    now: datetime

    @cached_property
    def skills(self) -> pd.DataFrame:
        return sources.course_skills(course_id=self.course.pk)

    def csv_url(self, key: str) -> str:
        return reverse("dashboards:student-csv", args=[self.course.pk, self.student_id, key])


def student_mastery(ctx: StudentContext) -> Panel:
    title = _("Mastery per skill")
    df = sources.student_mastery(course_id=ctx.course.pk, student_id=ctx.student_id)
    if df.empty:
        return Panel("mastery", title, _("This course has no skills yet."), _empty(df, "skill"))
    df.insert(1, "skill", df["skill_id"].map(ctx.skills.set_index("id")["name"]))
    df = df.sort_values("skill").reset_index(drop=True)
    fig = Fig()
    fig.add_bar(
        y=df["skill"],
        x=df["mastery_pct"],
        orientation="h",
        marker_color=[band_colour(p) for p in df["mastery_pct"]],
        marker_pattern_shape=["" if n else "/" for n in df["evidence"]],
        text=[pct(p) for p in df["mastery_pct"]],
        textposition="outside",
        customdata=np.stack([df["evidence"], df["trend_pct_points"]], axis=1),
        hovertemplate="%{y}: %{x:.0f}%<br>"
        + _("evidence")
        + ": %{customdata[0]}<br>"
        + _("trend")
        + ": %{customdata[1]:+.0f}<extra></extra>",
    )
    for edge, label in ((40, _("getting there")), (70, _("secure"))):
        fig.add_vline(edge, color=GREY, dash="dot", label=label)
    fig.update_xaxes(range=[0, 110])
    fig.update_yaxes(autorange="reversed", type="category")
    secure = int((df["mastery_pct"] >= 70).sum())
    weakest = df.sort_values("mastery_pct").iloc[0]
    no_evidence = int((df["evidence"] == 0).sum())
    summary = _("%(secure)s of %(n)s skills are secure (70%% or more). Weakest: %(weak)s at %(p)s.") % {
        "secure": secure,
        "n": len(df),
        "weak": weakest["skill"],
        "p": pct(weakest["mastery_pct"]),
    }
    if no_evidence:
        summary += " " + ngettext(
            "%(n)s skill has no evidence yet (hatched bar: the model's first guess).",
            "%(n)s skills have no evidence yet (hatched bars: the model's first guess).",
            no_evidence,
        ) % {"n": no_evidence}
    figure = style(fig, title=title, x=_("Mastery (%)"), height=140 + 30 * len(df))
    return Panel("mastery", title, summary, df, figure)


def student_progress(ctx: StudentContext) -> Panel:
    title = _("Progress over time")
    df = sources.student_history(course_id=ctx.course.pk, student_id=ctx.student_id)
    if df.empty:
        return Panel("progress", title, _("No progress recorded yet."), _empty(df, "skill"))
    names = ctx.skills.set_index("id")["name"]
    df.insert(
        1, "skill", [names.get(s, "") if s is not None and not pd.isna(s) else _("All skills") for s in df["skill_id"]]
    )
    overall = df[df["skill_id"].isna()]
    fig = Fig()
    skills = [s for s in dict.fromkeys(df.loc[df["skill_id"].notna(), "skill"])]
    for k, s in enumerate(skills):
        part = df[df["skill"] == s]
        fig.add_scatter(
            x=part["at"],
            y=part["mastery_pct"],
            name=s,
            mode="lines",
            line_shape="hv",
            line=line_style(k),
            opacity=0.8,
            visible=True if len(skills) <= MAX_LINES else "legendonly",
        )
    fig.add_scatter(
        x=overall["at"],
        y=overall["mastery_pct"],
        name=_("All skills (mean)"),
        mode="lines+markers",
        line={"color": BLACK, "width": 3},
        marker_size=5,
    )
    fig.update_yaxes(range=[0, 100])
    first, last = overall["mastery_pct"].iloc[0], overall["mastery_pct"].iloc[-1]
    summary = _("Mean mastery went from %(a)s to %(b)s over %(n)s pieces of evidence.") % {
        "a": pct(first),
        "b": pct(last),
        "n": len(overall),
    }
    figure = style(fig, title=title, x=_("Date"), y=_("Mastery (%)"))
    return Panel("progress", title, summary, df, figure)


def student_submissions(ctx: StudentContext) -> Panel:
    title = _("Submissions, grades and feedback")
    subs = sources.student_submissions(course_id=ctx.course.pk, student_id=ctx.student_id)
    if subs.empty:
        return Panel("submissions", title, _("No submissions yet."), _empty(subs, "assignment"))
    released_ids = subs.loc[subs["status"] == "released", "submission_id"].astype(int).tolist()
    grades = sources.released_grades(user=ctx.user, submission_ids=released_ids)
    rows = []
    for r in subs.itertuples():
        g = grades.get(r.submission_id)
        # A student sees a grade only once released; staff see the grade of record at once.
        score = (g.score if g is not None else None) if not ctx.staff else r.final_score
        if score is not None and pd.isna(score):
            score = None
        feedback = " ".join(sources.feedback_texts(g.feedback)) if g is not None else ""
        if g is not None and g.comment:
            feedback = (feedback + " " + _("Teacher: %(c)s") % {"c": g.comment}).strip()
        span = r.max_score - r.min_score
        rows.append(
            {
                "submission_id": r.submission_id,
                "assignment": r.assignment,
                "attempt": r.attempt,
                "submitted_at": r.submitted_at,
                "status": str(status_label(r.status)),
                "score": score,
                "score_pct": None if score is None else 100.0 * (score - r.min_score) / span,
                "feedback": feedback,
                "_url_assignment": (
                    reverse("review:my-submission", args=[r.submission_id])
                    if not ctx.staff
                    else reverse("review:item", args=[ctx.course.pk, r.submission_id])
                ),
            }
        )
    df = pd.DataFrame(rows)
    graded = df[df["score_pct"].notna()]
    figure = None
    if not graded.empty:
        fig = Fig()
        for k, (a, part) in enumerate(graded.groupby("assignment", sort=False)):
            fig.add_scatter(
                x=part["submitted_at"],
                y=part["score_pct"],
                name=str(a),
                mode="lines+markers",
                marker_size=10,
                line=line_style(k),
                customdata=part["_url_assignment"],
                hovertemplate=f"{a}<br>%{{x|{hover_date()}}}: %{{y:.0f}}%<extra></extra>",
            )
        fig.update_yaxes(range=[-5, 105])
        figure = style(fig, title=title, x=_("Submitted"), y=_("Grade, share of the rubric range (%)"))
    summary = ngettext("%(n)s submission, %(g)s with a grade.", "%(n)s submissions, %(g)s with a grade.", len(df)) % {
        "n": len(df),
        "g": len(graded),
    }
    if not graded.empty:
        summary += " " + _("Latest grade: %(p)s of the range.") % {"p": pct(graded["score_pct"].iloc[-1])}
    return Panel("submissions", title, summary, df, figure)


def student_recommendations(ctx: StudentContext) -> Panel:
    title = _("Recommended next")
    df = sources.recommendations_of(user=ctx.user, course_id=ctx.course.pk, student_id=ctx.student_id, staff=ctx.staff)
    if df.empty:
        return Panel("recommendations", title, _("No recommendations yet."), _empty(df, "title"))
    kinds = {"resource": _("Resource"), "practice": _("Practice item")}
    resource_url = reverse("resource-detail", args=[ctx.course.pk, 0]).replace("/0/", "/{id}/")
    df["_url_title"] = [
        resource_url.replace("{id}", str(i)) if k == "resource" else ""
        for k, i in zip(df["kind"], df["activity_id"], strict=True)
    ]
    df["kind"] = df["kind"].map(lambda k: str(kinds.get(k, k)))
    # The ranking score has no unit of its own; shown relative to the first pick (100).
    top = float(df["score"].max())
    df["fit_pct"] = (100.0 * df["score"].astype(float) / top).clip(lower=0) if top > 0 else 0.0
    df = df.drop(columns=["score"])
    fig = Fig()
    fig.add_bar(
        y=[f"{r}. {t}" for r, t in zip(df["rank"], df["title"], strict=True)],
        x=df["fit_pct"],
        orientation="h",
        marker_color=BLUE,
        customdata=df["_url_title"],
        hovertext=df["why"],
        hovertemplate="%{y}<br>%{hovertext}<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed", type="category")
    summary = _("%(n)s activities recommended. First: %(t)s — %(why)s") % {
        "n": len(df),
        "t": df.iloc[0]["title"],
        "why": df.iloc[0]["why"] or "—",
    }
    figure = style(fig, title=title, x=_("Fit vs the first pick's score (%)"), height=140 + 34 * len(df))
    return Panel("recommendations", title, summary, df, figure)


PANELS: dict[str, Callable[[StudentContext], Panel]] = {
    "mastery": student_mastery,
    "progress": student_progress,
    "submissions": student_submissions,
    "recommendations": student_recommendations,
}
