"""Charts speak the page's language: on a Chinese page the date axes and hover dates of every
plotly figure carry no English month names (plotly.js is English unless given a locale)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from eduai.courses.models import Course

from .helpers import login_as, save_screenshot, switch_language

pytestmark = pytest.mark.slow

ALL_DRAWN = """() => document.querySelectorAll('[data-panel-src]').length === 0
  && Array.from(document.querySelectorAll('[data-figure]')).every(el => el.dataset.drawn === 'true')"""
# Tick labels of every date axis plotly drew (x or y), per figure.
DATE_TICKS = """() => Array.from(document.querySelectorAll('[data-figure]')).flatMap(el => {
  const layout = el._fullLayout || {};
  return Object.keys(layout).filter(k => /^[xy]axis\\d*$/.test(k) && layout[k].type === 'date')
    .flatMap(k => Array.from(el.querySelectorAll('.' + k.replace('axis', '') + 'tick text'))
      .map(t => [el.id, t.textContent]));
})"""
# The hover text formats written into the figures' traces.
HOVER_FORMATS = """() => Array.from(document.querySelectorAll('[data-figure]'))
  .flatMap(el => (el.data || []).map(t => t.hovertemplate || '')).filter(Boolean)"""
ENGLISH_MONTH = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b")


def _date_ticks(page: Page) -> list[tuple[str, str]]:
    page.wait_for_function(ALL_DRAWN, timeout=60_000)
    return [(fid, text) for fid, text in page.evaluate(DATE_TICKS)]


def test_date_axes_follow_the_page_language(page, demo_site):
    eng = Course.objects.get(code="ENG9")
    login_as(page, "li.wei")
    page.goto(f"/dashboards/courses/{eng.pk}/")
    # Given the English page: its date axes name months in English (the check below can see them)
    english = _date_ticks(page)
    assert english, "no date axis drawn on the course dashboard"
    assert any(ENGLISH_MONTH.search(text) for _fid, text in english), english

    # When the teacher switches to Chinese
    switch_language(page, "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_contain_text("课程仪表板")
    chinese = _date_ticks(page)
    save_screenshot(page, "charts-zh-course-dashboard")
    # Then the same axes carry dates written the Chinese way, and no English month name
    assert len(chinese) >= len({fid for fid, _t in english})
    assert [t for t in chinese if ENGLISH_MONTH.search(t[1])] == []
    assert any("月" in text or "年" in text for _fid, text in chinese), chinese
    # and hover dates are formatted for Chinese too (no "%b" month name left in a template)
    hovers = page.evaluate(HOVER_FORMATS)
    assert [h for h in hovers if "%b" in h] == []
    assert any("月" in h for h in hovers), hovers


def test_a_students_own_progress_chart_in_chinese(page, demo_site):
    student = next(username for role, username, _note in demo_site.logins if role == "student")
    eng = Course.objects.get(code="ENG9")
    login_as(page, student)
    switch_language(page, "zh-hans")
    page.goto(f"/dashboards/courses/{eng.pk}/me/")
    ticks = _date_ticks(page)
    assert ticks, "no date axis on the student's own page"
    assert [t for t in ticks if ENGLISH_MONTH.search(t[1])] == []
