"""The panels of each dashboard: which table, which figure, which summary.

Each builder takes a page context (who asks, which course/student/school, now) and returns a
``Panel``. ``COURSE``, ``STUDENT`` and ``SCHOOL`` list them in page order by key; the CSV view
builds exactly one panel by its key. The contexts cache what several panels share (the roster,
the skills, the agreement pairs), so a page runs each query once.
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

from . import services, sources
from .figures import (
    BLACK,
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    PINK,
    SEQUENTIAL,
    SKY,
    SOURCE_LABELS,
    VERMILLION,
    Fig,
    Panel,
    counts_axis,
    hover_date,
    line_style,
    status_label,
    style,
)

STATUS_COLOURS = {
    "received": GREY,
    "scoring": SKY,
    "scored": ORANGE,
    "failed": VERMILLION,
    "reviewed": PINK,
    "released": GREEN,
}
# Above this many rows a heatmap stops labelling each one (the labels would overlap).
HEATMAP_MAX_LABELS = 60
# More skills than colours: class mastery over time becomes a skills-by-week heatmap.
MAX_LINES = 8
MAX_BARS = 30
HEATMAP_SORTS = ("cluster", "weakest", "name")


def pct(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.0f}%"


def unique_labels(names: list[str]) -> list[str]:
    """Names made unique for a category axis (plotly merges equal categories)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return out


# ====================================================================================== course
@dataclass
class CourseContext:
    user: Any
    course: Any
    now: datetime
    heatmap_sort: str = "cluster"

    @cached_property
    def students(self) -> pd.DataFrame:
        return sources.course_students(course_id=self.course.pk)

    @cached_property
    def student_names(self) -> dict[int, str]:
        return dict(zip(self.students["student_id"], self.students["name"], strict=True))

    @cached_property
    def skills(self) -> pd.DataFrame:
        return sources.course_skills(course_id=self.course.pk)

    @cached_property
    def assignments(self) -> pd.DataFrame:
        return sources.course_assignments(course_ids=[self.course.pk])

    @cached_property
    def pairs(self) -> pd.DataFrame:
        return sources.agreement_pairs(user=self.user, course_ids=[self.course.pk])

    @cached_property
    def _student_url(self) -> str:
        # Reversed once: a heatmap links every one of its (hundreds of) rows.
        return reverse("dashboards:student", args=[self.course.pk, 0]).removesuffix("0/")

    def student_url(self, student_id: Any = "{id}") -> str:
        return f"{self._student_url}{student_id}/"

    def queue_url(self, status: str = "all") -> str:
        return reverse("review:queue", args=[self.course.pk]) + f"?status={status}&assignment={{id}}"

    def csv_url(self, key: str) -> str:
        return reverse("dashboards:course-csv", args=[self.course.pk, key])


