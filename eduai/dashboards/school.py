"""Panels of the school admin's analytics across all of the school's courses.

Course-level figures are aggregated in the database over the whole school (one query per
panel, whatever the number of courses); at-risk counts ask assessment once per course (its
api scores a course at a time); fairness figures come from the review loop's agreement
report for one course at a time (picked with ``?course=``).
"""

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
from django.utils.translation import gettext_lazy, ngettext

from . import sources
from .figures import BLUE, GREEN, GREY, ORANGE, SEQUENTIAL, SKY, VERMILLION, Fig, Panel, counts_axis, display, style
from .panels import _empty, pct

# Courses without an at-risk snapshot that the school page scores itself (a small school's
# first visit); more than this waits for the periodic task (6-hourly) or the command.
RISK_INLINE_COURSES = 3


@dataclass
class SchoolContext:
    user: Any
    school: Any
    now: datetime
    fairness_param: str | None = None

    @cached_property
    def courses(self) -> pd.DataFrame:
        return sources.school_courses(school_id=self.school.pk)

    @cached_property
    def course_ids(self) -> list[int]:
        return [int(i) for i in self.courses["id"]]

    @cached_property
    def codes(self) -> dict[int, str]:
        return dict(zip(self.courses["id"].astype(int), self.courses["code"], strict=True))

    @cached_property
    def pairs(self) -> pd.DataFrame:
        return sources.agreement_pairs(user=self.user, course_ids=self.course_ids)

    @cached_property
    def fairness_course_id(self) -> int | None:
        """The course whose fairness figures are shown: ?course= if it is one of the school's,
        else the course with the most teacher grades (one count, not the school's pairs)."""
        try:
            asked = int(self.fairness_param or "")
        except ValueError:
            asked = None
        if asked in self.codes:
            return asked
        return sources.most_graded_course(user=self.user, course_ids=self.course_ids)

    def fairness_choices(self) -> list[dict[str, Any]]:
        return [
            {"id": cid, "code": code, "current": cid == self.fairness_course_id} for cid, code in self.codes.items()
        ]

    @cached_property
    def _course_url(self) -> str:
        return reverse("dashboards:course", args=[0]).removesuffix("0/")

    def course_url(self, course_id: Any = "{id}") -> str:
        return f"{self._course_url}{course_id}/"

    def csv_url(self, key: str) -> str:
        url = reverse("dashboards:school-csv", args=[self.school.pk, key])
        return url + (
            f"?course={self.fairness_course_id}" if key.startswith("fairness") and self.fairness_course_id else ""
        )

    def with_course(self, df: pd.DataFrame) -> pd.DataFrame:
        df.insert(1, "course", df["course_id"].map(self.codes))
        df["_url_course"] = [self.course_url(int(i)) for i in df["course_id"]]
        return df


def school_active(ctx: SchoolContext) -> Panel:
    title = _("Active students per course")
    df = sources.active_students_per_course(course_ids=ctx.course_ids, now=ctx.now)
    if df.empty:
        return Panel("active", title, _("This school has no courses yet."), _empty(df, "course"))
    df = ctx.with_course(df)
    fig = Fig()
    for col, colour in (("enrolled_students", GREY), ("active_28_days", SKY), ("active_7_days", BLUE)):
        fig.add_bar(x=df["course"], y=df[col], name=_label(col), marker_color=colour, customdata=df["course_id"])
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category")
    summary = ngettext(
        "%(a)s of %(e)s enrolled students were active in the last 7 days (%(m)s in the last 28), over %(n)s course.",
        "%(a)s of %(e)s enrolled students were active in the last 7 days (%(m)s in the last 28), over %(n)s courses.",
        len(df),
    ) % {
        "a": int(df["active_7_days"].sum()),
        "e": int(df["enrolled_students"].sum()),
        "m": int(df["active_28_days"].sum()),
        "n": len(df),
    }
    counts_axis(fig, "y", float(df["enrolled_students"].max()))
    figure = style(fig, title=title, x=_("Course"), y=_("Students"), drill=ctx.course_url())
    return Panel("active", title, summary, df, figure)


