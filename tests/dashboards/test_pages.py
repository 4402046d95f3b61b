"""Dashboard pages: who may open them, that every figure has data and a table, CSVs, offline."""

from __future__ import annotations

import csv
import io
import itertools
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from eduai.courses.models import Skill

from .. import factories as f

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = _Client()
    if user is not None:
        c.force_login(user)
    return c


def course_url(data) -> str:
    return reverse("dashboards:course", args=[data.world.course.pk])


def student_url(data, student) -> str:
    return reverse("dashboards:student", args=[data.world.course.pk, student.pk])


def school_url(data) -> str:
    return reverse("dashboards:school", args=[data.world.school.pk])


def panels_of(response) -> dict:
    """Panels by key; a deferred panel is fetched from its own URL, as the browser does."""
    out = {}
    for item in response.context["panels"]:
        if item.get("deferred"):
            fragment = response.wsgi_request_client.get(item["src"])
            assert fragment.status_code == 200, item["src"]
            out[item["key"]] = fragment.context["item"]["panel"]
        else:
            out[item["key"]] = item["panel"]
    return out


class _Client(Client):
    """A test client whose responses remember it (to fetch a page's deferred panels)."""

    def request(self, **request):
        response = super().request(**request)
        response.wsgi_request_client = self
        return response


# ------------------------------------------------------------------------------- access
@pytest.mark.parametrize(
    ("who", "status"),
    [("teacher", 200), ("ta", 200), ("admin", 200), ("student", 403), ("other_teacher", 403), ("other_admin", 403)],
)
def test_course_dashboard_is_for_the_course_staff_only(course_data, who, status):
    # given a person in one role, when they open the course dashboard
    response = client_for(getattr(course_data.world, who)).get(course_url(course_data))
    # then only the course's staff and its school's admins get it
    assert response.status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(course_data):
    for url in (course_url(course_data), school_url(course_data), student_url(course_data, course_data.students[0])):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_student_sees_their_own_page_and_no_one_elses(course_data):
    me, classmate = course_data.students[0], course_data.students[1]
    client = client_for(me)
    assert client.get(student_url(course_data, me)).status_code == 200
    assert client.get(student_url(course_data, classmate)).status_code == 403
    assert (
        client.get(
            reverse("dashboards:student-csv", args=[course_data.world.course.pk, classmate.pk, "mastery"])
        ).status_code
        == 403
    )
    # their "my progress" link lands on their own page
    response = client.get(reverse("dashboards:me", args=[course_data.world.course.pk]))
    assert response.status_code == 302 and response["Location"] == student_url(course_data, me)


def test_a_teacher_of_another_course_cannot_open_this_courses_students(course_data):
    other = client_for(course_data.world.other_teacher)
    assert other.get(student_url(course_data, course_data.students[0])).status_code == 403
    assert other.get(reverse("dashboards:course-csv", args=[course_data.world.course.pk, "mastery"])).status_code == 403


def test_a_student_page_of_someone_not_in_the_course_is_404_for_staff(course_data):
    outsider = course_data.world.other_student
    assert client_for(course_data.world.teacher).get(student_url(course_data, outsider)).status_code == 404


def test_a_student_id_beyond_64_bits_is_404_not_a_server_error(course_data):
    # given a URL edited by hand to a student id no database key can hold
    huge = 10**20
    client = client_for(course_data.world.teacher)
    # then the page and its CSV say "no such student", as for any other unknown id
    # (typed by hand: reverse() refuses to build a link to an id out of range)
    page_url = reverse("dashboards:course", args=[course_data.world.course.pk]) + f"students/{huge}/"
    assert client.get(page_url).status_code == 404
    assert client.get(page_url + "csv/mastery/").status_code == 404


