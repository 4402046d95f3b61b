"""URL path converter for database ids, and a REST router that uses it for detail lookups.

``<id:name>`` matches what a 64-bit primary key can hold, 1 .. 2**63-1, and nothing else: a
larger number (or 0) in a URL is simply no match, so the request ends as a 404 like any other
unknown address. Django's ``<int:...>`` passes any size on to the view, and an id beyond 64 bits
in a foreign-key or ``__in`` lookup makes SQLite's driver raise OverflowError (a 500); checking
the range here, once, means no view has to remember to.

Importing this module registers the converter; every ``urls.py`` that uses ``<id:...>`` imports
it (``IdRouter`` or ``ID``), so the registration never depends on which urls module loads first.
"""

from __future__ import annotations

from typing import Any

from django.urls import register_converter
from rest_framework.routers import SimpleRouter

# The largest value of a signed 64-bit integer, the type of every primary key here (BigAutoField
# on PostgreSQL, INTEGER on SQLite).
MAX_ID = 2**63 - 1
ID = "id"


class IdConverter:
    # 19 digits hold 2**63-1; leading zeros are allowed as with <int:> (007 is 7), so the length
    # is not bounded here and to_python does the range check.
    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_ID:
            # ValueError means "this pattern does not match": Django tries the next one, then 404.
            raise ValueError(f"id out of range: {value}")
        return number

    def to_url(self, value: Any) -> str:
        number = int(value)
        # 0 is let through: pages build link templates with it (reverse(..., args=[0]) and then
        # replace the "0/"), and it never names a row. Past 2**63-1 reverse() raises
        # NoReverseMatch instead of building a link that cannot resolve.
        if not 0 <= number <= MAX_ID:
            raise ValueError(f"id out of range: {value}")
        return str(number)


register_converter(IdConverter, ID)


class IdRouter(SimpleRouter):
    """A ``SimpleRouter`` whose detail routes take ``<id:pk>`` instead of any text.

    DRF's default lookup (``[^/.]+``) passes any string to the view; an out-of-range number then
    reaches the database. Viewsets that look up by another field keep DRF's own behaviour.
    """

    def __init__(self, trailing_slash: bool = True) -> None:
        # Path routes (not regex) so the lookup can be a converter.
        super().__init__(trailing_slash=trailing_slash, use_regex_path=False)

    def get_lookup_regex(self, viewset: Any, lookup_prefix: str = "") -> str:
        # A viewset that names its own converter, or looks up by another field (a slug), keeps
        # DRF's behaviour. In path mode that is ``<{lookup_value_converter}:...>``, and without one
        # DRF (3.15+, routers.py get_lookup_regex) falls back to ``lookup_value_regex`` as the
        # converter's *name*: such a viewset must name a registered converter ("slug", "id") in
        # either attribute, never a regex, or Django refuses the route. A pk/id viewset gets
        # ``<id:...>`` whatever regex it sets: the range check is the point of this router.
        lookup_field = getattr(viewset, "lookup_field", "pk")
        if lookup_field not in ("pk", "id") or getattr(viewset, "lookup_value_converter", None):
            return super().get_lookup_regex(viewset, lookup_prefix)
        kwarg = getattr(viewset, "lookup_url_kwarg", None) or lookup_field
        return f"<{ID}:{lookup_prefix}{kwarg}>"
