"""A first visit, end to end in a real browser: sign in, home, a course, Chinese, sign out."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from eduai.courses.models import Enrollment

from .helpers import login_as, save_screenshot, switch_language


def _login_for(summary, role: str) -> str:
    return next(username for r, username, _note in summary.logins if r == role)


def test_student_signs_in_opens_a_course_and_switches_to_chinese(page, demo_site):
    student = _login_for(demo_site, "student")
    # Given: a new visitor on the sign-in page
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Sign in to EduAI")).to_be_visible()
    save_screenshot(page, "01-login")

    # When: they sign in with a demo account
    login_as(page, student)

    # Then: the home page lists their courses
    expect(page.get_by_role("heading", name=re.compile(r"^Welcome, "))).to_be_visible()
    enrolled = Enrollment.objects.filter(user__username=student, role="student", is_active=True).count()
    assert enrolled >= 2
    expect(page.locator("#learning a.course-link")).to_have_count(enrolled)
    save_screenshot(page, "02-home-student")

    # When: they open the English course
    page.locator("#learning").get_by_role("link", name=re.compile("ENG9")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("English Writing 9")
    expect(page.locator("#assignments")).to_contain_text("A place that matters to me")
    expect(page.locator("#resources li").first).to_be_visible()
    save_screenshot(page, "03-course-student")

    # When: they switch the interface to Chinese
    switch_language(page, "zh-hans")

    # Then: the same page speaks Chinese; their own content stays as written
    expect(page.get_by_role("heading", name="作业", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="学习资源")).to_be_visible()
    expect(page.locator("#assignments")).to_contain_text("A place that matters to me")
    save_screenshot(page, "04-course-student-zh")

    # And: the choice sticks on the next page
    page.get_by_role("link", name="首页").first.click()
    expect(page.get_by_role("heading", name=re.compile("^欢迎，"))).to_be_visible()
    save_screenshot(page, "05-home-student-zh")

    # When: they sign out, they are back on the (Chinese) sign-in page
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", name="登录 EduAI")).to_be_visible()


def test_teacher_sees_courses_taught_and_work_awaiting_a_grade(page, demo_site):
    login_as(page, "li.wei")
    teaching = page.locator("#teaching")
    expect(teaching).to_contain_text("ENG9")
    expect(teaching).to_contain_text("ZH9")
    save_screenshot(page, "06-home-teacher")
    teaching.get_by_role("link", name=re.compile("ZH9")).first.click()
    expect(page.locator("#assignments")).to_contain_text("说说坚持")
    expect(page.locator("#assignments th", has_text="Awaiting a grade")).to_be_visible()
    save_screenshot(page, "07-course-teacher-zh-course")


def test_school_admin_sees_every_course_of_the_school(page, demo_people):
    login_as(page, "helen.carter")
    expect(page.locator("#school tbody tr")).to_have_count(3)
    save_screenshot(page, "08-home-admin")


def test_wrong_password_is_refused_in_the_browser(page, demo_people):
    page.goto("/login/")
    page.get_by_label("Username").fill("li.wei")
    page.get_by_label("Password").fill("not-the-password")
    page.locator("form button.primary").click()
    expect(page.get_by_role("alert")).to_contain_text("didn't match")
    expect(page).to_have_url(re.compile(r"/login/$"))


def test_pages_log_no_errors_in_the_browser_console(page, demo_people):
    # Given: a visitor whose browser reports every failed request and script error
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    # When: they open the sign-in page, sign in and land on home
    page.goto("/login/")
    page.wait_for_load_state("networkidle")
    login_as(page, "li.wei")
    page.wait_for_load_state("networkidle")
    # Then: nothing failed (the browser's own /favicon.ico request was a 404 on every page)
    assert errors == []
