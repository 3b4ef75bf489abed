"""The passport MRZ (TD3): Doc 9303 Part 4's specimen, every check digit, what people paste, the
centuries of two-digit years, the messages beside each field, and properties over generated
passports. Every date is relative to TODAY, passed in; nothing reads the real date."""
from dataclasses import asdict, replace
from datetime import date, timedelta

import pytest
from babel.core import get_global
from flask_babel import force_locale
from hypothesis import assume, given, strategies as st

from apoa.guests import countries
from apoa.guests.mrz import (ALPHABET, MrzError, Passport, check_digit, format_td3, parse_td3,
                             problems_td3)

TODAY = date(2026, 11, 18)
LINE1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
LINE2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
SPECIMEN = f"{LINE1}\n{LINE2}"
ERIKSSON = Passport(document_code="P", issuing_state="UTO", surname="ERIKSSON", given_names="ANNA MARIA",
                    passport_number="L898902C3", nationality="UTO", birth_date=date(1974, 8, 12), sex="F",
                    expiry_date=date(2012, 4, 15), optional_data="ZE184226B")
# Line 2's check digits (0-based index) and the form field each protects.
CHECK_DIGITS = {9: "passport_number", 19: "birth_date", 27: "expiry_date", 42: "optional_data", 43: "mrz"}


def line2(number="L898902C3", nationality="UTO", birth="740812", sex="F", expiry="120415", optional="ZE184226B"):
    """A line 2 with these raw fields (dates as YYMMDD) and correct check digits."""
    def checked(value):
        return value + check_digit(value)
    body = (checked(number.ljust(9, "<")) + nationality.ljust(3, "<") + checked(birth) + sex + checked(expiry)
            + checked(optional.ljust(14, "<")))
    return body + check_digit(body[0:10] + body[13:20] + body[21:43])


def fields(text, today=TODAY):
    return [problem.field for problem in problems_td3(text, today)]


def refused(text, today=TODAY):
    with pytest.raises(MrzError) as caught:
        parse_td3(text, today)
    return caught.value


# --- Doc 9303's specimen -----------------------------------------------------------------------

def test_the_specimen_parses_to_exactly_its_fields():
    passport = parse_td3(SPECIMEN, TODAY)
    assert passport == ERIKSSON
    assert passport.is_specimen
    assert problems_td3(SPECIMEN, TODAY) == []


def test_the_specimen_check_digits():
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    assert check_digit("ZE184226B<<<<<") == "1"
    assert check_digit("L898902C36" + "7408122" + "1204159ZE184226B<<<<<1") == "0"
    assert check_digit("<<<<") == "0"


def test_format_td3_rebuilds_the_specimen():
    assert format_td3(**asdict(ERIKSSON)) == SPECIMEN


def test_a_passport_never_shows_its_values_in_a_repr():
    assert "ERIKSSON" not in repr(ERIKSSON) and "L898902C3" not in repr(ERIKSSON)


# --- check digits ------------------------------------------------------------------------------

@pytest.mark.parametrize("index, field", CHECK_DIGITS.items())
def test_every_change_of_a_check_digit_is_caught_with_its_field(index, field):
    for char in sorted(ALPHABET - {LINE2[index]}):
        corrupted = LINE2[:index] + char + LINE2[index + 1:]
        problems = fields(f"{LINE1}\n{corrupted}")
        assert problems[0] == field, (index, char, problems)
        assert refused(f"{LINE1}\n{corrupted}").field == field


@pytest.mark.parametrize("index, field", [(0, "passport_number"), (8, "passport_number"), (15, "birth_date"),
                                          (24, "expiry_date"), (30, "optional_data")])
def test_a_changed_character_of_a_checked_field_is_caught(index, field):
    # A digit whose value differs from the original's by other than a multiple of 10 (L, 21, and 1 would
    # weigh the same: the test below on generated passports covers such changes).
    original = int(LINE2[index]) if LINE2[index].isdigit() else ord(LINE2[index]) - ord("A") + 10
    replacement = next(digit for digit in "0123456789" if int(digit) != original % 10)
    corrupted = LINE2[:index] + replacement + LINE2[index + 1:]
    assert field in fields(f"{LINE1}\n{corrupted}")
    assert "mrz" in fields(f"{LINE1}\n{corrupted}")  # the composite covers it too