def test_school_analytics_are_for_that_schools_admins(course_data):
    w = course_data.world
    assert client_for(w.admin).get(school_url(course_data)).status_code == 200
    for who in (w.other_admin, w.teacher, w.student):
        assert client_for(who).get(school_url(course_data)).status_code == 403
    assert client_for(w.admin).get(reverse("dashboards:school", args=[999_999])).status_code == 404


# ------------------------------------------------------------------------------ content
def test_every_course_figure_has_data_and_a_table(course_data):
    response = client_for(course_data.world.teacher).get(course_url(course_data))
    panels = panels_of(response)
    assert list(panels) == [
        "scores", "backlog", "agreement_time", "agreement_version", "mastery", "mastery_time", "risk",
        "recommendations",
    ]  # fmt: skip
    for key, panel in panels.items():
        assert panel.has_data, f"{key}: {panel.summary}"
        assert panel.figure["data"], key
        assert len(panel.table) > 0, key
        assert panel.summary, key
    html = response.content.decode()
    # each figure is embedded as JSON for the local plotly.js, with its summary for screen readers;
    # the slow ones (class history, assessment's risk scoring) arrive from their own URL after the page
    deferred = [i["key"] for i in response.context["panels"] if i.get("deferred")]
    assert deferred == ["mastery_time", "risk"]
    assert html.count('data-figure="figure-data-') == len(panels) - len(deferred)
    assert 'data-panel-src="/dashboards/courses/' in html
    assert 'aria-describedby="summary-mastery"' in html


def test_agreement_figures_match_a_hand_count(course_data):
    # given 3 teacher grades on proposals: 4 vs 4, 3 vs 2, 3 vs 3 (the serving model v2's)
    response = client_for(course_data.world.teacher).get(course_url(course_data))
    by_version = panels_of(response)["agreement_version"].table
    row = by_version[by_version["model_version"] == 2].iloc[0]
    # then 2 of 3 agree exactly, 3 of 3 within one point, and the model is 1/3 point high
    assert row["pairs"] == 3
    assert row["exact_pct"] == pytest.approx(200 / 3)
    assert row["within_one_point_pct"] == pytest.approx(100.0)
    assert row["mean_model_minus_teacher_points"] == pytest.approx(1 / 3)


def test_review_backlog_counts_what_awaits_a_teacher(course_data):
    response = client_for(course_data.world.teacher).get(course_url(course_data))
    backlog = panels_of(response)["backlog"].table.iloc[0]
    assert backlog["awaiting_teacher"] == 2  # one scored, one whose scoring failed
    assert backlog["released"] == 3 and backlog["reviewed"] == 1


def test_backlog_columns_and_legend_word_each_status_as_the_other_pages_do(course_data):
    from eduai.web.labels import SUBMISSION_STATUS_LABELS

    panel = panels_of(client_for(course_data.world.teacher).get(course_url(course_data)))["backlog"]
    header = dict(zip(panel.csv_columns, panel.header(), strict=True))
    legend = {trace["name"] for trace in panel.figure["data"]}
    # every status column is labelled as the course pages label it ("released": "Graded", it
    # was "Released" here), except a scored essay, which awaits the teacher's review
    for status, text in SUBMISSION_STATUS_LABELS.items():
        assert header[status] == (str(text) if status != "scored" else "Awaiting review"), status
    # and the figure's legend uses the same words as the table
    assert legend and legend <= set(header.values())


def test_mastery_heatmap_puts_students_with_similar_gaps_together(course_data):
    # given students whose right answers alternate by skill (two patterns: even and odd k)
    response = client_for(course_data.world.teacher).get(course_url(course_data))
    table = panels_of(response)["mastery"].table
    ids = [int(i) for i in table["student_id"]]
    pattern = {s.pk: k % 2 for k, s in enumerate(course_data.students)}
    groups = [pattern[i] for i in ids]
    # then the clustered order has each pattern in one contiguous block
    changes = sum(1 for a, b in itertools.pairwise(groups) if a != b)
    assert changes == 1, groups


