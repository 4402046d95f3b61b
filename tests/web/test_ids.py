"""Ids in URLs: every integer path parameter is an ``<id:...>`` (1 .. 2**63-1), so an id no
64-bit key can hold is "no such page" (404) on every page and API route, never a server error.

The overflow is real on SQLite: Django range-checks an integer primary key in a lookup, but not a
foreign key (``user_id=``) nor ``__in``, and the driver raises OverflowError (a 500).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from eduai.converters import MAX_ID, IdConverter, IdRouter

pytestmark = pytest.mark.django_db

HUGE = 10**20  # beyond 2**64 too
JUST_OVER = MAX_ID + 1  # 2**63: the first value a signed 64-bit key cannot hold


def _routes(patterns, prefix: str = "") -> Iterator[tuple[str, object]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.pattern


def _project_routes() -> list[str]:
    # Django's admin has its own (int-free) routes; ours are everything else.
    return [route for route, _ in _routes(get_resolver().url_patterns) if not route.startswith("admin/")]


def _fill(route: str, id_value: int) -> str:
    """The URL a person gets by typing ``id_value`` into every id of ``route`` (slugs: a valid key)."""
    url = re.sub(r"<(?:id|int):\w+>", str(id_value), route)
    url = re.sub(r"<slug:\w+>", "mastery", url)
    url = re.sub(r"<str:\w+>", "x", url)
    return "/" + url


def test_no_url_takes_an_unbounded_int():
    # <int:> hands any number to the view; our ids must go through the bounded converter.
    unbounded = [r for r in _project_routes() if "<int:" in r or "(?P<pk>" in r]
    assert unbounded == []
    with_ids = [r for r in _project_routes() if "<id:" in r]
    # 48 page and API routes written by hand, plus the two routers' detail routes.
    assert len(with_ids) >= 48 + 10, len(with_ids)


def test_the_converter_takes_exactly_the_64_bit_key_range():
    c = IdConverter()
    assert c.to_python("1") == 1
    assert c.to_python(str(MAX_ID)) == MAX_ID
    assert c.to_python("007") == 7
    for bad in ("0", str(JUST_OVER), str(HUGE)):
        with pytest.raises(ValueError):
            c.to_python(bad)
    # and no link is ever built to a URL that cannot resolve
    with pytest.raises(NoReverseMatch):
        reverse("dashboards:course", args=[JUST_OVER])
    assert reverse("dashboards:course", args=[MAX_ID]).endswith(f"/{MAX_ID}/")


@pytest.mark.parametrize("id_value", [HUGE, JUST_OVER])
def test_an_id_beyond_64_bits_is_404_on_every_route(world, id_value):
    # Given every role signed in (access checks run before lookups on some routes)
    routes = [r for r in _project_routes() if "<id:" in r or "<int:" in r]
    seen: dict[tuple[str, str, str], int] = {}
    for user in (world.admin, world.teacher, world.student):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for route in routes:
            url = _fill(route, id_value)
            # When the id in the URL is one no database key can hold, for reads and for writes
            for method in ("get", "post"):
                seen[(user.username, method, url)] = getattr(client, method)(url).status_code
    # Then the answer is "no such page" everywhere (not a 400 from a later check, never a 500)
    wrong = {key: status for key, status in seen.items() if status != 404}
    assert wrong == {}


@pytest.mark.parametrize(
    "route",
    [
        "dashboards/courses/<id:course_id>/students/<id:student_id>/",
        "api/v1/assessment/courses/<id:course_id>/students/<id:student_id>/mastery/",
        "api/v1/assessment/students/<id:student_id>/predicted-success/",
    ],
)
def test_a_real_course_with_a_huge_student_id_is_404(world, route):
    # The case that was a 500: a valid course, then a foreign-key lookup on the student id.
    client = Client(raise_request_exception=False)
    client.force_login(world.teacher)
    url = "/" + route.replace("<id:course_id>", str(world.course.pk)).replace("<id:student_id>", str(HUGE))
    assert client.get(url).status_code == 404
    # while the largest valid id is an ordinary unknown student
    url = "/" + route.replace("<id:course_id>", str(world.course.pk)).replace("<id:student_id>", str(MAX_ID))
    assert client.get(url).status_code in (404, 400)


def test_the_router_gives_id_lookups_the_converter_and_leaves_named_converters_alone():
    class ById:
        lookup_value_regex = "[0-9]+"  # a regex: in path mode DRF would take it as a converter name

    class BySlug:
        lookup_field = "slug"
        lookup_value_regex = "slug"  # path mode: DRF's fallback reads this as the converter name

    class ByConverter:
        lookup_value_converter = "str"

    router = IdRouter()
    assert router.get_lookup_regex(ById) == "<id:pk>"
    assert router.get_lookup_regex(BySlug) == "<slug:slug>"
    assert router.get_lookup_regex(ByConverter) == "<str:pk>"