def test_an_unused_personal_number_may_have_the_filler_or_zero_as_check_digit():
    with_filler = line2(optional="")
    assert with_filler[42] == "0"
    with_filler = with_filler[:42] + "<" + with_filler[43]
    for lines in (f"{LINE1}\n{line2(optional='')}", f"{LINE1}\n{with_filler}"):
        assert parse_td3(lines, TODAY).optional_data == ""


def test_a_used_personal_number_needs_its_check_digit():
    line = line2()
    without = line[:42] + "<" + line[43]
    assert fields(f"{LINE1}\n{without}")[0] == "optional_data"


# --- what people paste -------------------------------------------------------------------------

@pytest.mark.parametrize("pasted", [
    SPECIMEN.lower(),
    f"{LINE1}\r\n{LINE2}\r\n",
    f"\n  {LINE1}  \n\n\t{LINE2}\n\n",
    f"{LINE1[:20]} {LINE1[20:]}\r\n{LINE2[:10]}  {LINE2[10:]}",
    f"{LINE1}{LINE2}",
    f"{LINE1} {LINE2}",
    f"{LINE1}\r{LINE2}",
])
def test_what_people_paste_still_parses(pasted):
    assert parse_td3(pasted, TODAY) == ERIKSSON


@pytest.mark.parametrize("lines, line, length", [
    (f"{LINE1[:-1]}\n{LINE2}", 1, 43), (f"{LINE1}<\n{LINE2}", 1, 45),
    (f"{LINE1}\n{LINE2[:-1]}", 2, 43), (f"{LINE1}\n{LINE2}0", 2, 45),
])
def test_lines_of_the_wrong_length_are_refused_with_the_line_named(app, lines, line, length):
    error = refused(lines)
    assert error.field == "mrz"
    assert str(error) == f"Baris {line} berisi {length} karakter; setiap baris MRZ paspor berisi 44 karakter."
    with force_locale("en"):
        assert str(error.message) == f"Line {line} has {length} characters; each line of a passport's MRZ has 44."


def test_every_line_of_the_wrong_length_is_listed(app):
    with force_locale("en"):
        messages = [str(problem.message) for problem in problems_td3(f"{LINE1[:-1]}\n{LINE2}00", TODAY)]
    assert messages == ["Line 1 has 43 characters; each line of a passport's MRZ has 44.",
                        "Line 2 has 46 characters; each line of a passport's MRZ has 44."]


@pytest.mark.parametrize("text, expected", [
    ("", "Enter the two lines of the passport's MRZ, the rows of characters at the bottom of the data page."),
    (" \r\n ", "Enter the two lines of the passport's MRZ, the rows of characters at the bottom of the data page."),
    (LINE2, "Only one line was entered; a passport's MRZ has two lines of 44 characters."),
    (f"{LINE1}\n{LINE2}\n{LINE2}", "3 lines were entered; a passport's MRZ has two lines of 44 characters."),
])
def test_the_wrong_number_of_lines_is_explained(app, text, expected):
    error = refused(text)
    assert error.field == "mrz"
    with force_locale("en"):
        assert str(error.message) == expected


def test_a_guillemet_for_the_filler_is_explained_not_guessed(app):
    error = refused(SPECIMEN.replace("<<ANNA", "«<ANNA"))
    assert error.field == "mrz"
    assert str(error) == ("Baris 1, posisi 14: “«” bukan tanda pengisi MRZ; ketik < (tanda kurang dari) "
                          "di tempat paspor menampilkan <.")


