"""Tracking codes: unguessable, easy to read aloud and type, with a check character.

13 random symbols of Crockford's base-32 alphabet (no I, L, O, U) give 65 bits, so codes cannot be
guessed or enumerated; a 14th check symbol (Luhn mod 32, from the same alphabet so it is as easy to
type) catches any single mistyped symbol and most swapped neighbours before the database is asked.
"""
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_LENGTH = 13
# Read-alike symbols people type by mistake, mapped to the symbol they meant.
CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0"})


def new_code():
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_LENGTH))
    return data + _check_symbol(data)


def _check_symbol(data):
    total, factor = 0, 2
    for symbol in reversed(data):
        addend = factor * ALPHABET.index(symbol)
        total += addend // 32 + addend % 32
        factor = 3 - factor
    return ALPHABET[-total % 32]


def normalise(typed):
    """The canonical form of a typed code (upper case, no spaces or dashes), or None if it is not
    one."""
    code = "".join((typed or "").split()).replace("-", "").upper().translate(CONFUSABLE)
    if len(code) != DATA_LENGTH + 1 or any(s not in ALPHABET for s in code[:-1]):
        return None
    return code if _check_symbol(code[:-1]) == code[-1] else None


def display(code):
    """Groups of four or five for reading aloud: ABCDE-FGHJK-MNPQ."""
    return f"{code[:5]}-{code[5:10]}-{code[10:]}"
