"""Every interface string has an Indonesian translation, with the same placeholders."""
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("**.py", "python"), ("**.html", "jinja2")]
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def source_messages():
    found = set()
    for folder in ("apoa", "templates"):
        for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT / folder, METHODS, keywords=KEYWORDS, options_map={"**.html": {}}):
            found.add(message if isinstance(message, str) else message[0])
    return found


def indonesian_catalog():
    with open(ROOT / "apoa/translations/id/LC_MESSAGES/messages.po", "rb") as po:
        return read_po(po)


def test_every_source_string_is_translated_to_indonesian():
    catalog = indonesian_catalog()
    missing = sorted(m for m in source_messages() if not (catalog.get(m) and catalog.get(m).string))
    assert missing == [], "run `make translations` and translate these in id/messages.po"


def test_no_translation_is_fuzzy_and_placeholders_match():
    for message in indonesian_catalog():
        if not message.id or not message.string:
            continue  # untranslated: the test above names it if the source still uses it
        assert not message.fuzzy, message.id
        if isinstance(message.id, tuple):  # plural: Indonesian has one form, matching the plural's
            assert all(sorted(PLACEHOLDER.findall(message.id[1])) == sorted(PLACEHOLDER.findall(form))
                       for form in message.string), message.id
        else:
            assert sorted(PLACEHOLDER.findall(message.id)) == sorted(PLACEHOLDER.findall(message.string)), message.id
