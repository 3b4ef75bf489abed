"""The machine-readable zone of a passport (TD3, ICAO Doc 9303 Part 4): two lines of 44 characters
that fill a guest's fields when typed or pasted, every check digit verified.

What people paste is forgiven where it is unambiguous: spaces, tabs, lower case, CRLF, blank
lines, or both lines run together as one of 88 characters. Look-alikes are never guessed: a «
typed for the filler <, or a run of K where a scanner read < as K (K and < differ by 20, so no
check digit can tell them apart), is explained instead.

Each problem is an `MrzError` naming the form field it belongs to, with a lazily translated
message, so a form can show each beside its field (`problems_td3`); `parse_td3` raises the first.
"""
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from apoa.errors import UserValueError
from apoa.guests import countries
from apoa.periods import local_today

LINE_LENGTH = 44
ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
WEIGHTS = (7, 3, 1)
# Characters people type or scanners produce for the filler <; named in the message, not replaced.
FILLER_LOOKALIKES = frozenset("«‹〈⟨＜˂ᐸ≺")
# Three K in a row hardly occur in a name or a number, but are what a misread run of < becomes.
MISREAD_FILLER = "KKK"
# Expiry years run up to this many years ahead; passports are valid for ten years at most.
EXPIRY_YEARS_AHEAD = 20

# Line 2's fields: (start, end) of the value, its check digit at `end` (Doc 9303 Part 4, 4.2.2).
NUMBER = (0, 9)
NATIONALITY = (10, 13)
BIRTH = (13, 19)
SEX = 20
EXPIRY = (21, 27)
OPTIONAL = (28, 42)
COMPOSITE = 43
COMPOSITE_SPANS = ((0, 10), (13, 20), (21, 43))

CHECK_MESSAGES = {
    "passport_number": _l("The passport number does not match its check digit (line 2, position "
                          "10): compare each character with the passport."),
    "birth_date": _l("The date of birth does not match its check digit (line 2, position 20): "
                     "compare each character with the passport."),
    "expiry_date": _l("The expiry date does not match its check digit (line 2, position 28): "
                      "compare each character with the passport."),
    "optional_data": _l("The personal number does not match its check digit (line 2, position "
                        "43): compare each character with the passport."),
}


class MrzError(UserValueError):
    """One problem of a pasted MRZ; `field` is the form field it belongs to ("mrz" for the lines
    as a whole), `message` its explanation, translated when shown."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field

    def __repr__(self):
        return f"MrzError({self.field!r}, {str(self.message)!r})"


@dataclass(frozen=True, repr=False)
class Passport:
    """The fields of a TD3 MRZ. Its repr hides the values, so it never lands in a log or a trace."""

    document_code: str
    issuing_state: str
    surname: str
    given_names: str
    passport_number: str
    nationality: str
    birth_date: date
    sex: str
    expiry_date: date
    optional_data: str

    def __repr__(self):
        return "Passport(<hidden>)"

    @property
    def is_specimen(self):
        """Doc 9303's specimen state (Utopia): a sample, never a real traveller."""
        return countries.is_specimen(self.issuing_state) or countries.is_specimen(self.nationality)

    def expired_on(self, day):
        return self.expiry_date < day


def check_digit(value):
    """Doc 9303's check digit of `value`: weights 7, 3, 1 repeated; 0–9 count as themselves,
    A–Z as 10–35 and the filler < as 0."""
    return str(sum(_char_value(char) * WEIGHTS[i % 3] for i, char in enumerate(value)) % 10)


def _char_value(char):
    if char in "0123456789":
        return int(char)
    if char == "<":
        return 0
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    raise ValueError(f"{char!r} is not an MRZ character")


def parse_td3(text, today=None):
    """The `Passport` of a pasted TD3 MRZ; raises the first `MrzError` when anything is wrong.
    `today` (default: today in the interface's time zone) places two-digit years in a century."""
    problems, passport = _read(text, today)
    if problems:
        raise problems[0]
    return passport


def problems_td3(text, today=None):
    """Every problem of a pasted TD3 MRZ, as a list of `MrzError` (empty when it is valid)."""
    return _read(text, today)[0]


def _read(text, today):
    problems = []
    lines = _lines(text, problems)
    if problems:
        return problems, None
    _misread_fillers(lines, problems)
    passport = _fields(*lines, today or local_today(), problems)
    return problems, passport


# --- the two lines ---------------------------------------------------------------------------

