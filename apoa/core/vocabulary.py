"""Enumerations stored as text with a translated title: states, kinds, choices.

    class CaseState(TitledEnum):
        received = "received"
        answered = "answered"

    titled(CaseState, {CaseState.received: _l("Received"), CaseState.answered: _l("Answered")})

The titles are given after the class because they name its members; `titled` refuses a list
that misses one, so a new member cannot reach a page without its words. `sql_list()` gives the
values for a CHECK constraint.
"""
import enum


class TitledEnum(str, enum.Enum):
    @property
    def title(self):
        return type(self).titles()[self]

    @classmethod
    def titles(cls):
        return cls.__dict__["_vocabulary_titles"]

    @classmethod
    def sql_list(cls):
        return ", ".join(f"'{member.value}'" for member in cls)


def titled(enum_class, titles):
    """Give each member of `enum_class` its (lazily translated) title; returns the class."""
    missing = [member.name for member in enum_class if member not in titles]
    if missing:
        raise ValueError(f"{enum_class.__name__} has no title for {', '.join(missing)}")
    type.__setattr__(enum_class, "_vocabulary_titles", dict(titles))
    return enum_class
