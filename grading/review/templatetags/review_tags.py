"""Small display filters of the review pages (numbers only; text stays escaped by Django)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.734 -> '73%'; None -> '—'."""
    if value is None:
        return "—"
    return f"{round(float(value) * 100):d}%"


@register.filter
def num(value: float | None, digits: int = 2) -> str:
    """A fixed-point figure, or '—' when there is none (QWK undefined, no pairs)."""
    if value is None:
        return "—"
    return f"{float(value):.{int(digits)}f}"


@register.filter
def signed(value: float | None, digits: int = 2) -> str:
    """+0.25 / −0.40 (a real minus sign), or '—'."""
    if value is None:
        return "—"
    v = float(value)
    text = f"{abs(v):.{int(digits)}f}"
    return ("+" if v > 0 else "−" if v < 0 else "±") + text