def _lines(text, problems):
    """The two lines, upper case, without spaces; structural problems appended to `problems`."""
    lines = ["".join(_upper_ascii(line).split()) for line in (text or "").splitlines()]
    lines = [line for line in lines if line]
    if len(lines) == 1 and len(lines[0]) == 2 * LINE_LENGTH:
        lines = [lines[0][:LINE_LENGTH], lines[0][LINE_LENGTH:]]
    if len(lines) != 2:
        problems.append(MrzError("mrz", _line_count_message(len(lines))))
        return lines
    for number, line in enumerate(lines, start=1):
        _check_line(number, line, problems)
    return lines


def _upper_ascii(text):
    # str.upper() would turn ß into SS and shift every position after it.
    return "".join(char.upper() if "a" <= char <= "z" else char for char in text)


def _line_count_message(count):
    if count == 0:
        return _l("Enter the two lines of the passport's MRZ, the rows of characters at the bottom "
                  "of the data page.")
    if count == 1:
        return _l("Only one line was entered; a passport's MRZ has two lines of 44 characters.")
    return _l("%(count)s lines were entered; a passport's MRZ has two lines of 44 characters.",
              count=count)


def _check_line(number, line, problems):
    if len(line) != LINE_LENGTH:
        problems.append(MrzError("mrz", _l(
            "Line %(line)s has %(length)s characters; each line of a passport's MRZ has 44.",
            line=number, length=len(line))))
    for position, char in enumerate(line, start=1):
        if char not in ALPHABET:
            problems.append(MrzError("mrz", _character_message(number, position, char)))


def _character_message(line, position, char):
    if char in FILLER_LOOKALIKES:
        return _l("Line %(line)s, position %(position)s: “%(char)s” is not the MRZ filler sign; "
                  "type < (less-than) where the passport shows <.",
                  line=line, position=position, char=char)
    shown = char if char.isprintable() else f"U+{ord(char):04X}"
    return _l("Line %(line)s, position %(position)s: “%(char)s” cannot be part of an MRZ, which "
              "has only the letters A–Z, the digits 0–9 and <.",
              line=line, position=position, char=shown)


def _misread_fillers(lines, problems):
    for number, line in enumerate(lines, start=1):
        start = line.find(MISREAD_FILLER)
        if start < 0:
            continue
        end = start + len(line[start:]) - len(line[start:].lstrip("K"))
        problems.append(MrzError("mrz", _l(
            "Line %(line)s, positions %(start)s–%(end)s: “%(run)s” looks like filler signs < "
            "read as K; type < where the passport shows <.",
            line=number, start=start + 1, end=end, run=line[start:end])))


# --- the fields ------------------------------------------------------------------------------

def _fields(line1, line2, today, problems):
    """The passport's fields in the order they are printed, each problem appended on the way."""
    document_code = _document_code(line1[:2], problems)
    issuing_state = _country(line1[2:5], "issuing_state", problems)
    surname, given_names = _names(line1[5:], problems)
    number = _passport_number(_checked(line2, NUMBER, "passport_number", problems), problems)
    nationality = _country(line2[slice(*NATIONALITY)], "nationality", problems)
    birth_date = _date(_checked(line2, BIRTH, "birth_date", problems), _birth_year, today,
                       "birth_date", problems)
    sex = _sex(line2[SEX], problems)
    expiry_date = _date(_checked(line2, EXPIRY, "expiry_date", problems), _expiry_year, today,
                        "expiry_date", problems)
    optional_data = _checked(line2, OPTIONAL, "optional_data", problems).strip("<")
    passport = Passport(document_code, issuing_state, surname, given_names, number, nationality,
                        birth_date, sex, expiry_date, optional_data)
    _check_order(passport, problems)
    _check_composite(line2, problems)
    return passport


def _document_code(code, problems):
    if code[0] != "P" or code[1].isdigit():
        problems.append(MrzError("document_code", _l(
            "A passport's MRZ begins with P; this one begins with “%(code)s”, so it is not a "
            "passport.", code=code)))
    return code.rstrip("<")


def _country(field, form_field, problems):
    code = field.rstrip("<")
    if not countries.is_known(code):
        message = (_l("“%(code)s” is not a known nationality code.", code=field)
                   if form_field == "nationality"
                   else _l("“%(code)s” is not a known code of a state issuing passports.",
                           code=field))
        problems.append(MrzError(form_field, message))
    return code


def _names(field, problems):
    """Surname and given names: `<<` separates them, a single < stands for a space."""
    surname, _separator, given = field.partition("<<")
    for position, char in enumerate(field, start=6):
        if char.isdigit():
            form_field = "surname" if position <= 5 + len(surname) else "given_names"
            problems.append(MrzError(form_field, _l(
                "Names in the MRZ have only letters and <; line 1, position %(position)s has "
                "“%(char)s”.", position=position, char=char)))
    if not surname:
        problems.append(MrzError("surname", _l(
            "The MRZ gives no surname: it starts at line 1, position 6.")))
    return _spaced(surname), _spaced(given)