def course_scores(ctx: CourseContext) -> Panel:
    title = _("Score distributions: model proposals and final grades")
    a = ctx.assignments.set_index("id")
    finals = sources.final_score_counts(course_id=ctx.course.pk).assign(source="final")
    props = sources.latest_proposal_counts(user=ctx.user, course_id=ctx.course.pk).assign(source="proposal")
    df = pd.concat([props, finals], ignore_index=True)
    if df.empty:
        return Panel("scores", title, _("No submission has a proposal or a grade yet."), _empty(df, "assignment"))
    df["assignment"] = df["assignment_id"].map(a["title"])
    df = df.sort_values(["assignment_id", "source", "score"]).reset_index(drop=True)
    df = df[["assignment_id", "assignment", "source", "score", "count"]]
    df["_url_assignment"] = [ctx.queue_url().replace("{id}", str(i)) for i in df["assignment_id"]]
    ids = list(dict.fromkeys(df["assignment_id"]))
    cols = min(3, len(ids))
    rows = -(-len(ids) // cols)
    fig = Fig.subplots(rows, cols, [str(a.at[i, "title"]) for i in ids])
    labels = {src: str(text) for src, text in SOURCE_LABELS.items()}
    # Outside the f-string: makemessages (xgettext) does not read calls inside one.
    score = _("Score")
    colours = {"proposal": ORANGE, "final": BLUE}
    for k, aid in enumerate(ids):
        r, c = divmod(k, cols)
        lo, hi = int(a.at[aid, "min_score"]), int(a.at[aid, "max_score"])
        for src in ("proposal", "final"):
            part = df[(df["assignment_id"] == aid) & (df["source"] == src)]
            counts = part.set_index("score")["count"].reindex(range(lo, hi + 1), fill_value=0)
            fig.add_bar(
                x=list(counts.index),
                y=counts.tolist(),
                name=labels[src],
                marker_color=colours[src],
                legendgroup=src,
                showlegend=k == 0,
                row=r + 1,
                col=c + 1,
                customdata=[aid] * len(counts),
                hovertemplate=f"{labels[src]}<br>{score} %{{x}}: %{{y}}<extra></extra>",
            )
        fig.update_xaxes(dtick=1, row=r + 1, col=c + 1)
    fig.update_layout(barmode="group", bargap=0.25)
    counts_axis(fig, "y", float(df["count"].max()))
    fig.update_xaxes(title_text=_("Score (rubric points)"), row=rows)
    fig.update_yaxes(title_text=_("Submissions"), col=1)
    n_prop = int(props["count"].sum())
    n_final = int(finals["count"].sum())
    summary = ngettext(
        "%(props)s newest model proposals and %(finals)s final grades over %(n)s assignment. "
        "Where the orange bars sit right of the blue ones, the model proposes higher scores than the grades "
        "that stand.",
        "%(props)s newest model proposals and %(finals)s final grades over %(n)s assignments. "
        "Where the orange bars sit right of the blue ones, the model proposes higher scores than the grades "
        "that stand.",
        len(ids),
    ) % {"props": n_prop, "finals": n_final, "n": len(ids)}
    figure = style(fig, title=title, height=120 + 260 * rows, drill=ctx.queue_url())
    return Panel("scores", title, summary, df, figure)


def course_backlog(ctx: CourseContext) -> Panel:
    title = _("Review backlog by assignment")
    counts = sources.status_counts(course_id=ctx.course.pk)
    if counts.empty:
        return Panel("backlog", title, _("No submissions yet."), _empty(counts, "assignment"))
    a = ctx.assignments.set_index("id")
    table = counts.pivot_table(index="assignment_id", columns="status", values="count", aggfunc="sum", fill_value=0)
    table = table.reindex(columns=list(sources.STATUS_ORDER), fill_value=0)
    waiting = counts[counts["status"].isin(sources.AWAITING)].groupby("assignment_id")["oldest"].min()
    df = table.reset_index()
    df.insert(1, "assignment", df["assignment_id"].map(a["title"]))
    df["awaiting_teacher"] = df[list(sources.AWAITING)].sum(axis=1)
    df["oldest_waiting_days"] = [
        round((ctx.now - waiting[i]).total_seconds() / 86400, 1) if i in waiting.index else None
        for i in df["assignment_id"]
    ]
    df["_url_assignment"] = [ctx.queue_url("waiting").replace("{id}", str(i)) for i in df["assignment_id"]]
    fig = Fig()
    for status in sources.STATUS_ORDER:
        if df[status].sum() == 0:
            continue
        fig.add_bar(
            y=df["assignment"],
            x=df[status],
            orientation="h",
            name=status_label(status),
            marker_color=STATUS_COLOURS[status],
            customdata=df["assignment_id"],
            hovertemplate="%{y}: %{x}<extra>" + status_label(status) + "</extra>",
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed")
    total = int(df["awaiting_teacher"].sum())
    oldest = df["oldest_waiting_days"].dropna()
    summary = ngettext(
        "%(n)s submission awaits a teacher",
        "%(n)s submissions await a teacher",
        total,
    ) % {"n": total}
    if not oldest.empty:
        summary += "; " + _("the oldest has waited %(d)s days") % {"d": f"{oldest.max():.1f}"}
    summary += "."
    counts_axis(fig, "x", float(df[list(sources.STATUS_ORDER)].sum(axis=1).max()))
    figure = style(fig, title=title, x=_("Submissions"), height=140 + 36 * len(df), drill=ctx.queue_url("waiting"))
    return Panel("backlog", title, summary, df, figure)


def course_agreement_time(ctx: CourseContext) -> Panel:
    title = _("Human/AI agreement over time (per week)")
    pairs = ctx.pairs
    if pairs.empty:
        return Panel("agreement_time", title, _("No teacher has graded a proposed essay yet."), _empty(pairs, "week"))
    p = pairs.assign(
        week=pd.to_datetime(pairs["decided_at"], utc=True).dt.tz_localize(None).dt.to_period("W").dt.start_time
    )
    df = sources.agreement_table(p, ["week"])
    fig = Fig(secondary_y=True)
    fig.add_scatter(
        x=df["week"],
        y=df["exact_pct"],
        name=_("Exact agreement (%)"),
        mode="lines+markers",
        line_color=BLUE,
        customdata=df["pairs"],
        hovertemplate="%{x|" + hover_date() + "}: %{y:.0f}% (%{customdata})<extra></extra>",
    )
    fig.add_scatter(
        x=df["week"],
        y=df["within_one_point_pct"],
        name=_("Within one point (%)"),
        mode="lines+markers",
        line_color=GREEN,
        line_dash="dash",
    )
    fig.add_scatter(
        x=df["week"],
        y=df["qwk"],
        name=_("QWK"),
        mode="lines+markers",
        line_color=ORANGE,
        line_dash="dot",
        secondary_y=True,
    )
    # Proportional ranges (per cent = kappa x 100) and fixed kappa ticks, so the right axis reads
    # 0, 0.2, ... 1 on the left axis' grid lines (plotly's own choice was 0.16, 0.369, 0.579, ...).
    fig.update_yaxes(title_text=_("Agreement, share of graded pairs (%)"), range=[-5, 105], secondary_y=False)
    fig.update_yaxes(
        title_text=_("Quadratic weighted kappa"),
        range=[-0.05, 1.05],
        tickmode="linear",
        tick0=0,
        dtick=0.2,
        secondary_y=True,
        showgrid=False,
    )
    last = df.iloc[-1]
    summary = ngettext(
        "%(n)s graded pairs over %(w)s week. Last week with grades: %(exact)s exact and %(adj)s within one point "
        "(%(k)s pairs).",
        "%(n)s graded pairs over %(w)s weeks. Last week with grades: %(exact)s exact and %(adj)s within one point "
        "(%(k)s pairs).",
        len(df),
    ) % {
        "n": int(df["pairs"].sum()),
        "w": len(df),
        "exact": pct(last["exact_pct"]),
        "adj": pct(last["within_one_point_pct"]),
        "k": int(last["pairs"]),
    }
    figure = style(fig, title=title, x=_("Week"), drill="")
    return Panel("agreement_time", title, summary, df, figure)


def course_agreement_version(ctx: CourseContext) -> Panel:
    title = _("Human/AI agreement per assignment and model version")
    pairs = ctx.pairs
    if pairs.empty:
        return Panel(
            "agreement_version", title, _("No teacher has graded a proposed essay yet."), _empty(pairs, "assignment")
        )
    df = sources.agreement_table(pairs, ["assignment_id", "model_version"])
    titles = ctx.assignments.set_index("id")["title"]
    df.insert(1, "assignment", df["assignment_id"].map(titles))
    df["model_version"] = df["model_version"].astype(int)
    label = [f"{t} · v{v}" for t, v in zip(df["assignment"], df["model_version"], strict=True)]
    fig = Fig()
    fig.add_bar(
        x=label,
        y=df["exact_pct"],
        name=_("Exact agreement (%)"),
        marker_color=BLUE,
        customdata=df["assignment_id"],
        text=[f"n={n}" for n in df["pairs"]],
        textposition="outside",
    )
    fig.add_bar(
        x=label,
        y=df["within_one_point_pct"],
        name=_("Within one point (%)"),
        marker_color=GREEN,
        customdata=df["assignment_id"],
    )
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 110])
    best = df.sort_values("exact_pct").iloc[0]
    summary = _("%(n)s model versions with graded pairs. Lowest exact agreement: %(a)s version %(v)s, %(p)s.") % {
        "n": len(df),
        "a": best["assignment"],
        "v": int(best["model_version"]),
        "p": pct(best["exact_pct"]),
    }
    df["_url_assignment"] = [ctx.queue_url("all").replace("{id}", str(i)) for i in df["assignment_id"]]
    figure = style(
        fig,
        title=title,
        x=_("Assignment · model version"),
        y=_("Agreement, share of graded pairs (%)"),
        drill=ctx.queue_url("all"),
    )
    return Panel("agreement_version", title, summary, df, figure)


