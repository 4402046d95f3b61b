"""Reasons in plain words, in the reader's language.

A ``Reason`` is stored as a code and numbers (so a cached list can be shown in English to one
reader and in Chinese to another); ``render`` turns it into a sentence with the active
language's gettext. Unknown codes render as an empty string, never an error.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from .data import Reason


def _due_phrase(iso: object, now: datetime | None = None) -> str:
    """'Friday' within the coming week, else the date (in the active language and time zone)."""
    when = parse_datetime(str(iso)) if iso else None
    if when is None:
        return ""
    now = now or timezone.now()
    local = timezone.localtime(when)
    if local.date() == timezone.localtime(now).date():
        return _("today")
    if local.date() == (timezone.localtime(now) + timedelta(days=1)).date():
        return _("tomorrow")
    if timedelta(0) <= when - now < timedelta(days=6):
        return formats.date_format(local, "l")
    return formats.date_format(local, "DATE_FORMAT")


def _pct(value: object) -> str:
    try:
        return f"{round(float(value) * 100):d}%"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


def render(reason: Reason, *, now: datetime | None = None) -> str:
    p = reason.params
    due = ""
    if p.get("due") and p.get("assignment"):
        due = " " + _("%(assignment)s is due %(when)s.") % {
            "assignment": p["assignment"],
            "when": _due_phrase(p["due"], now),
        }
    mastery = p.get("mastery")
    m = f"{float(mastery):.2f}" if isinstance(mastery, int | float) else ""
    code = reason.code
    if code == "weak_prerequisite":
        text = _("Your mastery of %(skill)s is %(mastery)s and it is a prerequisite of %(unlocks)s.") % {
            "skill": p.get("skill", ""),
            "mastery": m,
            "unlocks": p.get("unlocks", ""),
        }
    elif code == "weak_skill":
        text = _("Your mastery of %(skill)s is %(mastery)s: there is room to grow.") % {
            "skill": p.get("skill", ""),
            "mastery": m,
        }
    elif code == "slipping":
        text = _(
            "Your mastery of %(skill)s has dropped recently (now %(mastery)s); a little practice brings it back."
        ) % {
            "skill": p.get("skill", ""),
            "mastery": m,
        }
    elif code == "needs_prerequisite":
        text = _("%(skill)s (mastery %(mastery)s) builds on %(prerequisite)s, which needs work first.") % {
            "skill": p.get("skill", ""),
            "mastery": m,
            "prerequisite": p.get("prerequisite", ""),
        }
    elif code == "keep_fresh":
        text = _("You know %(skill)s well (mastery %(mastery)s); this keeps it fresh.") % {
            "skill": p.get("skill", ""),
            "mastery": m,
        }
    elif code == "start_here":
        count = int(p.get("unlocks_count", 0) or 0)
        if count:
            text = _("A good place to start: %(skill)s comes before %(count)s other skills in this course.") % {
                "skill": p.get("skill", ""),
                "count": count,
            }
        else:
            text = _("A good place to start: %(skill)s needs nothing else first.") % {"skill": p.get("skill", "")}
    elif code == "course_order":
        text = _("%(skill)s comes after %(after)s in this course.") % {
            "skill": p.get("skill", ""),
            "after": p.get("after", ""),
        }
    elif code == "course_material":
        text = _("Material for the whole course.")
    elif code == "desirable_difficulty":
        text = _("You should get this right about %(pct)s of the time: hard enough to learn from.") % {
            "pct": _pct(p.get("success"))
        }
    elif code == "essay_trait":
        text = _("Your graded essays were weakest in %(trait)s; this resource works on it.") % {
            "trait": p.get("trait", "")
        }
    elif code == "helped_similar":
        text = _("Students with a profile like yours did better after this (%(n)s of them).") % {"n": p.get("n", 0)}
    elif code == "review":
        text = _("You did this before; worth a second look.")
    elif code == "pinned":
        text = _("Recommended by your teacher.")
    else:
        return ""
    return text + due