def test_mastery_heatmap_can_be_sorted_weakest_first(course_data):
    response = client_for(course_data.world.teacher).get(course_url(course_data) + "?heatmap=weakest")
    table = panels_of(response)["mastery"].table
    means = table.drop(columns=["student_id", "student", "_url_student"]).mean(axis=1).tolist()
    assert means == sorted(means)
    # an unknown order falls back to the clustered one instead of failing
    assert client_for(course_data.world.teacher).get(course_url(course_data) + "?heatmap=<x>").status_code == 200


def test_a_student_sees_only_released_grades_staff_see_the_grade_of_record(course_data):
    reviewed_author = course_data.students[3]  # decided (3) but not released
    own = client_for(reviewed_author).get(student_url(course_data, reviewed_author))
    staff = client_for(course_data.world.teacher).get(student_url(course_data, reviewed_author))
    assert panels_of(own)["submissions"].table.iloc[0]["score"] is None
    assert panels_of(staff)["submissions"].table.iloc[0]["score"] == 3
    # and a released grade shows with its feedback comment
    first = course_data.students[0]
    row = panels_of(client_for(first).get(student_url(course_data, first)))["submissions"].table.iloc[0]
    assert row["score"] == 4 and "Good structure." in row["feedback"]


def test_student_page_figures_have_data(course_data):
    me = course_data.students[0]
    panels = panels_of(client_for(me).get(student_url(course_data, me)))
    assert list(panels) == ["mastery", "progress", "submissions", "recommendations"]
    for key, panel in panels.items():
        assert panel.has_data and panel.figure["data"], key


def test_school_risk_counts_come_from_snapshots_kept_by_course_pages_and_the_command(course_data, monkeypatch):
    from eduai.dashboards import school

    monkeypatch.setattr(school, "RISK_INLINE_COURSES", 0)  # as in a school of many courses
    w = course_data.world
    admin = client_for(w.admin)
    # given no course's risk computed yet, the school page says so rather than scoring 50 courses
    before = panels_of(admin.get(school_url(course_data)))["risk"]
    assert not before.has_data and "dashboards_risk_refresh" in before.summary
    # when a teacher's dashboard computes its course's risk
    panels_of(client_for(w.teacher).get(course_url(course_data)))
    # then the school page counts that course, and says the other is not computed yet
    after = panels_of(admin.get(school_url(course_data)))["risk"]
    row = after.table.set_index("course").loc["ENG1"]
    assert row["students"] == len(course_data.students)
    assert "1 course has not been computed yet" in after.summary
    # and the periodic refresh (its command) fills in every course
    from django.core.management import call_command

    call_command("dashboards_risk_refresh", school=w.school.pk, stdout=io.StringIO())
    final = panels_of(admin.get(school_url(course_data)))["risk"]
    assert final.table["students"].notna().all()


def test_a_small_schools_first_visit_scores_its_few_courses(course_data):
    from eduai.dashboards.models import CourseRiskSnapshot

    risk = panels_of(client_for(course_data.world.admin).get(school_url(course_data)))["risk"]
    assert risk.has_data and risk.table["students"].notna().all()
    assert CourseRiskSnapshot.objects.count() == 2


def test_school_figures_have_data(course_data):
    panels = panels_of(client_for(course_data.world.admin).get(school_url(course_data)))
    for key, panel in panels.items():
        if key == "latency":
            continue  # predictions made "now" count; checked below
        assert panel.has_data, f"{key}: {panel.summary}"
    grading = panels["grading"].table.set_index("course")
    assert grading.at["ENG1", "auto_released"] == 1
    assert grading.at["ENG1", "auto_released_pct"] == pytest.approx(100 / 3)
    training = panels["training"].table
    assert sorted(training["status"]) == ["failed", "ready", "ready"]
    # read through grading.api: the set-up's three versions, oldest first, with their figures
    assert list(zip(training["version"], training["method"], training["course"], strict=True)) == [
        (1, "fast", "ENG1"),
        (2, "fast", "ENG1"),
        (3, "finetune", "ENG1"),
    ]
    assert list(training["is_active"]) == [False, True, False]
    assert training["failure_reason"].iloc[2] == "out of memory" and training["val_qwk"].iloc[1] == 0.74