def _cluster_order(matrix: np.ndarray) -> list[int]:
    """Rows in hierarchical-clustering leaf order (average linkage, Euclidean): rows with similar
    gaps end up next to each other. Missing estimates count as the skill's class mean."""
    if matrix.shape[0] < 3:
        return list(range(matrix.shape[0]))
    from scipy.cluster.hierarchy import leaves_list, linkage

    col_mean = pd.DataFrame(matrix).mean(axis=0).fillna(50.0).to_numpy()  # skips NaN, no warning
    filled = np.where(np.isnan(matrix), col_mean[None, :], matrix)
    return [int(i) for i in leaves_list(linkage(filled, method="average", metric="euclidean"))]


def course_mastery_heatmap(ctx: CourseContext) -> Panel:
    title = _("Mastery by student and skill")
    skills = ctx.skills
    students = ctx.students
    long = sources.mastery_matrix(course_id=ctx.course.pk)
    controls = tuple(
        (str(lbl), f"?heatmap={key}#panel-mastery", key == ctx.heatmap_sort)
        for key, lbl in (("cluster", _("similar gaps together")), ("weakest", _("weakest first")), ("name", _("name")))
    )
    if long.empty or skills.empty or students.empty:
        return Panel(
            "mastery",
            title,
            _("No mastery estimates yet: students have not answered anything."),
            _empty(long, "student"),
            controls=controls,
        )
    wide = (
        long.assign(p=long["p"] * 100.0)
        .pivot_table(index="student_id", columns="skill_id", values="p", aggfunc="mean")
        .reindex(index=students["student_id"], columns=skills["id"])
    )
    matrix = wide.to_numpy(dtype=float)
    if ctx.heatmap_sort == "weakest":
        order = list(np.argsort(pd.DataFrame(matrix).mean(axis=1).fillna(101.0).to_numpy(), kind="stable"))
    elif ctx.heatmap_sort == "name":
        order = list(range(len(wide)))
    else:
        order = _cluster_order(matrix)
    col_order = _cluster_order(matrix.T) if matrix.shape[1] > 2 else list(range(matrix.shape[1]))
    m = matrix[np.ix_(order, col_order)]
    ids = wide.index.to_numpy()[order]
    skill_names = skills["name"].to_numpy()[col_order].tolist()
    names = unique_labels([ctx.student_names.get(int(i), str(i)) for i in ids])
    fig = Fig().add_heatmap(
        z=np.round(m, 1),
        x=skill_names,
        y=names,
        colorscale=SEQUENTIAL,
        zmin=0,
        zmax=100,
        customdata=np.repeat(ids[:, None], m.shape[1], axis=1),
        colorbar={"title": {"text": _("Mastery (%)")}},
        hovertemplate="%{y}<br>%{x}: %{z:.0f}%<extra></extra>",
        hoverongaps=False,
        xgap=1,
        ygap=1,
    )
    labelled = len(names) <= HEATMAP_MAX_LABELS
    fig.update_yaxes(autorange="reversed", showticklabels=labelled, type="category", dtick=1 if labelled else None)
    fig.update_xaxes(type="category", tickangle=-35)
    height = max(360, min(1400, 170 + 18 * len(names)))
    # Table: one row per student (the heatmap's rows, in its order), skills as columns.
    df = pd.DataFrame(m, columns=skill_names)
    df.insert(0, "student", [ctx.student_names.get(int(i), str(i)) for i in ids])
    df.insert(0, "student_id", ids.astype(int))
    df["_url_student"] = [ctx.student_url(int(i)) for i in ids]
    weakest_skill = skills.set_index("id")["name"].get(wide.mean(axis=0).idxmin()) if wide.notna().any().any() else ""
    summary = _(
        "%(s)s students by %(k)s skills, %(known)s estimates. Class mean %(mean)s; the weakest skill on average "
        "is %(weak)s. Darker cells are lower mastery; select a row to open that student."
    ) % {
        "s": len(names),
        "k": len(skill_names),
        "known": int(np.isfinite(m).sum()),
        "mean": pct(float(np.nanmean(m))),
        "weak": weakest_skill,
    }
    figure = style(fig, title=title, x=_("Skill"), y=_("Student"), height=height, drill=ctx.student_url())
    return Panel("mastery", title, summary, df, figure, controls=controls)


