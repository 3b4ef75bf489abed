"""Tracking codes: unguessable, typeable, self-checking."""
import math

from hypothesis import given, strategies as st

from apoa.reports.tracking import ALPHABET, DATA_LENGTH, display, new_code, normalise


def test_codes_carry_at_least_60_random_bits_in_an_unambiguous_alphabet():
    assert DATA_LENGTH * math.log2(len(ALPHABET)) >= 60
    assert not set("ILOU") & set(ALPHABET)
    code = new_code()
    assert len(code) == DATA_LENGTH + 1 and set(code) <= set(ALPHABET)


def test_codes_do_not_repeat():
    assert len({new_code() for _ in range(2000)}) == 2000


@given(st.data())
def test_any_single_mistyped_symbol_is_caught(data):
    code = new_code()
    position = data.draw(st.integers(0, len(code) - 1))
    wrong = data.draw(st.sampled_from([s for s in ALPHABET if s != code[position]]))
    assert normalise(code[:position] + wrong + code[position + 1:]) is None


def test_read_alike_letters_are_read_as_the_digits_people_meant():
    code = new_code()
    typed = display(code).lower().replace("1", "l").replace("0", "o")
    assert normalise(typed) == code


@given(st.text(max_size=30))
def test_random_text_is_never_taken_for_a_code_it_is_not(text):
    result = normalise(text)
    assert result is None or (len(result) == DATA_LENGTH + 1 and normalise(result) == result)
