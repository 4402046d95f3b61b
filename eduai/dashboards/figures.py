"""Plot style and the ``Panel``: one figure, the table behind it, and a text summary.

A panel is built from its table (a ``pandas.DataFrame`` with English column names and units):
the figure is drawn from the table, the page shows the table under the figure, and the CSV
download is the same table, so the three can never disagree.

Colours: Okabe & Ito (2008), "Color Universal Design", distinguishable with the common colour
vision deficiencies; sequential scales are cividis (Nuñez et al. 2018, made for the same aim).
Figures are serialised with ``plotly.io.to_json`` and drawn by the plotly.js we serve ourselves.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
import plotly.io as pio
from django.utils import formats, timezone
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from eduai.web.labels import SUBMISSION_STATUS_LABELS, label

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
BLUE, ORANGE, GREEN, PINK, SKY, VERMILLION, YELLOW, BLACK = OKABE_ITO
GREY = "#8C8C8C"
# For lines on white: the yellow is too pale to read as a thin line, black is kept for totals.
LINE_COLOURS = (BLUE, ORANGE, GREEN, PINK, SKY, VERMILLION)
LINE_DASHES = ("solid", "dash", "dot", "dashdot")


def hover_date(with_year: bool = True) -> str:
    """A d3 date format for hover text in the page's language ("02 Mar 2026"; "2026年3月2日").

    Axis ticks follow plotly's locale (dashboards.js gives Chinese pages one); formats written
    into a hovertemplate do not, so they are translated here.
    """
    if with_year:
        # xgettext:no-python-format
        return pgettext("plotly hover date format (d3 strftime)", "%d %b %Y")
    # xgettext:no-python-format
    return pgettext("plotly hover date format without the year (d3 strftime)", "%d %b")


def line_style(k: int) -> dict[str, str]:
    """The k-th series' line: colour first, then dash pattern once the colours run out."""
    return {
        "color": LINE_COLOURS[k % len(LINE_COLOURS)],
        "dash": LINE_DASHES[(k // len(LINE_COLOURS)) % len(LINE_DASHES)],
    }


SEQUENTIAL = "Cividis"
FONT = 'system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", "PingFang SC", sans-serif'
# Rows of a table shown on the page; the CSV always has all of them.
TABLE_ROWS_SHOWN = 50

# Submission statuses as the dashboards word them: the pages' labels (eduai.web.labels), except
# that a scored essay is, from the teacher's side, one awaiting their review.
STATUS_LABELS: dict[str, Any] = {**SUBMISSION_STATUS_LABELS, "scored": gettext_lazy("Awaiting review")}


def status_label(code: str) -> str:
    return label(STATUS_LABELS, code)


# Where a score shown beside others comes from (the scores panel's legend and its table).
SOURCE_LABELS: dict[str, Any] = {
    "proposal": gettext_lazy("Model proposal (newest)"),
    "final": gettext_lazy("Final grade"),
}

COLUMN_LABELS: dict[str, Any] = {
    "assignment": gettext_lazy("Assignment"),
    "assignment_id": gettext_lazy("Assignment id"),
    "course": gettext_lazy("Course"),
    "course_id": gettext_lazy("Course id"),
    "student": gettext_lazy("Student"),
    "student_id": gettext_lazy("Student id"),
    "skill": gettext_lazy("Skill"),
    "skill_id": gettext_lazy("Skill id"),
    "score": gettext_lazy("Score (rubric points)"),
    "source": gettext_lazy("Source"),
    "count": gettext_lazy("Submissions"),
    "status": gettext_lazy("Status"),
    "oldest_waiting_days": gettext_lazy("Oldest waiting (days)"),
    "week": gettext_lazy("Week of"),
    "week_end": gettext_lazy("Week ending"),
    "day": gettext_lazy("Day"),
    "model_version": gettext_lazy("Model version"),
    "pairs": gettext_lazy("Graded pairs"),
    "exact_pct": gettext_lazy("Exact agreement (%)"),
    "within_one_point_pct": gettext_lazy("Within one point (%)"),
    "qwk": gettext_lazy("QWK"),
    "mean_model_minus_teacher_points": gettext_lazy("Model − teacher (points)"),
    "mastery_pct": gettext_lazy("Mastery (%)"),
    "mean_pct": gettext_lazy("Class mean (%)"),
    "median_pct": gettext_lazy("Median (%)"),
    "q1_pct": gettext_lazy("Lower quartile (%)"),
    "q3_pct": gettext_lazy("Upper quartile (%)"),
    "students": gettext_lazy("Students"),
    "risk_pct": gettext_lazy("Risk (%)"),
    "at_risk": gettext_lazy("At risk"),
    "reasons": gettext_lazy("Reasons"),
    "kind": gettext_lazy("Kind"),
    "title": gettext_lazy("Title"),
    "activity_id": gettext_lazy("Activity id"),
    "recommended_to_students": gettext_lazy("Recommended to (students)"),
    "in_top_3": gettext_lazy("In top 3 (students)"),
    "used_by_students_28_days": gettext_lazy("Used by (students, 28 days)"),
    "evidence": gettext_lazy("Evidence (responses)"),
    "trend_pct_points": gettext_lazy("Trend (points of %)"),
    "updated_at": gettext_lazy("Last evidence"),
    "at": gettext_lazy("Time"),
    "attempt": gettext_lazy("Attempt"),
    "submitted_at": gettext_lazy("Submitted"),
    "score_pct": gettext_lazy("Score, share of range (%)"),
    "grade": gettext_lazy("Grade"),
    "feedback": gettext_lazy("Feedback"),
    "rank": gettext_lazy("Rank"),
    "fit_pct": gettext_lazy("Fit vs first pick (%)"),
    "why": gettext_lazy("Why"),
    "enrolled_students": gettext_lazy("Enrolled students"),
    "active_7_days": gettext_lazy("Active, last 7 days"),
    "active_28_days": gettext_lazy("Active, last 28 days"),
    "events": gettext_lazy("Learning events"),
    "active_students": gettext_lazy("Active students"),
    "submissions": gettext_lazy("Submissions"),
    "scoring_failed": gettext_lazy("Scoring failed"),
    "awaiting_teacher": gettext_lazy("Awaiting a teacher"),
    "released": gettext_lazy("Released"),
    "released_by_teacher": gettext_lazy("Released by a teacher"),
    "auto_released": gettext_lazy("Auto-released"),
    "auto_released_pct": gettext_lazy("Auto-released share (%)"),
    "students_at_risk": gettext_lazy("Students at risk"),
    "computed_at": gettext_lazy("Computed"),
    "version": gettext_lazy("Version"),
    "method": gettext_lazy("Method"),
    "n_train": gettext_lazy("Training essays"),
    "val_qwk": gettext_lazy("Validation QWK"),
    "train_seconds": gettext_lazy("Training time (s)"),
    "failure_reason": gettext_lazy("Failure"),
    "created_at": gettext_lazy("Started"),
    "proposals": gettext_lazy("Proposals"),
    "mean_seconds": gettext_lazy("Mean time (s/essay)"),
    "max_seconds": gettext_lazy("Slowest (s/essay)"),
    "grades": gettext_lazy("Grades of record"),
    "mean_proposal_pct": gettext_lazy("Mean proposal, share of range (%)"),
    "mean_grade_pct": gettext_lazy("Mean grade of record, share of range (%)"),
    "group": gettext_lazy("Group"),
    "mean_points": gettext_lazy("Mean model − teacher (points)"),
    "ci_low_points": gettext_lazy("95% CI low (points)"),
    "ci_high_points": gettext_lazy("95% CI high (points)"),
    "from_version": gettext_lazy("From version"),
    "to_version": gettext_lazy("To version"),
    "psi": gettext_lazy("PSI"),
    "mean_shift_points": gettext_lazy("Mean shift (points)"),
    "wasserstein_points": gettext_lazy("Wasserstein (points)"),
    "submission_id": gettext_lazy("Submission id"),
    "proposal": gettext_lazy("Proposal"),
    "teacher": gettext_lazy("Teacher's grade"),
    "decided_at": gettext_lazy("Decided at"),
    "min_score": gettext_lazy("Lowest score"),
    "max_score": gettext_lazy("Highest score"),
    "oldest": gettext_lazy("Oldest submission"),
    "final_score": gettext_lazy("Final score"),
    "is_active": gettext_lazy("In use"),
    # submission statuses as columns (the review backlog), worded as on the backlog's figure
    **STATUS_LABELS,
}

# Columns whose values are stored codes: shown in the reader's language on the page (the CSV
# keeps the codes, which is what a spreadsheet or a script wants).
VALUE_LABELS: dict[str, dict[str, Any]] = {
    "source": SOURCE_LABELS,
    "method": {"fast": gettext_lazy("Fast scorer"), "finetune": gettext_lazy("Fine-tuned scorer")},
    "status": {"training": gettext_lazy("Training"), "ready": gettext_lazy("Ready"), "failed": gettext_lazy("Failed")},
}


@dataclass(frozen=True)
class Panel:
    """One dashboard figure with its table; what the template and the CSV view use."""

    key: str
    title: str
    summary: str
    table: pd.DataFrame
    figure: dict[str, Any] | None = None  # plotly figure (data + layout), None when no data
    # column -> URL of a drill-down for that row (hidden columns starting with "_url")
    links: dict[str, str] = field(default_factory=dict)
    note: str = ""
    controls: tuple[tuple[str, str, bool], ...] = ()  # (label, url, current)

    @property
    def csv_columns(self) -> list[str]:
        return [c for c in self.table.columns if not str(c).startswith("_")]

    @property
    def has_data(self) -> bool:
        return self.figure is not None

    def header(self) -> list[str]:
        return [str(COLUMN_LABELS.get(c, c.replace("_", " ").capitalize())) for c in self.csv_columns]

    def rows(self) -> list[list[dict[str, Any]]]:
        """The first rows as display cells: {"text", "url", "num"}."""
        head = self.table.head(TABLE_ROWS_SHOWN)
        cols = self.csv_columns
        links = {c: f"_url_{c}" for c in cols if f"_url_{c}" in head.columns}
        out = []
        for record in head.to_dict("records"):
            out.append(
                [
                    {
                        "text": display(_value_label(c, record[c])),
                        "url": record[links[c]] if c in links and isinstance(record[links[c]], str) else "",
                        "num": _is_num(record[c]),
                    }
                    for c in cols
                ]
            )
        return out

    def tbody_html(self) -> str:
        """The table's rows as HTML, every value escaped. Built here rather than in the template:
        a heatmap's table is 50 rows by 50 skills, 2,500 cells, which Django's template engine
        takes about half a second to render on a small server."""
        rows = self.rows()
        if not rows:
            return format_html('<tr><td colspan="{}">{}</td></tr>', len(self.csv_columns), _("No rows."))
        parts = []
        for row in rows:
            cells = []
            for cell in row:
                text = escape(cell["text"])
                if cell["url"]:
                    text = format_html('<a href="{}">{}</a>', cell["url"], cell["text"])
                cells.append(f'<td class="num">{text}</td>' if cell["num"] else f"<td>{text}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        return mark_safe("\n".join(parts))

    @property
    def hidden_rows(self) -> int:
        return max(0, len(self.table) - TABLE_ROWS_SHOWN)


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value_label(column: str, value: Any) -> Any:
    labels = VALUE_LABELS.get(column)
    return labels.get(value, value) if labels and isinstance(value, str) else value


def display(value: Any) -> str:
    """A table cell in the reader's language: localised dates, one decimal for floats."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return formats.date_format(local, "SHORT_DATETIME_FORMAT")
    if isinstance(value, date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, float):
        return formats.number_format(value, 1 if abs(value) >= 1 or value == 0 else 2)
    return str(value)


# A text cell starting with one of these is a formula to a spreadsheet (CSV injection, OWASP):
# names, titles and comments are people's text, so such a cell is written with a leading quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _as_text(value: Any) -> Any:
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def csv_frame(panel: Panel) -> pd.DataFrame:
    """The table as downloaded: every row, visible columns, ISO times, no formulas (in the header
    too: some tables have a column per skill, named by the teacher)."""
    df = panel.table[panel.csv_columns].copy()
    for c in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].map(lambda v: v.isoformat() if not pd.isna(v) else "")
        elif not pd.api.types.is_numeric_dtype(df[c]):
            df[c] = df[c].map(_as_text)
    df.columns = [_as_text(c) for c in df.columns]
    return df


class Fig:
    """A plotly figure as plain dicts, with the few ``go.Figure`` methods the panels use.

    ``plotly.graph_objects`` validates every property on assignment (about 10 ms a trace and
    50 ms for a template on this machine), which alone would spend a page's budget; these dicts
    follow plotly's schema as written and are serialised with ``plotly.io.to_json`` unvalidated.
    Properties use plotly's "magic underscore" (``marker_color`` is ``marker.color``).
    """

    def __init__(self, *, secondary_y: bool = False) -> None:
        self.data: list[dict[str, Any]] = []
        self.layout: dict[str, Any] = {"xaxis": {}, "yaxis": {}}
        self.grid: tuple[int, int] = (1, 1)
        if secondary_y:
            self.layout["yaxis2"] = {"overlaying": "y", "side": "right", "showgrid": False}

    @classmethod
    def subplots(cls, rows: int, cols: int, titles: list[str], *, hspace: float = 0.06, vspace: float = 0.16) -> Fig:
        """A grid of independent x/y axes, one cell per title, filled row by row."""
        fig = cls()
        fig.grid = (rows, cols)
        fig.layout = {}
        w = (1 - hspace * (cols - 1)) / cols
        h = (1 - vspace * (rows - 1)) / rows
        annotations = []
        for k in range(rows * cols):
            r, c = divmod(k, cols)
            n = "" if k == 0 else str(k + 1)
            x0 = c * (w + hspace)
            y1 = 1 - r * (h + vspace)
            fig.layout[f"xaxis{n}"] = {"domain": [x0, x0 + w], "anchor": f"y{n}"}
            fig.layout[f"yaxis{n}"] = {"domain": [y1 - h, y1], "anchor": f"x{n}"}
            if k < len(titles):
                annotations.append(
                    {
                        "text": titles[k],
                        "x": x0 + w / 2,
                        "y": y1,
                        "xref": "paper",
                        "yref": "paper",
                        "xanchor": "center",
                        "yanchor": "bottom",
                        "showarrow": False,
                        "font": {"size": 13},
                    }
                )
        fig.layout["annotations"] = annotations
        return fig

    def _cell(self, row: int | None, col: int | None) -> str:
        if row is None or col is None:
            return ""
        k = (row - 1) * self.grid[1] + (col - 1)
        return "" if k == 0 else str(k + 1)

    def _add(self, kind: str, props: dict[str, Any]) -> Fig:
        row, col = props.pop("row", None), props.pop("col", None)
        secondary = props.pop("secondary_y", False)
        trace = {"type": kind, **magic(props)}
        n = self._cell(row, col)
        if n:
            trace["xaxis"], trace["yaxis"] = f"x{n}", f"y{n}"
        if secondary:
            trace["yaxis"] = "y2"
        self.data.append(trace)
        return self

    def add_bar(self, **props: Any) -> Fig:
        return self._add("bar", props)

    def add_scatter(self, **props: Any) -> Fig:
        return self._add("scatter", props)

    def add_heatmap(self, **props: Any) -> Fig:
        return self._add("heatmap", props)

    def update_layout(self, **props: Any) -> Fig:
        _merge(self.layout, magic(props))
        return self

    def _axes(self, letter: str, row: int | None, col: int | None, secondary_y: bool | None) -> list[str]:
        names = sorted(k for k in self.layout if re.fullmatch(f"{letter}axis\\d*", k))
        if secondary_y is not None and letter == "y":
            return ["yaxis2"] if secondary_y else ["yaxis"]
        if row is None and col is None:
            return names
        rows, cols = self.grid
        out = []
        for k in range(rows * cols):
            r, c = divmod(k, cols)
            if (row is None or r + 1 == row) and (col is None or c + 1 == col):
                out.append(f"{letter}axis{'' if k == 0 else k + 1}")
        return out

    def update_xaxes(self, row: int | None = None, col: int | None = None, **props: Any) -> Fig:
        for name in self._axes("x", row, col, None):
            _merge(self.layout.setdefault(name, {}), magic(props))
        return self

    def update_yaxes(
        self, row: int | None = None, col: int | None = None, secondary_y: bool | None = None, **props: Any
    ) -> Fig:
        for name in self._axes("y", row, col, secondary_y):
            _merge(self.layout.setdefault(name, {}), magic(props))
        return self

    def add_vline(self, x: float, *, color: str, dash: str = "dash", label: str = "") -> Fig:
        self.layout.setdefault("shapes", []).append(
            {
                "type": "line",
                "x0": x,
                "x1": x,
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "paper",
                "line": {"color": color, "dash": dash},
            }
        )
        if label:
            self.layout.setdefault("annotations", []).append(
                {"text": label, "x": x, "xref": "x", "y": 1, "yref": "paper", "yanchor": "bottom", "showarrow": False}
            )
        return self

    def add_hline(self, y: float, *, color: str, dash: str = "dash") -> Fig:
        self.layout.setdefault("shapes", []).append(
            {
                "type": "line",
                "y0": y,
                "y1": y,
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "xref": "paper",
                "line": {"color": color, "dash": dash},
            }
        )
        return self


# Prefixes whose underscores nest (plotly's "magic underscore"); every other key is literal
# (``error_y``, ``secondary_y`` are property names of their own).
_NESTING = ("marker_", "line_", "title_", "colorbar_", "legend_", "font_", "pattern_", "hoverlabel_")


def magic(props: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in props.items():
        if value is None:
            continue
        if isinstance(value, pd.Series | pd.Index):
            value = value.tolist()
        if key.startswith(_NESTING):
            head, rest = key.split("_", 1)
            _merge(out.setdefault(head, {}), magic({rest: value}))
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            _merge(out[key], value)  # line=... next to line_shape=...: both count
        else:
            out[key] = value
    return out


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v


def counts_axis(fig: Fig, axis: str, largest: float) -> None:
    """An axis of whole counts: no 0.5 ticks on small numbers (one tick per unit up to 10)."""
    props: dict[str, Any] = {"rangemode": "tozero", "tickformat": ",d", **({"dtick": 1} if largest <= 10 else {})}
    (fig.update_xaxes if axis == "x" else fig.update_yaxes)(**props)


AXIS = {"gridcolor": "#E6EAEF", "zerolinecolor": "#C9D1DA", "linecolor": "#C9D1DA", "automargin": True}
# Days shown either side of a date that is alone on its axis, and the width of a bar drawn there.
LONE_DATE_PAD = pd.Timedelta(days=3.5)
LONE_DATE_BAR_MS = 0.8 * 24 * 3600 * 1000


def _dates(values: Any) -> set[pd.Timestamp] | None:
    """The distinct dates among a trace's x values; None when they are not all dates."""
    if values is None or isinstance(values, str):
        return None
    series = pd.Series(list(values))
    if series.empty:
        return set()
    if not pd.api.types.is_datetime64_any_dtype(series):
        if not all(isinstance(v, (date, datetime)) for v in series.dropna()):
            return None
        series = pd.to_datetime(series)
    return {pd.Timestamp(v) for v in series.dropna().unique()}


def _lone_date(fig: Fig) -> None:
    """A date axis with a single distinct date (a course's first week of grades, one day of
    scoring) would be autoranged by plotly to a millisecond around it, ticked "23:59:59.9995",
    with any bar there a millisecond wide: show the week around the date instead."""
    if fig.grid != (1, 1) or "range" in fig.layout.get("xaxis", {}):
        return
    traces = [t for t in fig.data if t.get("xaxis", "x") == "x" and t.get("x") is not None]
    seen: set[pd.Timestamp] = set()
    for trace in traces:
        dates = _dates(trace["x"])
        if dates is None:
            return
        seen |= dates
    if len(seen) != 1:
        return
    (when,) = seen
    fig.layout["xaxis"]["range"] = [(when - LONE_DATE_PAD).isoformat(), (when + LONE_DATE_PAD).isoformat()]
    for trace in traces:
        if trace.get("type") == "bar":
            trace.setdefault("width", LONE_DATE_BAR_MS)


def style(fig: Fig, *, title: str, x: str = "", y: str = "", height: int = 380, drill: str = "") -> dict[str, Any]:
    """Our look (Okabe-Ito, site font, axis titles with units) as a plain figure dict.

    The page's heading names the figure, so the title is kept in ``layout.meta`` (and in the
    file name of a PNG from the mode bar) rather than drawn twice.
    """
    _lone_date(fig)
    for name in [k for k in fig.layout if re.fullmatch(r"[xy]axis\d*", k)]:
        fig.layout[name] = {**AXIS, **fig.layout[name]}
    if x:
        fig.update_xaxes(title_text=x, row=fig.grid[0] if fig.grid != (1, 1) else None)
    if y:
        fig.update_yaxes(
            title_text=y, col=1 if fig.grid != (1, 1) else None, secondary_y=False if "yaxis2" in fig.layout else None
        )
    layout: dict[str, Any] = {
        "colorway": list(OKABE_ITO),
        "font": {"family": FONT, "size": 13, "color": "#1b1f24"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        "hoverlabel": {"font": {"family": FONT}},
        "meta": {"title": title, **({"drill": drill} if drill else {})},
    }
    if fig.grid != (1, 1):
        # Subplot titles sit at the top of each cell: the legend goes above them.
        layout["legend"]["y"] = 1.0 + 60.0 / height
        layout["margin"]["t"] = 90
    _merge(layout, fig.layout)
    return {"data": fig.data, "layout": layout}


def to_json(figure: dict[str, Any]) -> str:
    """Serialised by plotly's encoder (numpy arrays, dates, NaN as null), unvalidated."""
    return pio.to_json(figure, validate=False, engine="json")


# As Django's json_script: the JSON cannot close the <script> element nor start markup.
_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def figure_script(figure: dict[str, Any], element_id: str) -> str:
    return format_html(
        '<script id="{}" type="application/json">{}</script>',
        element_id,
        mark_safe(to_json(figure).translate(_SCRIPT_ESCAPES)),
    )


def count_points(figure: dict[str, Any] | None) -> int:
    if not figure:
        return 0
    return sum(1 for t in figure.get("data", []) if t)