def school_activity(ctx: SchoolContext) -> Panel:
    title = _("Activity per day (last 90 days)")
    df = sources.activity_per_day(course_ids=ctx.course_ids, now=ctx.now)
    if df.empty:
        return Panel("activity", title, _("No learning activity in the last 90 days."), _empty(df, "day"))
    fig = Fig(secondary_y=True)
    fig.add_bar(x=df["day"], y=df["events"], name=_label("events"), marker_color=SKY, opacity=0.7)
    fig.add_scatter(
        x=df["day"],
        y=df["active_students"],
        name=_label("active_students"),
        mode="lines",
        line={"color": BLUE, "width": 2.5},
        secondary_y=True,
    )
    fig.update_yaxes(title_text=_("Learning events per day"), secondary_y=False, rangemode="tozero", tickformat=",d")
    fig.update_yaxes(
        title_text=_("Active students per day"), secondary_y=True, showgrid=False, rangemode="tozero", tickformat=",d"
    )
    busiest = df.loc[df["active_students"].idxmax()]
    summary = _("On average %(s)s students and %(e)s learning events a day; busiest day %(d)s with %(m)s students.") % {
        "s": f"{df['active_students'].mean():.0f}",
        "e": f"{df['events'].mean():.0f}",
        "d": display(busiest["day"]),
        "m": int(busiest["active_students"]),
    }
    return Panel("activity", title, summary, df, style(fig, title=title, x=_("Day")))


def school_submissions(ctx: SchoolContext) -> Panel:
    title = _("Submissions per day (last 90 days)")
    df = sources.submissions_per_day(course_ids=ctx.course_ids, now=ctx.now)
    if df.empty:
        return Panel("submissions", title, _("No submissions in the last 90 days."), _empty(df, "day"))
    fig = Fig()
    fig.add_bar(x=df["day"], y=df["submissions"] - df["scoring_failed"], name=_("Scored or waiting"), marker_color=BLUE)
    fig.add_bar(x=df["day"], y=df["scoring_failed"], name=_label("scoring_failed"), marker_color=VERMILLION)
    fig.update_layout(barmode="stack")
    summary = _("%(n)s submissions in 90 days (%(f)s failed scoring); on average %(d)s a day.") % {
        "n": int(df["submissions"].sum()),
        "f": int(df["scoring_failed"].sum()),
        "d": f"{df['submissions'].mean():.1f}",
    }
    counts_axis(fig, "y", float(df["submissions"].max()))
    return Panel("submissions", title, summary, df, style(fig, title=title, x=_("Day"), y=_("Submissions per day")))


def school_grading(ctx: SchoolContext) -> Panel:
    title = _("Grading volume and the share auto-released")
    df = sources.grading_volume(course_ids=ctx.course_ids)
    if df.empty or df["submissions"].sum() == 0:
        return Panel("grading", title, _("No submissions yet."), _empty(df, "course"))
    df = ctx.with_course(df)
    df["released_by_teacher"] = df["released"] - df["auto_released"]
    df["auto_released_pct"] = np.where(
        df["released"] > 0, 100.0 * df["auto_released"] / df["released"].clip(lower=1), np.nan
    )
    df = df[
        [
            "course_id",
            "course",
            "submissions",
            "awaiting_teacher",
            "released",
            "released_by_teacher",
            "auto_released",
            "auto_released_pct",
            "_url_course",
        ]
    ]
    fig = Fig()
    for col, colour in (("released_by_teacher", GREEN), ("auto_released", ORANGE), ("awaiting_teacher", GREY)):
        fig.add_bar(x=df["course"], y=df[col], name=_label(col), marker_color=colour, customdata=df["course_id"])
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category")
    released = int(df["released"].sum())
    auto = int(df["auto_released"].sum())
    summary = _(
        "%(r)s grades released, %(a)s of them (%(p)s) by the auto-release policy; %(w)s submissions await a teacher."
    ) % {
        "r": released,
        "a": auto,
        "p": pct(100.0 * auto / released if released else None),
        "w": int(df["awaiting_teacher"].sum()),
    }
    counts_axis(fig, "y", float(df["submissions"].max()))
    figure = style(fig, title=title, x=_("Course"), y=_("Submissions"), drill=ctx.course_url())
    return Panel("grading", title, summary, df, figure)