def test_fillers_read_as_k_are_explained_not_guessed(app):
    misread = LINE1[:25] + "K" * 19
    error = refused(f"{misread}\n{LINE2}")
    assert error.field == "mrz"
    with force_locale("en"):
        assert str(error.message) == ("Line 1, positions 26–44: “KKKKKKKKKKKKKKKKKKK” looks like filler signs < "
                                      "read as K; type < where the passport shows <.")


def test_a_foreign_character_is_named_with_its_position(app):
    with force_locale("en"):
        assert str(refused(SPECIMEN.replace("ERIKSSON", "ERIKSSÖN")).message) == (
            "Line 1, position 12: “Ö” cannot be part of an MRZ, which has only the letters A–Z, the digits 0–9 and <.")


def test_a_double_k_in_a_name_is_kept():
    lines = format_td3(**asdict(replace(ERIKSSON, surname="HAKKINEN")))
    assert parse_td3(lines, TODAY).surname == "HAKKINEN"


# --- dates -------------------------------------------------------------------------------------

@pytest.mark.parametrize("birth, expected", [
    ("740812", date(1974, 8, 12)),
    ("261118", date(2026, 11, 18)),   # born today
    ("261119", date(1926, 11, 19)),   # tomorrow in this century: the previous one
    ("251231", date(2025, 12, 31)),
    ("300101", date(1930, 1, 1)),
    ("000229", date(2000, 2, 29)),
])
def test_a_birth_year_in_the_future_is_of_the_previous_century(birth, expected):
    passport = parse_td3(f"{LINE1}\n{line2(birth=birth, expiry='350101')}", TODAY)
    assert passport.birth_date == expected


@pytest.mark.parametrize("expiry, today, expected", [
    ("120415", TODAY, date(2012, 4, 15)),
    ("361117", TODAY, date(2036, 11, 17)),
    ("461231", TODAY, date(2046, 12, 31)),   # twenty years ahead at most
    ("470101", TODAY, date(1947, 1, 1)),
    ("050101", date(2095, 6, 1), date(2105, 1, 1)),
    ("990101", date(2001, 6, 1), date(1999, 1, 1)),
])
def test_expiry_years(expiry, today, expected):
    passport = parse_td3(f"{LINE1}\n{line2(birth='300101', expiry=expiry)}", today)
    assert passport.expiry_date == expected


def test_an_expired_passport_parses_and_says_so():
    passport = parse_td3(SPECIMEN, TODAY)
    assert passport.expired_on(TODAY) and not passport.expired_on(date(2012, 4, 15))


@pytest.mark.parametrize("birth, expiry, field, message", [
    ("741312", "350101", "birth_date", "Tanggal lahir dalam MRZ, 741312, bukan tanggal yang valid (YYMMDD: tahun, "
                                       "bulan, tanggal)."),
    ("010229", "350101", "birth_date", "Tanggal lahir dalam MRZ, 010229, bukan tanggal yang valid (YYMMDD: tahun, "
                                       "bulan, tanggal)."),
    ("740812", "350231", "expiry_date", "Tanggal habis berlaku dalam MRZ, 350231, bukan tanggal yang valid "
                                        "(YYMMDD: tahun, bulan, tanggal)."),
    ("7408<<", "350101", "birth_date", "Tanggal lahir dalam MRZ, 7408<<, bukan tanggal yang valid (YYMMDD: tahun, "
                                       "bulan, tanggal)."),
    ("100101", "090101", "expiry_date", "Tanggal habis berlaku dalam MRZ tidak sesudah tanggal lahir."),
])
def test_impossible_dates_are_explained_beside_their_field(app, birth, expiry, field, message):
    problems = problems_td3(f"{LINE1}\n{line2(birth=birth, expiry=expiry)}", TODAY)
    assert [(problem.field, str(problem)) for problem in problems] == [(field, message)]


# --- sex, codes, names -------------------------------------------------------------------------

@pytest.mark.parametrize("printed, sex", [("M", "M"), ("F", "F"), ("X", "X"), ("<", "X")])
def test_sex(printed, sex):
    assert parse_td3(f"{LINE1}\n{line2(sex=printed)}", TODAY).sex == sex