def course_mastery_time(ctx: CourseContext) -> Panel:
    title = _("Class mastery over time per skill")
    dist = sources.mastery_distribution(course_id=ctx.course.pk, now=ctx.now)
    if dist.empty:
        return Panel("mastery_time", title, _("No mastery history yet."), _empty(dist, "skill"))
    names = ctx.skills.set_index("id")["name"]
    dist.insert(1, "skill", dist["skill_id"].map(names))
    dist = dist.sort_values(["skill", "week"]).reset_index(drop=True)
    skills = list(dict.fromkeys(dist["skill"]))
    if len(skills) <= MAX_LINES:
        fig = Fig()
        for k, s in enumerate(skills):
            part = dist[dist["skill"] == s]
            fig.add_scatter(
                x=part["week"],
                y=part["mean_pct"],
                name=s,
                mode="lines+markers",
                line=line_style(k),
                hovertemplate=f"{s}<br>%{{x|{hover_date(False)}}}: %{{y:.0f}}%<extra></extra>",
            )
        fig.update_yaxes(range=[0, 100])
        figure = style(fig, title=title, x=_("Week of"), y=_("Class mean mastery (%)"))
    else:
        wide = dist.pivot_table(index="skill", columns="week", values="mean_pct")
        fig = Fig().add_heatmap(
            z=np.round(wide.to_numpy(), 1),
            x=list(wide.columns),
            y=list(wide.index),
            colorscale=SEQUENTIAL,
            zmin=0,
            zmax=100,
            colorbar={"title": {"text": _("Class mean (%)")}},
            hovertemplate="%{y}<br>%{x|" + hover_date(False) + "}: %{z:.0f}%<extra></extra>",
        )
        fig.update_yaxes(type="category", autorange="reversed")
        figure = style(fig, title=title, x=_("Week of"), y=_("Skill"), height=max(360, 120 + 18 * len(skills)))
    last = dist.sort_values("week").groupby("skill").tail(1)
    first = dist.sort_values("week").groupby("skill").head(1).set_index("skill")["mean_pct"]
    gain = (last.set_index("skill")["mean_pct"] - first).sort_values()
    summary = _(
        "Class mean mastery per skill, week by week, for %(k)s skills (the mean of the estimates made that week)."
    ) % {"k": len(skills)}
    if len(gain):
        summary += " " + _("Largest rise: %(up)s (%(u)s points); smallest: %(down)s (%(d)s points).") % {
            "up": gain.index[-1],
            "u": f"{gain.iloc[-1]:+.0f}",
            "down": gain.index[0],
            "d": f"{gain.iloc[0]:+.0f}",
        }
    return Panel("mastery_time", title, summary, dist, figure)


