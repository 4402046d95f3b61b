"""On a phone-sized screen (390 px wide, Chinese) no page is wider than the screen: wide tables
scroll inside a wrapper instead of pushing the whole page sideways, and stay tables (display:
table) so that screen readers still announce their rows and columns."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from eduai.courses.models import Course

from .helpers import login_as, save_screenshot, switch_language

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
# How far the page reaches beyond the screen, and the widest offender (for the message).
OVERFLOW = """() => {
  const over = document.documentElement.scrollWidth - window.innerWidth;
  const wide = Array.from(document.querySelectorAll('body *'))
    .map(e => [e.tagName + '.' + e.className, Math.round(e.getBoundingClientRect().right)])
    .filter(([, right]) => right > window.innerWidth + 1).slice(0, 3);
  return [over, wide];
}"""
# Tables shown as something else than a table (display:block drops their semantics in WebKit).
NOT_TABLES = """() => Array.from(document.querySelectorAll('table'))
  .filter(t => getComputedStyle(t).display !== 'table').map(t => t.className)"""
# Header links whose text broke over several lines (Chinese can break between any two characters).
BROKEN_NAV = """() => Array.from(document.querySelectorAll('header nav a')).filter(a => {
  const r = document.createRange(); r.selectNodeContents(a);
  return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size > 1;
}).map(a => a.textContent.trim())"""


@pytest.fixture
def graded_demo(live_server, settings, tmp_path):  # type: ignore[no-untyped-def]
    """The demo school with trained graders and decided proposals (the review pages' tables have
    rows: agreement per assignment, by background, ...), without the practice activity."""
    from eduai.demo.builder import DemoConfig, build_demo

    settings.EDUAI_EMBED_MAX_TOKENS = 64
    settings.EDUAI_MODEL_ROOT = tmp_path / "models"
    return build_demo(config=DemoConfig(n_students=24, activity=False, essay_scale=0.3, recommendations=False))


@pytest.mark.parametrize("who", ["li.wei", "helen.carter"])
def test_staff_pages_fit_a_phone_screen_in_chinese(page, graded_demo, who):
    login_as(page, who)
    switch_language(page, "zh-hans")
    page.set_viewport_size(PHONE)  # (after signing in: the header hides the name on a phone)
    eng = Course.objects.get(code="ENG9")
    paths = [
        "/",
        f"/courses/{eng.pk}/",
        f"/review/courses/{eng.pk}/",
        f"/review/courses/{eng.pk}/agreement/",
        f"/recommender/course/{eng.pk}/",
        f"/dashboards/courses/{eng.pk}/",
    ]
    too_wide, broken, not_tables = {}, {}, {}
    for path in paths:
        page.goto(path)
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        over, wide = page.evaluate(OVERFLOW)
        if page.evaluate(NOT_TABLES):
            not_tables[path] = page.evaluate(NOT_TABLES)
        if page.evaluate(BROKEN_NAV):
            broken[path] = page.evaluate(BROKEN_NAV)
        if over > 0:
            too_wide[path] = (over, wide)
            save_screenshot(page, f"narrow-{who}-{path.strip('/').replace('/', '-') or 'home'}")
    assert too_wide == {}
    # with every table still a table (it was display:block on a phone)
    assert not_tables == {}
    # and the header's links stay whole words (they broke into one character a line: 首 / 页)
    assert broken == {}