def test_a_sex_other_than_m_f_x_is_refused(app):
    error = refused(f"{LINE1}\n{line2(sex='Q')}")
    assert error.field == "sex"
    with force_locale("en"):
        assert str(error.message) == "The sex in the MRZ (line 2, position 21) must be M, F, X or <, not “Q”."


@pytest.mark.parametrize("code", ["D", "DEU", "IDN", "GBN", "GBD", "GBO", "GBP", "GBS", "UNO", "UNA", "UNK",
                                  "XXA", "XXB", "XXC", "XXX", "EUE", "RKS", "UTO"])
def test_icao_codes_are_accepted_as_nationality_and_issuing_state(code):
    lines = format_td3(**asdict(replace(ERIKSSON, nationality=code, issuing_state=code)))
    passport = parse_td3(lines, TODAY)
    assert (passport.nationality, passport.issuing_state) == (code, code)


def test_unknown_codes_are_explained_beside_their_field(app):
    lines = format_td3(**asdict(replace(ERIKSSON, issuing_state="QQQ", nationality="ZZZ")))
    problems = problems_td3(lines, TODAY)
    assert [(problem.field, str(problem)) for problem in problems] == [
        ("issuing_state", "“QQQ” bukan kode negara penerbit paspor yang dikenal."),
        ("nationality", "“ZZZ” bukan kode kewarganegaraan yang dikenal.")]
    with force_locale("en"):
        assert str(problems[1].message) == "“ZZZ” is not a known nationality code."


def test_a_visa_is_not_a_passport(app):
    lines = "V" + LINE1[1:] + "\n" + LINE2
    assert fields(lines)[0] == "document_code"


def test_digits_in_names_are_explained_beside_the_name(app):
    assert fields(SPECIMEN.replace("ERIKSSON", "ERIKSS0N")) == ["surname"]
    assert fields(SPECIMEN.replace("MARIA", "MAR1A")) == ["given_names"]


def test_names_split_on_the_double_filler():
    passport = replace(ERIKSSON, surname="VAN DER BERG", given_names="", document_code="PD")
    assert parse_td3(format_td3(**asdict(passport)), TODAY) == passport
    assert parse_td3(format_td3(**asdict(passport)), TODAY).given_names == ""


def test_problems_lists_every_problem_for_its_field():
    corrupted = line2(number="X1234567", nationality="ZZZ")
    corrupted = corrupted[:9] + str((int(corrupted[9]) + 1) % 10) + corrupted[10:]
    assert fields(f"{LINE1}\n{corrupted}") == ["passport_number", "nationality", "mrz"]


def test_an_indonesian_passport_round_trips():
    passport = Passport(document_code="P", issuing_state="IDN", surname="SIREGAR", given_names="MARIA ULFA",
                        passport_number="C1234567", nationality="IDN", birth_date=date(1990, 3, 7), sex="F",
                        expiry_date=date(2031, 3, 6), optional_data="")
    lines = format_td3(**asdict(passport))
    assert lines.splitlines()[0] == "P<IDNSIREGAR<<MARIA<ULFA<<<<<<<<<<<<<<<<<<<<"
    assert parse_td3(lines, TODAY) == passport
    assert not passport.is_specimen


def test_format_td3_refuses_what_does_not_fit():
    with pytest.raises(ValueError):
        format_td3(**asdict(replace(ERIKSSON, passport_number="A123456789")))
    with pytest.raises(ValueError):
        format_td3(**asdict(replace(ERIKSSON, surname="ÅSTRÖM")))


def test_messages_are_indonesian_by_default_and_english_on_request(app):
    error = refused(f"{LINE1}\n{LINE2[:9]}7{LINE2[10:]}")
    assert error.field == "passport_number"
    assert str(error.message) == ("Nomor paspor tidak cocok dengan digit pemeriksanya (baris 2, posisi 10): "
                                  "cocokkan setiap karakter dengan paspor.")
    with force_locale("en"):
        assert str(error.message) == ("The passport number does not match its check digit (line 2, position 10): "
                                      "compare each character with the passport.")