def course_risk(ctx: CourseContext) -> Panel:
    title = _("Students at risk, with their reasons")
    risk = sources.course_risk(course_id=ctx.course.pk)
    threshold = sources.risk_threshold_pct()
    if risk.empty:
        return Panel("risk", title, _("No active students to assess yet."), _empty(risk, "student"))
    # (a list, as the other panels do: Series.map gives float NaNs when no id has a name, and
    # pandas deprecates filling those with text)
    risk.insert(1, "student", [ctx.student_names.get(int(i), str(i)) for i in risk["student_id"]])
    risk["at_risk"] = risk["risk_pct"] >= threshold
    # The school page reads this count rather than scoring every course itself.
    services.risk_snapshot_save(
        course_id=ctx.course.pk,
        students=len(risk),
        at_risk=int(risk["at_risk"].sum()),
        threshold=threshold / 100.0,
        at=ctx.now,
    )
    risk = risk[["student_id", "student", "risk_pct", "at_risk", "reasons"]]
    risk["_url_student"] = [ctx.student_url(int(i)) for i in risk["student_id"]]
    top = risk.head(MAX_BARS)
    fig = Fig()
    fig.add_bar(
        y=unique_labels(top["student"].tolist()),
        x=top["risk_pct"],
        orientation="h",
        marker_color=[VERMILLION if r else SKY for r in top["at_risk"]],
        customdata=top["student_id"],
        hovertext=top["reasons"],
        hovertemplate="%{y}: %{x:.0f}%<br>%{hovertext}<extra></extra>",
    )
    fig.add_vline(threshold, color=BLACK, dash="dash", label=_("at-risk threshold"))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(range=[0, 100])
    n = int(risk["at_risk"].sum())
    summary = ngettext(
        "%(n)s of %(total)s students is at risk (estimated risk of failing or dropping out at least %(t)s).",
        "%(n)s of %(total)s students are at risk (estimated risk of failing or dropping out at least %(t)s).",
        n,
    ) % {"n": n, "total": len(risk), "t": pct(threshold)}
    if n:
        first = risk.iloc[0]
        summary += " " + _("Highest: %(name)s, %(p)s: %(why)s.") % {
            "name": first["student"],
            "p": pct(first["risk_pct"]),
            "why": first["reasons"] or "—",
        }
    figure = style(fig, title=title, x=_("Estimated risk (%)"), height=140 + 22 * len(top), drill=ctx.student_url())
    return Panel("risk", title, summary, risk, figure)


