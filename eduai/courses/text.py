"""Validation and normalisation of free text that arrives from outside (API, forms, LTI, xAPI),
and the scrubbing of server file paths from messages that go out (``without_file_paths``).

Text is stored as text and always rendered escaped by the templates; this module only makes
sure it is real, bounded Unicode.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError

# C0 controls other than tab/newline/carriage return carry no meaning in an essay and break
# some databases (PostgreSQL rejects NUL in text).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
# An absolute file path in a message. Quoted, as an OSError's message quotes it ('...', or "..."
# when the path holds a '), it runs to the closing quote, spaces included; unquoted, to the first
# space or quote. Not the path part of a URL (``https://h/p``): no word, ':', '/', '.', '~' or '-'
# just before the unquoted '/'.
_FILE_PATH = re.compile(r"""'(/[^'\n]*)'|"(/[^"\n]*)"|(?<![\w:/.~-])(/[^\s'"]+)""")


def clean_text(value: object, *, field: str = "text", max_chars: int | None = None, allow_empty: bool = False) -> str:
    """Return ``value`` as normalised text or raise ``ValidationError`` with a clear message."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError({field: "Text must be valid UTF-8."}) from exc
    if not isinstance(value, str):
        raise ValidationError({field: "Expected a string."})
    limit = max_chars if max_chars is not None else settings.EDUAI_MAX_SUBMISSION_CHARS
    text = unicodedata.normalize("NFC", _CONTROL.sub("", value)).replace("\r\n", "\n")
    if "\ufffd" in text and text.count("\ufffd") > max(3, len(text) // 100):
        raise ValidationError({field: "Text looks like binary data, not writing."})
    if not allow_empty and not text.strip():
        raise ValidationError({field: "Text is empty."})
    if len(text) > limit:
        raise ValidationError({field: f"Text is {len(text)} characters long; the maximum is {limit}."})
    return text


def unstorable_text(text: str) -> bool:
    """Whether PostgreSQL's text and jsonb columns refuse ``text`` (a 500 on save, or even as a
    query parameter): it holds a NUL character or a lone surrogate (\\ud800)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def detect_language(text: str) -> str:
    """'zh' when CJK characters dominate the letters, else 'en'. Cheap and deterministic."""
    sample = text[:5000]
    cjk = len(_CJK.findall(sample))
    latin = len(_LATIN.findall(sample))
    return "zh" if cjk and cjk * 2 >= latin else "en"


def without_file_paths(message: str) -> str:
    """``message`` with each absolute file path in it reduced to its last part (the file's name):
    where the server keeps its files is nobody's business but its operators' (they read the full
    message in the logs or the Django admin). For messages shown to users: a failed training run's
    reason, an explanation that could not be computed."""

    def name_only(match: re.Match[str]) -> str:
        single, double, bare = match.groups()
        path = single or double or bare
        name = PurePath(path).name or path
        if single is not None:
            return f"'{name}'"
        return f'"{name}"' if double is not None else name

    return _FILE_PATH.sub(name_only, message)