def school_agreement(ctx: SchoolContext) -> Panel:
    title = _("Human/AI agreement per course and model version")
    pairs = ctx.pairs
    if pairs.empty:
        return Panel("agreement", title, _("No teacher has graded a proposed essay yet."), _empty(pairs, "course"))
    df = sources.agreement_table(pairs, ["course_id", "model_version"])
    df["model_version"] = df["model_version"].astype(int)
    df = ctx.with_course(df)
    wide = df.pivot_table(index="course", columns="model_version", values="exact_pct")
    n = df.pivot_table(index="course", columns="model_version", values="pairs").reindex_like(wide)
    ids = [int(df.loc[df["course"] == c, "course_id"].iloc[0]) for c in wide.index]
    fig = Fig().add_heatmap(
        z=np.round(wide.to_numpy(), 1),
        x=[f"v{v}" for v in wide.columns],
        y=list(wide.index),
        zmin=0,
        zmax=100,
        colorscale=SEQUENTIAL,
        colorbar={"title": {"text": _("Exact (%)")}},
        text=np.where(np.isnan(n.to_numpy()), "", n.to_numpy().astype(str)),
        customdata=np.repeat(np.array(ids)[:, None], wide.shape[1], axis=1),
        hovertemplate="%{y} %{x}: %{z:.0f}% " + _("exact") + " (n=%{text})<extra></extra>",
        texttemplate="%{z:.0f}",
        hoverongaps=False,
        xgap=2,
        ygap=2,
    )
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_xaxes(type="category")
    by_course = sources.agreement_table(pairs, ["course_id"]).sort_values("exact_pct")
    worst = by_course.iloc[0]
    n_courses = int(pairs["course_id"].nunique())
    summary = ngettext(
        "%(n)s graded pairs over %(c)s course; overall %(e)s exact agreement. Lowest: %(w)s at %(x)s.",
        "%(n)s graded pairs over %(c)s courses; overall %(e)s exact agreement. Lowest: %(w)s at %(x)s.",
        n_courses,
    ) % {
        "n": len(pairs),
        "c": n_courses,
        "e": pct(100.0 * float((pairs["proposal"] == pairs["teacher"]).mean())),
        "w": ctx.codes.get(int(worst["course_id"]), ""),
        "x": pct(worst["exact_pct"]),
    }
    figure = style(
        fig,
        title=title,
        x=_("Model version (per assignment)"),
        y=_("Course"),
        height=max(320, 120 + 26 * len(wide)),
        drill=ctx.course_url(),
    )
    return Panel("agreement", title, summary, df, figure)