def course_recommendations(ctx: CourseContext) -> Panel:
    title = _("What was recommended, and what was used")
    df = sources.recommended_and_used(course_id=ctx.course.pk, now=ctx.now)
    if df.empty:
        return Panel("recommendations", title, _("No recommendations computed yet."), _empty(df, "title"))
    kinds = {"resource": _("Resource"), "practice": _("Practice item")}
    df["kind"] = df["kind"].map(lambda k: str(kinds.get(k, k)))
    resource_url = reverse("resource-detail", args=[ctx.course.pk, 0]).replace("/0/", "/{id}/")
    df["_url_title"] = [
        resource_url.replace("{id}", str(i)) if k == str(kinds["resource"]) else ""
        for k, i in zip(df["kind"], df["activity_id"], strict=True)
    ]
    top = df.head(15)
    labels = unique_labels(top["title"].tolist())
    fig = Fig()
    fig.add_bar(
        y=labels,
        x=top["recommended_to_students"],
        orientation="h",
        name=_("Recommended to (students)"),
        marker_color=BLUE,
        customdata=top["_url_title"],
    )
    fig.add_bar(
        y=labels,
        x=top["used_by_students_28_days"],
        orientation="h",
        name=_("Used by (students, 28 days)"),
        marker_color=ORANGE,
        customdata=top["_url_title"],
    )
    fig.update_layout(barmode="group")
    fig.update_yaxes(autorange="reversed", type="category")
    used = int((df["used_by_students_28_days"] > 0).sum())
    summary = _(
        "%(n)s activities are in students' current recommendation lists; %(u)s of them were used in the last "
        "28 days. Most recommended: %(top)s (%(k)s students)."
    ) % {"n": len(df), "u": used, "top": df.iloc[0]["title"], "k": int(df.iloc[0]["recommended_to_students"])}
    counts_axis(fig, "x", float(top[["recommended_to_students", "used_by_students_28_days"]].to_numpy().max()))
    figure = style(fig, title=title, x=_("Students"), height=160 + 40 * len(top))
    note = _(
        "Recommended: in the student's current list. Used: any activity on it in the last 28 days (the recommender "
        "does not log what was shown when)."
    )
    return Panel("recommendations", title, summary, df, figure, note=note)


def _empty(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    return pd.DataFrame(columns=list(dict.fromkeys([*cols, *df.columns])))


# Panels the page leaves to the browser to fetch after it is shown (each from its own URL):
# assessment's risk scoring takes about a second for a class of 500 on PostgreSQL.
# The class history scans every mastery estimate of the half year (0.6 s for 200,000 on PostgreSQL).
COURSE_DEFERRED = {
    "mastery_time": gettext_lazy("Class mastery over time per skill"),
    "risk": gettext_lazy("Students at risk, with their reasons"),
}

COURSE: dict[str, Callable[[CourseContext], Panel]] = {
    "scores": course_scores,
    "backlog": course_backlog,
    "agreement_time": course_agreement_time,
    "agreement_version": course_agreement_version,
    "mastery": course_mastery_heatmap,
    "mastery_time": course_mastery_time,
    "risk": course_risk,
    "recommendations": course_recommendations,
}