# --- countries ---------------------------------------------------------------------------------

def test_every_iso_pair_agrees_with_cldr():
    aliases = get_global("territory_aliases")
    assert {code: two for code, two in countries.ISO_ALPHA2.items() if aliases.get(code) != [two]} == {}
    assert len(countries.ISO_ALPHA2) == len(set(countries.ISO_ALPHA2.values())) == 249


def test_country_names_in_both_languages(app):
    assert countries.country_name("D") == "Jerman"
    assert countries.country_name("IDN") == "Indonesia"
    assert countries.country_name("UNO") == "Perserikatan Bangsa-Bangsa"
    assert countries.country_name("QQQ") == "QQQ"
    with force_locale("en"):
        assert countries.country_name("DEU") == "Germany"
        assert countries.country_name("RKS") == "Kosovo"
        assert countries.country_name("XXA") == "Stateless person"
    assert countries.is_specimen("UTO") and not countries.is_specimen("IDN")


def test_nationality_choices_are_sorted_by_name_without_the_specimen(app):
    with force_locale("en"):
        choices = countries.nationality_choices()
    names = [name for _code, name in choices]
    assert names == sorted(names)
    assert {("DEU", "Germany"), ("D", "Germany"), ("GBN", "British National (Overseas)")} <= set(choices)
    assert "UTO" not in dict(choices)
    assert len(choices) == 249 + 2 + 15


# --- properties --------------------------------------------------------------------------------

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
KNOWN_CODES = sorted(set(countries.ISO_ALPHA2) | set(countries.ICAO_ALPHA2) | set(countries.ICAO_NAMES))
NAME = st.lists(st.text(LETTERS, min_size=1, max_size=8), min_size=1, max_size=2).map(" ".join)


@st.composite
def passports(draw):
    birth_date = draw(st.dates(date(1926, 11, 19), TODAY))
    return Passport(
        document_code=draw(st.sampled_from(["P", "PD", "PO", "PS"])),
        issuing_state=draw(st.sampled_from(KNOWN_CODES)),
        surname=draw(NAME),
        given_names=draw(st.one_of(st.just(""), NAME)),
        passport_number=draw(st.text(LETTERS + "0123456789", min_size=1, max_size=9)),
        nationality=draw(st.sampled_from(KNOWN_CODES)),
        birth_date=birth_date, sex=draw(st.sampled_from("MFX")),
        expiry_date=draw(st.dates(max(birth_date, date(1946, 12, 31)) + timedelta(days=1), date(2046, 12, 31))),
        optional_data=draw(st.text(LETTERS + "0123456789", max_size=14)))


def without_misread_fillers(passport):
    return all("KKK" not in value for value in (passport.surname, passport.given_names, passport.passport_number,
                                                passport.optional_data))


@given(passports())
def test_formatted_passports_parse_back_to_the_same_data(passport):
    assume(without_misread_fillers(passport))
    assert parse_td3(format_td3(**asdict(passport)), TODAY) == passport


@given(passports(), st.integers(0, 43), st.sampled_from(sorted(ALPHABET)))
def test_a_corrupted_line_2_is_caught_or_changes_a_field(passport, index, char):
    assume(without_misread_fillers(passport))
    first, second = format_td3(**asdict(passport)).splitlines()
    assume(second[index] != char)
    # Doc 9303 lets an unused personal number's check digit be < or 0: both are the same MRZ.
    assume(not (index == 42 and passport.optional_data == "" and char == "0"))
    # Likewise < and X both print an unspecified sex.
    assume(not (index == 20 and {second[index], char} == {"<", "X"}))
    corrupted = second[:index] + char + second[index + 1:]
    problems = problems_td3(f"{first}\n{corrupted}", TODAY)
    assert problems or parse_td3(f"{first}\n{corrupted}", TODAY) != passport


def test_today_defaults_to_the_local_date(app, clock):
    assert parse_td3(SPECIMEN) == ERIKSSON
