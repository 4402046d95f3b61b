"""Interface language: the switcher, the saved preference, the browser's choice, the catalogue."""

from __future__ import annotations

import ast
import gettext
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests import factories as f

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


@pytest.mark.django_db
def test_browser_asking_for_chinese_gets_a_chinese_login_page(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5")
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "登录 EduAI" in html
    assert "Sign in to EduAI" not in html


@pytest.mark.django_db
def test_switching_to_chinese_renders_chinese_and_is_saved_on_the_account(client, world):
    client.force_login(world.student)
    # When: the student picks Chinese in the switcher on the home page
    response = client.post(reverse("language-set"), {"language": "zh-hans", "next": reverse("home")})
    # Then: back to the page they were on, now in Chinese, and the choice is kept on the account
    assert response.status_code == 302 and response["Location"] == reverse("home")
    html = client.get(reverse("home")).content.decode()
    assert "欢迎，Stu" in html and "我的课程" in html
    world.student.refresh_from_db()
    assert world.student.language == "zh-hans"


@pytest.mark.django_db
def test_saved_language_follows_the_user_to_another_browser(client, world):
    world.teacher.language = "zh-hans"
    world.teacher.save()
    # A fresh client has no language cookie, and its browser prefers English.
    client.force_login(world.teacher)
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "您任教的课程" in html


@pytest.mark.django_db
def test_switching_back_to_english_overrides_the_saved_choice(client, world):
    world.teacher.language = "zh-hans"
    world.teacher.save()
    client.force_login(world.teacher)
    client.post(reverse("language-set"), {"language": "en", "next": reverse("home")})
    assert "Courses you teach" in client.get(reverse("home")).content.decode()
    world.teacher.refresh_from_db()
    assert world.teacher.language == "en"


@pytest.mark.django_db
def test_unknown_language_is_ignored_not_saved(client, world):
    client.force_login(world.student)
    response = client.post(reverse("language-set"), {"language": "xx-evil", "next": reverse("home")})
    assert response.status_code == 302
    world.student.refresh_from_db()
    assert world.student.language == ""
    assert "Welcome" in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_language_switch_never_redirects_off_site(client, world):
    response = client.post(reverse("language-set"), {"language": "zh-hans", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


@pytest.mark.django_db
def test_language_switch_only_accepts_post(client):
    assert client.get(reverse("language-set")).status_code == 405


@pytest.mark.django_db
def test_anonymous_switch_sets_the_cookie_only(client):
    client.post(reverse("language-set"), {"language": "zh-hans", "next": reverse("login")})
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert "登录" in client.get(reverse("login")).content.decode()


@pytest.mark.django_db
def test_switch_with_a_bad_csrf_token_is_refused(world):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.student)
    response = strict.post(reverse("language-set"), {"language": "zh-hans"})
    assert response.status_code == 403


# --- the catalogue ------------------------------------------------------------------------


def _po_entries(path: Path) -> list[dict[str, object]]:
    """(msgctxt, msgid, msgid_plural, msgstrs, flags) of each entry; enough .po grammar for makemessages output."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict[str, object] = {"flags": "", "msgstr": []}
        current = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] = line
            m = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) (".*")$', line)
            if m:
                current = m.group(1)
                value = json.loads(m.group(2))
                if current.startswith("msgstr"):
                    entry["msgstr"].append(value)  # type: ignore[union-attr]
                else:
                    entry[current] = value
            elif line.startswith('"') and current:
                value = json.loads(line)
                if current.startswith("msgstr"):
                    entry["msgstr"][-1] += value  # type: ignore[index]
                else:
                    entry[current] = str(entry[current]) + value
        if entry.get("msgid"):
            entries.append(entry)
    return entries


# Source forms the static check understands: {% translate "..." %} in templates and gettext
# calls on a literal in Python (read with ast, so a call spread over lines on implicitly joined
# literals counts). {% blocktranslate %} and computed strings are covered by `makemessages` + the
# two tests above.
_TEMPLATE_STRING = re.compile(
    r"""\{%\s*(?:translate|trans)\s+(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')(?:\s+(?:as\s+\w+|noop|context\s+\S+))*\s*%\}"""
)
# The names `makemessages` extracts from Python: xgettext's own Python keywords plus the ones Django
# adds (django/core/management/commands/makemessages.py). Name -> position of the msgid argument.
_EXTRACTED_NAMES = {
    "_": 0,
    "gettext": 0,
    "gettext_lazy": 0,
    "gettext_noop": 0,
    "ngettext": 0,
    "ngettext_lazy": 0,
    "pgettext": 1,
    "pgettext_lazy": 1,
    "npgettext": 1,
    "npgettext_lazy": 1,
}
# A gettext call whose argument is a named constant (``_(access.ARCHIVED_READ_ONLY)``).
_TRANSLATED_CONSTANT = re.compile(r"\b(?:_|gettext|gettext_lazy)\(\s*(?:\w+\.)*([A-Z][A-Z0-9_]+)\s*\)")
_SKIP_DIRS = {".venv", "tests", "bench", "migrations", "var", "staticfiles", "test-artifacts", "node_modules"}


def _project_files(pattern: str) -> list[Path]:
    root = Path(settings.BASE_DIR)
    return [p for p in root.rglob(pattern) if not _SKIP_DIRS & set(p.relative_to(root).parts)]


def _msgid(node: ast.AST) -> str | None:
    """The literal msgid of a gettext call, or None for anything else."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    position = _EXTRACTED_NAMES.get(name)
    if position is None or len(node.args) <= position:
        return None
    arg = node.args[position]
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None


def _python_msgids(path: Path) -> list[str]:
    """The literal msgids of the gettext calls in one Python file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [m for m in map(_msgid, ast.walk(tree)) if m is not None]


def _fstring_msgids(path: Path) -> list[str]:
    """The msgids of the gettext calls inside an f-string, which xgettext does not extract."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    # Keyed by node: a call in a nested f-string is walked from both f-strings.
    inside = {id(n): n for f in ast.walk(tree) if isinstance(f, ast.JoinedStr) for n in ast.walk(f)}
    return [m for m in map(_msgid, inside.values()) if m is not None]


def test_every_translatable_string_in_the_sources_is_in_a_catalogue():
    # Given: every catalogue Django merges (the project's, and apps' own locale folders)
    known: set[str] = set()
    for po in _project_files("django.po"):
        if "zh_Hans" in po.parts:
            known |= {str(e["msgid"]) for e in _po_entries(po)}
    missing = []
    for path in _project_files("*.html"):
        for m in _TEMPLATE_STRING.finditer(path.read_text(encoding="utf-8")):
            text = m.group(1) if m.group(1) is not None else m.group(2)
            # makemessages writes a template's "%" as "%%" (templates are not %-formatted).
            if text not in known and text.replace("%", "%%") not in known:
                missing.append(f"{path.name}: {text}")
    for path in _project_files("*.py"):
        for text in _python_msgids(path):
            if text not in known:
                missing.append(f"{path.name}: {text}")
    # Then: nothing a user can see is left out (run makemessages, translate, compilemessages)
    assert not missing, "not in any zh_Hans catalogue:\n" + "\n".join(missing)


def test_no_message_is_translated_only_inside_an_f_string():
    # Given: the gettext calls inside f-strings, which makemessages (xgettext) does not read
    inside: dict[str, list[str]] = {}
    for path in _project_files("*.py"):
        for text in _fstring_msgids(path):
            inside.setdefault(text, []).append(path.name)
    # When: the messages makemessages does extract (Python calls elsewhere, {% translate %})
    extracted: set[str] = set()
    for path in _project_files("*.py"):
        outside = Counter(_python_msgids(path))
        outside.subtract(_fstring_msgids(path))
        extracted |= {text for text, n in outside.items() if n > 0}
    for path in _project_files("*.html"):
        extracted |= {m.group(1) or m.group(2) for m in _TEMPLATE_STRING.finditer(path.read_text(encoding="utf-8"))}
    # Then: each is also extracted from somewhere else, or makemessages files its translation as
    # obsolete and the page shows English ('Score' in the scores panel's hover text was one)
    only_inside = {text: names for text, names in inside.items() if text not in extracted}
    assert not only_inside, f"move these gettext calls out of their f-strings: {only_inside}"


def test_no_catalogue_holds_obsolete_entries():
    # Given: every catalogue makemessages writes
    obsolete: dict[str, int] = {}
    for po in _project_files("django.po"):
        lines = po.read_text(encoding="utf-8").splitlines()
        # Then: none keeps a message the sources no longer have (``#~``, never shown): a message
        # still in use but not extracted is fixed at its call, one no longer used is deleted
        count = sum(line.startswith("#~") for line in lines)
        if count:
            obsolete[str(po.relative_to(settings.BASE_DIR))] = count
    assert not obsolete, f"obsolete (#~) lines, by catalogue: {obsolete}"


def test_translation_functions_keep_names_makemessages_extracts():
    # Given: every import from django.utils.translation in the sources
    renamed = []
    for path in _project_files("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
                for alias in node.names:
                    # Then: none is renamed to something makemessages skips (``gettext_noop as N_``
                    # kept every LTI refusal out of the catalogue, so Chinese pages showed English)
                    if alias.asname and alias.asname not in _EXTRACTED_NAMES:
                        renamed.append(f"{path.name}: {alias.name} as {alias.asname}")
    assert not renamed, "makemessages does not extract these names:\n" + "\n".join(renamed)


def test_messages_translated_through_a_constant_are_marked_where_they_are_defined():
    # Given: the gettext calls on a constant; makemessages reads only literals, so without a mark
    # on the constant's own definition it would file the message's translation as obsolete
    sources = [path.read_text(encoding="utf-8") for path in _project_files("*.py")]
    names = {m.group(1) for text in sources for m in _TRANSLATED_CONSTANT.finditer(text)}
    assert names, "no gettext call on a constant left: drop this test"
    # When: each constant's definition is looked up
    marked = re.compile(rf"^({'|'.join(sorted(names))})\s*=\s*(?:gettext_noop|gettext_lazy)\(", re.MULTILINE)
    defined = {m.group(1) for text in sources for m in marked.finditer(text)}
    # Then: every one is marked (its message itself is checked against the catalogue above)
    assert defined == names, f"translated by name but not marked for makemessages: {sorted(names - defined)}"


def test_every_message_has_a_chinese_translation():
    entries = _po_entries(PO)
    assert len(entries) > 50
    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"]) or not e["msgstr"]]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in str(e["flags"])]
    assert not untranslated, f"untranslated in {PO.name}: {untranslated}"
    assert not fuzzy, f"fuzzy (unchecked) in {PO.name}: {fuzzy}"


def test_translations_keep_their_placeholders():
    for e in _po_entries(PO):
        wanted = set(re.findall(r"%\(\w+\)s", str(e["msgid"])))
        for text in e["msgstr"]:  # type: ignore[union-attr]
            assert set(re.findall(r"%\(\w+\)s", text)) == wanted, e["msgid"]


def test_compiled_catalogue_matches_the_po_file():
    # A .po edited without `compilemessages` would silently show English.
    with MO.open("rb") as fh:
        catalogue = gettext.GNUTranslations(fh)
    for e in _po_entries(PO):
        if "msgid_plural" in e:
            assert catalogue.ngettext(e["msgid"], e["msgid_plural"], 1) == e["msgstr"][0], e["msgid"]
        elif "msgctxt" in e:
            assert catalogue.pgettext(e["msgctxt"], e["msgid"]) == e["msgstr"][0], e["msgid"]
        else:
            assert catalogue.gettext(e["msgid"]) == e["msgstr"][0], e["msgid"]


def test_every_role_label_is_translated():
    from django.utils import translation

    from eduai.web.labels import ASSIGNMENT_KIND_LABELS, RESOURCE_KIND_LABELS, ROLE_LABELS, SUBMISSION_STATUS_LABELS

    with translation.override("zh-hans"):
        for mapping in (ROLE_LABELS, SUBMISSION_STATUS_LABELS, ASSIGNMENT_KIND_LABELS, RESOURCE_KIND_LABELS):
            for code, text in mapping.items():
                assert re.search(r"[\u4e00-\u9fff]", str(text)), code


@pytest.mark.django_db
def test_course_page_in_chinese(client, world):
    f.AssignmentFactory(course=world.course, title="Essay one")
    client.force_login(world.student)
    client.post(reverse("language-set"), {"language": "zh-hans", "next": "/"})
    html = client.get(reverse("course-detail", args=[world.course.id])).content.decode()
    assert "作业" in html and "学习资源" in html and "学生" in html
    assert "Essay one" in html  # user content is not translated