def test_the_school_training_history_names_no_server_folders(world):
    # given a failed training run whose reason is an OSError's message with a server path in it
    from grading.models import GradingModel, Method, ModelStatus

    assignment = f.AssignmentFactory(course=world.course)
    GradingModel.objects.create(
        assignment=assignment, version=1, method=Method.FINETUNE, status=ModelStatus.FAILED,
        failure_reason="OSError: [Errno 28] No space left on device: '/srv/edu ai/models/a1/v1/model.safetensors'",
    )  # fmt: skip
    client = client_for(world.admin)  # a school admin, not the server's operator
    # when the school's admin opens the school page and its training-history CSV
    page = client.get(reverse("dashboards:school", args=[world.school.pk]))
    download = client.get(reverse("dashboards:school-csv", args=[world.school.pk, "training"]))
    # then the failure is there, naming the file but not where the server keeps it
    assert page.status_code == download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert [r["failure_reason"] for r in rows] == ["OSError: [Errno 28] No space left on device: 'model.safetensors'"]
    assert "model.safetensors" in page.content.decode()
    assert "/srv/" not in page.content.decode() and "/srv/" not in download.content.decode()


def test_class_mastery_over_time_matches_a_hand_count(course_data):
    from collections import defaultdict
    from datetime import timedelta

    from django.utils import timezone

    from assessment.models import MasteryHistory

    # given: the set-up's answers over three weeks, folded into mastery history by assessment;
    # the expected figures grouped here, in Python, by the Monday of each estimate's week
    points: dict[tuple[str, object], list[tuple[int, float]]] = defaultdict(list)
    for skill, student, p, at in MasteryHistory.objects.filter(course=course_data.world.course).values_list(
        "skill__name", "student_id", "p", "at"
    ):
        local = timezone.localtime(at)
        monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        points[(skill, monday)].append((student, p))
    assert len(points) >= 6  # three skills, several weeks each
    # when
    table = panels_of(client_for(course_data.world.teacher).get(course_url(course_data)))["mastery_time"].table
    # then: one row per skill and week, the mean estimate (%) and the distinct students behind it
    got = {(s, w): (n, m) for s, w, n, m in table[["skill", "week", "students", "mean_pct"]].itertuples(index=False)}
    assert set(got) == set(points)
    for key, pts in points.items():
        assert got[key][0] == len({s for s, _ in pts})
        assert got[key][1] == pytest.approx(100.0 * sum(p for _, p in pts) / len(pts))


def test_recommended_and_used_match_a_hand_count(course_data):
    from recommender.models import RecommendationSet

    # given: the set-up's lists (the resource first for all six students, then one of three
    # practice items, two students each), everything used in the last 28 days, and a list not
    # computed yet (it recommends nothing)
    late = f.UserFactory(username="late")
    RecommendationSet.objects.create(student=late, course=course_data.world.course, items=[], computed_at=None)
    # when
    table = panels_of(client_for(course_data.world.teacher).get(course_url(course_data)))["recommendations"].table
    # then
    rows = {
        (kind, title): (rec, top3, used)
        for kind, title, rec, top3, used in table[
            ["kind", "title", "recommended_to_students", "in_top_3", "used_by_students_28_days"]
        ].itertuples(index=False)
    }
    assert rows[("Resource", "Fractions explained")] == (6, 6, 6)
    practice = [v for (kind, _), v in rows.items() if kind == "Practice item"]
    assert practice == [(2, 2, 6)] * 3
    assert len(rows) == 4