def _spaced(name):
    return " ".join(name.replace("<", " ").split())


def _passport_number(number, problems):
    if not number.strip("<"):
        problems.append(MrzError("passport_number", _l(
            "The MRZ gives no passport number (line 2, positions 1–9).")))
    return number.rstrip("<")


def _checked(line, span, form_field, problems):
    """The value of `span`, after verifying the check digit that follows it."""
    start, end = span
    value, digit = line[start:end], line[end]
    all_fillers = value == "<" * len(value)
    if digit != check_digit(value) and not (form_field == "optional_data" and all_fillers
                                            and digit == "<"):
        problems.append(MrzError(form_field, CHECK_MESSAGES[form_field]))
    return value


def _sex(char, problems):
    if char not in "MFX<":
        problems.append(MrzError("sex", _l(
            "The sex in the MRZ (line 2, position 21) must be M, F, X or <, not “%(char)s”.",
            char=char)))
    return "X" if char == "<" else char


def _check_composite(line2, problems):
    digits = "".join(line2[start:end] for start, end in COMPOSITE_SPANS)
    if line2[COMPOSITE] != check_digit(digits):
        problems.append(MrzError("mrz", _l(
            "The last check digit (line 2, position 44) does not match line 2: one of its "
            "characters is wrong; compare each with the passport.")))


# --- dates -----------------------------------------------------------------------------------

def _date(yymmdd, year_of, today, form_field, problems):
    """The date of a YYMMDD field, its century chosen by `year_of`; None when it is no date."""
    if yymmdd.isdigit():
        year_month_day = year_of(int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]), today)
        try:
            return date(*year_month_day)
        except ValueError:
            pass
    message = (_l("The date of birth in the MRZ, %(value)s, is not a real date (YYMMDD).",
                  value=yymmdd)
               if form_field == "birth_date"
               else _l("The expiry date in the MRZ, %(value)s, is not a real date (YYMMDD).",
                       value=yymmdd))
    problems.append(MrzError(form_field, message))
    return None


def _birth_year(yy, month, day, today):
    """Births lie in the past: the latest century that does not put the birthday after today."""
    year = today.year // 100 * 100 + yy
    if (year, month, day) > (today.year, today.month, today.day):
        year -= 100
    return year, month, day


def _expiry_year(yy, month, day, today):
    """Expiries lie within a hundred years ending EXPIRY_YEARS_AHEAD after this year: in
    practice 20YY, and the right century for long-expired passports too."""
    latest = today.year + EXPIRY_YEARS_AHEAD
    year = today.year // 100 * 100 + yy
    if year > latest:
        year -= 100
    elif year <= latest - 100:
        year += 100
    return year, month, day


def _check_order(passport, problems):
    if passport.birth_date and passport.expiry_date and passport.expiry_date <= passport.birth_date:
        problems.append(MrzError("expiry_date", _l(
            "The expiry date in the MRZ is not after the date of birth.")))


# --- building an MRZ (tests, demo data) ------------------------------------------------------

def format_td3(*, surname, given_names, passport_number, nationality, birth_date, sex,
               expiry_date, issuing_state=None, document_code="P", optional_data=""):
    """The two lines (joined by a newline) of a TD3 MRZ with these fields and correct check
    digits; raises ValueError for a value that does not fit. `format_td3(**asdict(passport))`
    gives back a parsed passport's lines."""
    line1 = _padded(document_code, 2) + _padded(issuing_state or nationality, 3) + _padded(
        _name_field(surname, given_names), 39)
    line2 = "".join((
        _with_check(_padded(passport_number, 9)), _padded(nationality, 3),
        _with_check(f"{birth_date:%y%m%d}"), "<" if sex == "X" else sex,
        _with_check(f"{expiry_date:%y%m%d}"), _optional_with_check(optional_data)))
    line2 += check_digit("".join(line2[start:end] for start, end in COMPOSITE_SPANS))
    for line in (line1, line2):
        if len(line) != LINE_LENGTH or not set(line) <= ALPHABET:
            raise ValueError("a value does not fit a TD3 MRZ")
    return f"{line1}\n{line2}"


def _name_field(surname, given_names):
    def encoded(name):
        return "<".join(name.upper().replace("'", "").replace("-", " ").split())
    given = encoded(given_names or "")
    return encoded(surname) + ("<<" + given if given else "")


def _padded(value, width):
    if len(value) > width:
        raise ValueError("a value is too long for its MRZ field")
    return value + "<" * (width - len(value))


def _with_check(value):
    return value + check_digit(value)


def _optional_with_check(value):
    field = _padded(value, 14)
    return field + ("<" if not value else check_digit(field))
