"""Apply a signed-in user's saved interface language.

Order of precedence: the user's saved choice (``User.language``, set by the language switcher),
then Django's ``LocaleMiddleware`` choice (language cookie, then the browser's
Accept-Language). Must come after ``AuthenticationMiddleware``; it runs after
``LocaleMiddleware`` and overrides its choice only for users who made one.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


class UserLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.known = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        code = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if code in self.known:
            translation.activate(code)
            request.LANGUAGE_CODE = code
        return self.get_response(request)