# ------------------------------------------------------------------------------------ CSV
def test_csv_download_is_the_table_behind_the_figure(course_data):
    client = client_for(course_data.world.teacher)
    response = client.get(reverse("dashboards:course-csv", args=[course_data.world.course.pk, "risk"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == len(course_data.students)
    assert set(rows[0]) == {"student_id", "student", "risk_pct", "at_risk", "reasons"}  # no hidden link columns


def test_unknown_figure_csv_is_404(course_data):
    client = client_for(course_data.world.teacher)
    assert client.get(reverse("dashboards:course-csv", args=[course_data.world.course.pk, "nope"])).status_code == 404


def test_every_csv_link_on_the_pages_works(course_data):
    w = course_data.world
    pages = [
        (w.teacher, course_url(course_data)),
        (w.teacher, student_url(course_data, course_data.students[0])),
        (w.admin, school_url(course_data)),
    ]
    for user, url in pages:
        client = client_for(user)
        html = client.get(url).content.decode()
        links = re.findall(r'href="([^"]+/csv/[^"]+)"', html)
        assert links
        for link in links:
            assert client.get(link.replace("&amp;", "&")).status_code == 200, link


# -------------------------------------------------------------------------------- offline
def test_pages_load_nothing_from_another_host(course_data):
    w = course_data.world
    for user, url in (
        (w.teacher, course_url(course_data)),
        (w.student, student_url(course_data, w.student)),
        (w.admin, school_url(course_data)),
        (w.teacher, reverse("dashboards:index")),
    ):
        html = client_for(user).get(url).content.decode()
        tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", html)
        external = [t for t in tags if re.search(r"""(?:src|href)=["']?(?:https?:)?//""", t)]
        assert not external, (url, external)
        if "data-figure=" in html:
            assert re.search(r'<script src="/dashboards/plotly-[\d.]+\.min\.js"', html)


def test_plotly_js_is_served_by_us_with_long_cache(client):
    from eduai.dashboards.views import plotly_version

    url = reverse("dashboards:plotly-js", args=[plotly_version()])
    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"] and "max-age=31536000" in response["Cache-Control"]
    import gzip

    assert gzip.decompress(response.content).startswith(b"/**")
    plain = client.get(url)
    assert "Content-Encoding" not in plain and len(plain.content) > 1_000_000
    assert client.get(reverse("dashboards:plotly-js", args=["0.0.1"])).status_code == 404


def test_index_lists_the_dashboards_each_role_may_open(course_data):
    w = course_data.world
    teacher = client_for(w.teacher).get(reverse("dashboards:index")).content.decode()
    assert course_url(course_data) in teacher
    student = client_for(w.student).get(reverse("dashboards:index")).content.decode()
    assert (
        reverse("dashboards:me", args=[w.course.pk]) in student and f'href="{course_url(course_data)}"' not in student
    )
    admin = client_for(w.admin).get(reverse("dashboards:index")).content.decode()
    assert school_url(course_data) in admin


def test_index_lists_archived_courses_apart_and_their_dashboards_open(world):
    # given an archived course with its teacher, TA and student
    world.course.is_active = False
    world.course.save(update_fields=["is_active"])
    teacher_url = reverse("dashboards:course", args=[world.course.pk])
    student_url = reverse("dashboards:me", args=[world.course.pk])
    for user, url in ((world.teacher, teacher_url), (world.ta, teacher_url), (world.student, student_url)):
        client = client_for(user)
        # when each opens the dashboards index
        html = client.get(reverse("dashboards:index")).content.decode()
        # then the course is under "Archived courses", not among the current ones, and its link opens
        archived = html[html.index('id="dash-archived"') :]
        assert f'href="{url}"' in archived, user.username
        assert 'id="dash-teaching"' not in html and 'id="dash-learning"' not in html
        assert "You have no courses yet" not in html
        assert client.get(url, follow=True).status_code == 200


# ---------------------------------------------------------------------------------- i18n
def test_pages_speak_chinese_when_the_user_chose_it(course_data):
    w = course_data.world
    w.teacher.language = "zh-hans"
    w.teacher.save(update_fields=["language"])
    response = client_for(w.teacher).get(course_url(course_data))
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "课程仪表板" in html and "下载 CSV" in html
    panels = panels_of(response)
    assert panels["mastery"].title == "按学生和技能的掌握度"
    assert "名学生" in panels["mastery"].summary
    # axis titles inside the figure JSON are translated too
    assert panels["risk"].figure["layout"]["xaxis"]["title"]["text"] == "估计风险（%）"  # a deferred panel
    # and so is the hover text of the score distributions ("Score" was kept out of the catalogue)
    hovers = {trace["hovertemplate"] for trace in panels["scores"].figure["data"]}
    assert hovers and all("<br>分数 %{x}" in h for h in hovers), hovers


def test_quadratic_weighted_kappa_matches_scikit_learn():
    import numpy as np
    from sklearn.metrics import cohen_kappa_score

    from eduai.dashboards.sources import qwk

    rng = np.random.default_rng(7)
    for _ in range(20):
        teacher = rng.integers(0, 7, size=40)
        model = np.clip(teacher + rng.integers(-2, 3, size=40), 0, 6)
        expected = cohen_kappa_score(teacher, model, weights="quadratic", labels=list(range(7)))
        assert qwk(model, teacher, 0, 6) == pytest.approx(expected)
    assert qwk(np.array([3, 3]), np.array([3, 3]), 0, 6) is None  # one score used: undefined
    assert qwk(np.array([3]), np.array([2]), 0, 6) is None


def test_figure_properties_nest_like_plotlys_magic_underscore():
    from eduai.dashboards.figures import Fig, magic

    assert magic({"line_shape": "hv", "line": {"color": "#000"}}) == {"line": {"shape": "hv", "color": "#000"}}
    assert magic({"marker_pattern_shape": "/", "error_y": {"type": "data"}}) == {
        "marker": {"pattern": {"shape": "/"}},
        "error_y": {"type": "data"},
    }
    fig = Fig.subplots(1, 2, ["a", "b"]).add_bar(x=[1], y=[2], row=1, col=2)
    assert fig.data[0]["xaxis"] == "x2" and fig.layout["xaxis2"]["anchor"] == "y2"


def test_a_date_alone_on_its_axis_gets_the_week_around_it_not_a_millisecond():
    import pandas as pd

    from eduai.dashboards.figures import Fig, style

    # given a course's first week of grades: one date on a time axis (a line and a bar there)
    week = pd.Timestamp("2026-11-23")
    fig = Fig()
    fig.add_scatter(x=pd.Series([week]), y=[65.0], mode="lines+markers")
    fig.add_bar(x=pd.Series([week.date()]), y=[3])
    layout = style(fig, title="t")["layout"]
    # then the axis shows the days around it (plotly alone zooms to a millisecond and ticks
    # "23:59:59.9995"), and the bar is most of a day wide rather than a millisecond
    low, high = (pd.Timestamp(v) for v in layout["xaxis"]["range"])
    assert low < week < high and high - low == pd.Timedelta(days=7)
    assert fig.data[1]["width"] >= 12 * 3600 * 1000
    # and several dates, or categories, keep plotly's own range
    several = Fig()
    several.add_scatter(x=pd.Series([week, week + pd.Timedelta(days=7)]), y=[1, 2])
    categories = Fig()
    categories.add_bar(x=["short"], y=[1])
    for other in (several, categories):
        assert "range" not in style(other, title="t")["layout"]["xaxis"]


def test_summaries_count_one_week_and_one_assignment_in_the_singular(course_data):
    # given the fixture course: one essay assignment, its grades all decided this week
    panels = panels_of(client_for(course_data.world.teacher).get(course_url(course_data)))
    assert len(panels["agreement_time"].table) == 1 and len(panels["scores"].table["assignment_id"].unique()) == 1
    # then its summaries say "1 week" and "1 assignment", not "1 weeks" and "1 assignments"
    assert " over 1 week. " in panels["agreement_time"].summary
    assert " over 1 assignment. " in panels["scores"].summary
    # and the school page of two courses keeps the plural
    school = panels_of(client_for(course_data.world.admin).get(school_url(course_data)))
    assert school["active"].summary.endswith(" over 2 courses.")


def test_fairness_by_essay_length_names_its_bands_in_order_and_in_chinese(course_data):
    w = course_data.world
    admin = client_for(w.admin)
    # given the school page's fairness figure by essay length
    table = panels_of(admin.get(school_url(course_data)))["fairness_length"].table
    groups = list(table["group"])
    # then its groups are named, shortest first (not the codes "short", "medium" in report order)
    assert groups and set(groups) <= {"Short", "Medium", "Long"}
    assert groups == sorted(groups, key=["Short", "Medium", "Long"].index)
    # and a Chinese reader gets them in Chinese
    w.admin.language = "zh-hans"
    w.admin.save(update_fields=["language"])
    zh = panels_of(client_for(w.admin).get(school_url(course_data)))["fairness_length"].table
    assert set(zh["group"]) <= {"短", "中", "长"}


CJK = re.compile(r"[\u4e00-\u9fff]")
# Column names that are the same in every language, and columns whose values are codes shown to people.
SAME_IN_EVERY_LANGUAGE = {"QWK", "PSI", "Validation QWK"}
CODED_COLUMNS = ("source", "status", "method", "kind")


def test_every_table_heading_and_coded_value_speaks_chinese(course_data):
    # Given a teacher and a school admin who chose Chinese
    w = course_data.world
    for user in (w.teacher, w.admin, course_data.students[0]):
        user.language = "zh-hans"
        user.save(update_fields=["language"])
    # course content (skill, trait and assignment names) is shown as written
    content = set(Skill.objects.values_list("name", flat=True)) | {t.name for t in course_data.assignment.traits.all()}
    content |= {course_data.assignment.title}
    pages = {
        "course": panels_of(client_for(w.teacher).get(course_url(course_data))),
        "student": panels_of(client_for(w.teacher).get(student_url(course_data, course_data.students[0]))),
        "student_own": panels_of(
            client_for(course_data.students[0]).get(student_url(course_data, course_data.students[0]))
        ),
        "school": panels_of(client_for(w.admin).get(school_url(course_data))),
    }
    english = []
    for page, panels in pages.items():
        for key, panel in panels.items():
            with translation.override("zh-hans"):
                header, rows = panel.header(), panel.rows()
            for column, label in zip(panel.csv_columns, header, strict=True):
                if not CJK.search(label) and label not in content and label not in SAME_IN_EVERY_LANGUAGE:
                    english.append((page, key, "heading", label))
                if column in CODED_COLUMNS:
                    i = panel.csv_columns.index(column)
                    english += [(page, key, column, r[i]["text"]) for r in rows if not CJK.search(r[i]["text"])]
    # Then no heading or coded value is left in English (they were: "Submission id", "Proposal",
    # "Decided at", "Min score", "Is active", "final", "proposal", "fast", "ready", ...)
    assert sorted(set(english)) == [], "\n".join(map(str, sorted(set(english))))


@pytest.mark.filterwarnings("error")
def test_risk_table_names_a_student_without_a_name_by_their_id(course_data):
    from eduai.dashboards import panels
    from eduai.dashboards.sources import now

    # Given a course whose roster has no name for anyone the risk model scores
    ctx = panels.CourseContext(user=course_data.world.teacher, course=course_data.world.course, now=now())
    ctx.__dict__["student_names"] = {}
    # When the risk panel is built (it warned: text filled into a column of float NaNs)
    panel = panels.course_risk(ctx)
    # Then each row is labelled with the student's id
    assert list(panel.table["student"]) == [str(i) for i in panel.table["student_id"]]
