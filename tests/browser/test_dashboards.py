"""The dashboards in a real browser, on the small demo school: each role opens its pages, every
figure is drawn with data points (plotly's own ``data`` on the div, including the figures that
load after the page), the role boundaries hold, nothing comes from another host, and the pages
speak Chinese. Screenshots: test-artifacts/screenshots/dashboards-*.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from eduai.courses.models import Course, Enrollment

from .helpers import login_as, save_screenshot, switch_language

pytestmark = pytest.mark.slow

ALL_DRAWN = """() => document.querySelectorAll('[data-panel-src]').length === 0
  && Array.from(document.querySelectorAll('[data-figure]')).every(el => el.dataset.drawn === 'true')"""
POINTS = """() => Array.from(document.querySelectorAll('[data-figure]')).map(el => [el.id, (el.data || []).length,
  (el.data || []).reduce((n, t) => n + ((t.x && t.x.length) || (t.y && t.y.length) || (t.z && t.z.length) || 0), 0)])"""
OTHER_HOSTS = """() => Array.from(document.querySelectorAll('script[src], link[href], img[src], iframe[src]'))
  .map(el => el.src || el.href).filter(u => u && new URL(u, location.href).host !== location.host)"""


def _wait_for_figures(page: Page) -> dict[str, tuple[int, int]]:
    page.wait_for_function(ALL_DRAWN, timeout=60_000)
    drawn = {fid: (traces, points) for fid, traces, points in page.evaluate(POINTS)}
    assert drawn, "no figure on the page"
    empty = [fid for fid, (traces, points) in drawn.items() if traces == 0 or points == 0]
    assert not empty, f"figures without data points: {empty}"
    assert page.evaluate(OTHER_HOSTS) == []
    return drawn


def _login_for(summary, role: str) -> str:
    return next(username for r, username, _note in summary.logins if r == role)


def test_teacher_course_dashboard_draws_every_figure_and_drills_down(page, demo_site):
    eng = Course.objects.get(code="ENG9")
    login_as(page, "li.wei")
    # Given: the teacher follows the nav to their dashboards
    page.get_by_role("link", name="Dashboards").first.click()
    page.locator("#dash-teaching").get_by_role("link", name=re.compile("ENG9")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Course dashboard: ENG9")
    # Then: every figure is drawn with data, the deferred ones included
    drawn = _wait_for_figures(page)
    for key in ("scores", "backlog", "mastery", "mastery_time", "risk", "recommendations"):
        assert f"figure-{key}" in drawn, key
    expect(page.locator("#panel-mastery .dash-summary")).to_contain_text("students by")
    save_screenshot(page, "dashboards-01-course-teacher")

    # When: they open the table behind the heatmap and follow a student's row
    page.locator("#panel-mastery details summary").click()
    link = page.locator("#panel-mastery table tbody a").first
    name = link.inner_text()
    link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    _wait_for_figures(page)
    save_screenshot(page, "dashboards-02-student-drilldown")

    # And: the CSV behind a figure downloads
    page.goto(f"/dashboards/courses/{eng.pk}/")
    with page.expect_download() as download:
        page.locator("#panel-backlog a.dash-csv").click()
    assert download.value.suggested_filename == "ENG9-backlog.csv"


def test_a_teacher_of_another_course_is_refused(page, demo_site):
    eng = Course.objects.get(code="ENG9")
    login_as(page, "daniel.okafor")  # teaches MATH9 only
    response = page.goto(f"/dashboards/courses/{eng.pk}/")
    assert response is not None and response.status == 403
    response = page.goto(f"/dashboards/courses/{eng.pk}/csv/mastery/")
    assert response is not None and response.status == 403


def test_student_reads_their_own_progress_not_a_classmates(page, demo_site):
    student = _login_for(demo_site, "student")
    eng = Course.objects.get(code="ENG9")
    login_as(page, student)
    page.get_by_role("link", name="Dashboards").first.click()
    page.locator("#dash-learning").get_by_role("link", name=re.compile("ENG9")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("My progress in ENG9")
    drawn = _wait_for_figures(page)
    assert {"figure-mastery", "figure-progress"} <= set(drawn)
    save_screenshot(page, "dashboards-03-student-own")
    classmate = (
        Enrollment.objects.filter(course=eng, role="student")
        .exclude(user__username=student)
        .values_list("user_id", flat=True)
        .first()
    )
    response = page.goto(f"/dashboards/courses/{eng.pk}/students/{classmate}/")
    assert response is not None and response.status == 403


def test_school_admin_analytics_then_in_chinese(page, demo_site):
    login_as(page, "helen.carter")
    page.get_by_role("link", name="Dashboards").first.click()
    page.locator("#dash-schools a").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("School analytics")
    drawn = _wait_for_figures(page)
    # (the small demo trains no grading model, so model health has no training history to draw)
    for key in ("active", "activity", "submissions", "grading", "risk"):
        assert f"figure-{key}" in drawn, key
    save_screenshot(page, "dashboards-04-school-admin")

    # When: they switch the interface to Chinese, the page and its figures speak it
    switch_language(page, "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_contain_text("学校分析")
    _wait_for_figures(page)
    expect(page.locator("#panel-grading h2")).to_have_text("评分量与自动发布比例")
    save_screenshot(page, "dashboards-05-school-admin-zh")

    # And: the teacher's course dashboard too
    eng = Course.objects.get(code="ENG9")
    page.goto(f"/dashboards/courses/{eng.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("课程仪表板")
    _wait_for_figures(page)
    save_screenshot(page, "dashboards-06-course-admin-zh")