def school_risk(ctx: SchoolContext) -> Panel:
    title = _("Students at risk per course")
    from .models import CourseRiskSnapshot
    from .services import risk_snapshots_refresh

    have = set(CourseRiskSnapshot.objects.filter(course_id__in=ctx.course_ids).values_list("course_id", flat=True))
    missing_ids = [c for c in ctx.course_ids if c not in have]
    if 0 < len(missing_ids) <= RISK_INLINE_COURSES:
        # A small school's first visit: score the few courses never scored (about a second each).
        risk_snapshots_refresh(course_ids=missing_ids, now=ctx.now)
    snaps = {
        r["course_id"]: r
        for r in CourseRiskSnapshot.objects.filter(course_id__in=ctx.course_ids).values(
            "course_id", "students", "at_risk", "computed_at"
        )
    }
    df = pd.DataFrame(
        [
            {
                "course_id": cid,
                "students": snaps[cid]["students"] if cid in snaps else None,
                "students_at_risk": snaps[cid]["at_risk"] if cid in snaps else None,
                "computed_at": snaps[cid]["computed_at"] if cid in snaps else None,
            }
            for cid in ctx.course_ids
        ],
        columns=["course_id", "students", "students_at_risk", "computed_at"],
    )
    known = df[df["students"].notna()]
    if known.empty or known["students"].sum() == 0:
        return Panel(
            "risk",
            title,
            _(
                "No course's risk has been computed yet: open a course dashboard, or run "
                "manage.py dashboards_risk_refresh."
            ),
            _empty(df, "course"),
        )
    df = ctx.with_course(df)
    known = df[df["students"].notna()]
    fig = Fig()
    fig.add_bar(
        x=known["course"],
        y=known["students_at_risk"],
        marker_color=VERMILLION,
        customdata=known["course_id"],
        name=_label("students_at_risk"),
        text=[
            pct(100.0 * a / s) if s else "" for a, s in zip(known["students_at_risk"], known["students"], strict=True)
        ],
        textposition="outside",
    )
    fig.update_xaxes(type="category")
    oldest = known["computed_at"].min()
    summary = ngettext(
        "%(a)s of %(s)s active students are at risk (at least %(t)s) across %(c)s course.",
        "%(a)s of %(s)s active students are at risk (at least %(t)s) across %(c)s courses.",
        len(known),
    ) % {
        "a": int(known["students_at_risk"].sum()),
        "s": int(known["students"].sum()),
        "t": pct(sources.risk_threshold_pct()),
        "c": len(known),
    }
    summary += " " + _("Counts as of the last computation per course (oldest: %(t)s).") % {"t": display(oldest)}
    missing = len(df) - len(known)
    if missing:
        summary += " " + ngettext(
            "%(n)s course has not been computed yet.", "%(n)s courses have not been computed yet.", missing
        ) % {"n": missing}
    counts_axis(fig, "y", float(known["students_at_risk"].max()))
    figure = style(fig, title=title, x=_("Course"), y=_("Students at risk"), drill=ctx.course_url())
    return Panel("risk", title, summary, df, figure)


def school_training(ctx: SchoolContext) -> Panel:
    title = _("Model health: training history")
    df = sources.grading_models(course_ids=ctx.course_ids)
    if df.empty:
        return Panel("training", title, _("No grading model has been trained yet."), _empty(df, "course"))
    df = ctx.with_course(df)
    titles = sources.course_assignments(course_ids=ctx.course_ids).set_index("id")["title"]
    df.insert(2, "assignment", df["assignment_id"].map(titles))
    df = df.drop(columns=["model_id"])
    fig = Fig()
    for status, colour, symbol in (
        ("ready", BLUE, "circle"),
        ("failed", VERMILLION, "x"),
        ("training", GREY, "diamond"),
    ):
        part = df[df["status"] == status]
        if part.empty:
            continue
        y = part["val_qwk"].fillna(0.0) if status != "ready" else part["val_qwk"]
        fig.add_scatter(
            x=part["created_at"],
            y=y,
            mode="markers",
            name=_status(status),
            marker={"color": colour, "symbol": symbol, "size": [12 if a else 8 for a in part["is_active"]]},
            customdata=part["course_id"],
            hovertext=[
                f"{c} · {a} · v{v} ({m})"
                for c, a, v, m in zip(part["course"], part["assignment"], part["version"], part["method"], strict=True)
            ],
            hovertemplate="%{hovertext}<br>QWK %{y:.2f}<extra></extra>",
        )
    fig.update_yaxes(range=[-0.05, 1.05])
    failed = int((df["status"] == "failed").sum())
    summary = ngettext(
        "%(n)s model trained, %(f)s failed; %(a)s serving. Median validation QWK of ready models: %(q)s.",
        "%(n)s models trained, %(f)s failed; %(a)s serving. Median validation QWK of ready models: %(q)s.",
        len(df),
    ) % {
        "n": len(df),
        "f": failed,
        "a": int(df["is_active"].sum()),
        "q": f"{df.loc[df['status'] == 'ready', 'val_qwk'].median():.2f}" if (df["status"] == "ready").any() else "—",
    }
    figure = style(fig, title=title, x=_("Trained on"), y=_("Validation QWK"), drill=ctx.course_url())
    return Panel("training", title, summary, df, figure)


def school_latency(ctx: SchoolContext) -> Panel:
    title = _("Model health: scoring time per essay")
    df = sources.scoring_latency(user=ctx.user, course_ids=ctx.course_ids, now=ctx.now)
    if df.empty:
        return Panel("latency", title, _("No essays scored in the last 90 days."), _empty(df, "day"))
    fig = Fig()
    fig.add_scatter(
        x=df["day"], y=df["mean_seconds"], name=_label("mean_seconds"), mode="lines+markers", line_color=BLUE
    )
    fig.add_scatter(
        x=df["day"], y=df["max_seconds"], name=_label("max_seconds"), mode="lines", line_color=ORANGE, line_dash="dot"
    )
    fig.update_yaxes(rangemode="tozero")
    summary = _("%(n)s essays scored in 90 days; mean %(m)s s per essay, slowest %(w)s s.") % {
        "n": int(df["proposals"].sum()),
        "m": f"{np.average(df['mean_seconds'], weights=df['proposals']):.2f}",
        "w": f"{df['max_seconds'].max():.2f}",
    }
    return Panel("latency", title, summary, df, style(fig, title=title, x=_("Day"), y=_("Seconds per essay")))


def school_drift(ctx: SchoolContext) -> Panel:
    title = _("Model health: score drift (proposals against grades of record)")
    df = sources.score_drift(user=ctx.user, course_ids=ctx.course_ids, now=ctx.now)
    if df.empty:
        return Panel("drift", title, _("No scores in the last 180 days."), _empty(df, "week"))
    fig = Fig()
    fig.add_scatter(
        x=df["week"],
        y=df["mean_proposal_pct"],
        name=_label("mean_proposal_pct"),
        mode="lines+markers",
        line_color=ORANGE,
    )
    fig.add_scatter(
        x=df["week"],
        y=df["mean_grade_pct"],
        name=_label("mean_grade_pct"),
        mode="lines+markers",
        line_color=BLUE,
        line_dash="dash",
    )
    fig.update_yaxes(range=[0, 100])
    gap = (df["mean_proposal_pct"] - df["mean_grade_pct"]).dropna()
    summary = _("Weekly mean model proposal and mean grade of record, as a percentage of each rubric's range.")
    if len(gap):
        summary += " " + _("Latest gap: %(g)s points (model minus grades).") % {"g": f"{gap.iloc[-1]:+.1f}"}
    return Panel(
        "drift", title, summary, df, style(fig, title=title, x=_("Week"), y=_("Mean score, share of rubric range (%)"))
    )


# Essay-length bands (grading.review.fairness.length_band) in reading order, with their names.
LENGTH_BANDS = {"short": gettext_lazy("Short"), "medium": gettext_lazy("Medium"), "long": gettext_lazy("Long")}


def _fairness(
    ctx: SchoolContext, key: str, title: str, attr: str, axis: str, labels: dict[str, Any] | None = None
) -> Panel:
    cid = ctx.fairness_course_id
    cols = ["course_id", "group", "pairs", "mean_points", "ci_low_points", "ci_high_points"]
    if cid is None:
        return Panel(key, title, _("No teacher has graded a proposed essay yet."), pd.DataFrame(columns=cols))
    report = sources.agreement_report(user=ctx.user, course_id=cid)
    groups = getattr(report, attr)
    df = pd.DataFrame(
        [
            {
                "course_id": cid,
                "group": g.group,
                "pairs": g.n,
                "mean_points": g.mean,
                "ci_low_points": g.ci_low,
                "ci_high_points": g.ci_high,
            }
            for g in groups
        ],
        columns=cols,
    )
    if df.empty:
        return Panel(key, title, _("No graded pairs in this course yet."), df)
    if labels:
        # Named groups in their own order (short, medium, long), not their codes in report order.
        order = {code: k for k, code in enumerate(labels)}
        df = df.sort_values("group", key=lambda s: s.map(order).fillna(len(order)), kind="stable")
        df["group"] = [str(labels.get(g, g)) for g in df["group"]]
    df = ctx.with_course(df)
    mean = df["mean_points"].astype(float)
    fig = Fig()
    fig.add_scatter(
        x=df["group"],
        y=mean,
        mode="markers",
        marker={"size": 12, "color": BLUE},
        error_y={
            "type": "data",
            "symmetric": False,
            "array": (df["ci_high_points"].astype(float) - mean).fillna(0),
            "arrayminus": (mean - df["ci_low_points"].astype(float)).fillna(0),
            "color": GREY,
        },
        customdata=df["pairs"],
        hovertemplate="%{x}: %{y:+.2f} (n=%{customdata})<extra></extra>",
        name=_label("mean_points"),
    )
    fig.add_hline(0, color=GREEN)
    fig.update_xaxes(type="category")
    spread = mean.max() - mean.min() if len(mean.dropna()) > 1 else 0.0
    summary = _(
        "%(c)s: mean model-minus-teacher difference per group with 95%% intervals; groups differ by up to "
        "%(s)s points. Zero means the model agrees with teachers on average."
    ) % {"c": ctx.codes.get(cid, ""), "s": f"{spread:.2f}"}
    figure = style(fig, title=title + f" — {ctx.codes.get(cid, '')}", x=axis, y=_("Model − teacher (rubric points)"))
    return Panel(key, title, summary, df, figure)


def school_fairness_language(ctx: SchoolContext) -> Panel:
    return _fairness(
        ctx,
        "fairness_language",
        _("Fairness: model − teacher by language background"),
        "by_language_background",
        _("Language background"),
    )


def school_fairness_length(ctx: SchoolContext) -> Panel:
    return _fairness(
        ctx,
        "fairness_length",
        _("Fairness: model − teacher by essay length"),
        "by_length",
        _("Essay length"),
        LENGTH_BANDS,
    )


def _label(col: str) -> str:
    from .figures import COLUMN_LABELS

    return str(COLUMN_LABELS.get(col, col))


def _status(code: str) -> str:
    return {"ready": _("Ready"), "failed": _("Failed"), "training": _("Training")}.get(code, code)


# Panels fetched by the browser after the page is shown: each scans a large share of the
# school's events or grades (0.5-4 s at 2,000,000 events, bench/dashboards.py), or is the review
# loop's full fairness report of one course.
DEFERRED = {
    "risk": gettext_lazy("Students at risk per course"),
    "active": gettext_lazy("Active students per course"),
    "activity": gettext_lazy("Activity per day (last 90 days)"),
    "agreement": gettext_lazy("Human/AI agreement per course and model version"),
    "fairness_language": gettext_lazy("Fairness: model − teacher by language background"),
    "fairness_length": gettext_lazy("Fairness: model − teacher by essay length"),
}

PANELS: dict[str, Callable[[SchoolContext], Panel]] = {
    "active": school_active,
    "activity": school_activity,
    "submissions": school_submissions,
    "grading": school_grading,
    "agreement": school_agreement,
    "risk": school_risk,
    "training": school_training,
    "latency": school_latency,
    "drift": school_drift,
    "fairness_language": school_fairness_language,
    "fairness_length": school_fairness_length,
}
