"""Whether a typed text identifies someone: the one rule for text that travels further than its page.

Two kinds of typed text may not identify a person: a meeting's place (address, room; meetings.place: it
goes into every invitee's e-mail and calendar) and the purpose an administrator gives for a person's
look-up, loggutdrag, registerutdrag or a change of their particulars (admin.services; it is kept in the
access log and printed in the extracts of everyone the row concerns). A text identifies when it holds

- a valid personnummer or samordningsnummer (`holds_identifier`), however its digits are written apart: the
  digits of a text are read in runs of digit groups joined by up to three characters that are neither
  letter, digit nor ":" (a space, "-", ".", "/", "+", a zero-width space: "2005 08 23 - 9829",
  "20050823.9829"), and a run of whole groups holding 10 or 12 digits is a candidate when its groups are
  split where people split such a number: between the pairs of its date (century, YY, MM, DD), anywhere in
  its last four digits, or between every digit. `people.identifiers.parse_identifier` decides (a real date,
  the check digit right). A group is never cut, so a number is not found inside a longer number. A phone
  number ("0470-123 45", "070-123 45 67": its area code splits the date's pairs) or a postcode ("352 30")
  is not one; a ten-digit number written without a break, or split only between pairs ("0411-12 34 56"),
  may happen to be one (its check digit right: one in ten of those with a real date), as may a date and
  time written without "kl" or ":" ("2024-11-02 10.15"): the price of finding a number written apart;
- for a text about a known person, their birth date written as the date of a personnummer followed by four
  digits, whatever the check digit (`holds_birth_date`: "19660606-1011" for someone born 1966-06-06), read
  as a number written apart is; a date alone, or another day's, is not one;
- a word of a name (`name_words`; `names_in`): as a whole word, without case and accents ("OBERG" names
  Öberg), also with a Swedish genitive -s ("Sandbergs"; a name of three or more letters, so the name Hu
  does not refuse "hus"), and also once punctuation inside a word is taken out ("Vi-ktoria", "Sand.berg");
  "Bergsgatan" is not the name Berg. Which names count is the caller's: the place rule takes the person's
  and those of the närstående and guardians taking part in the SIP, the purpose rule the person's.

Pure (stdlib, the identifier parser and the app's refusal): every area may ask it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from sipflow.errors import InvalidInput
from sipflow.people.identifiers import IdentifierError, parse_identifier
from sipflow.translated import lazy_gettext as _l

# Digit groups joined by short separators: anything but a letter, a digit, ":" (a time) or a line break.
_SEPARATOR = r"(?:[^\w:\r\n]|_)"
_DIGIT_RUN = re.compile(rf"[0-9]+(?:{_SEPARATOR}{{1,3}}[0-9]+)*")
_DIGITS = re.compile(r"[0-9]+")
# Punctuation inside a word ("Vi-ktoria"): taken out for a second reading of the words.
_INNER_PUNCTUATION = re.compile(r"(?<=[^\W\d_])[^\w\s]+(?=[^\W\d_])")
_WORD = re.compile(r"[^\W_]+")
# A genitive -s counts for a name at least this long ("Sandbergs"); "Hu" + s is the word "hus".
GENITIVE_MIN = 3

PURPOSE_IDENTIFIES = _l(
    "Do not write a personnummer or a name in the purpose: it is kept in the access log and shows in "
    "other people's extracts. Write why, e.g. the person's request of 2 November."
)


def _plain(text: str) -> str:
    """text in compatibility form (fullwidth digits as digits) without invisible format characters."""
    return "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf")


def _natural_splits(lengths: list[int], total: int) -> bool:
    """Whether groups of these lengths split a number of total digits where people split such a number."""
    if all(length == 1 for length in lengths):
        return True
    date_end = total - 4
    position = 0
    for length in lengths[:-1]:
        position += length
        if position < date_end and position % 2:
            return False
    return True


def _candidates(text: str):
    """The texts of 10 or 12 digits (YYMMDD-NNNN, YYMMDD+NNNN or YYYYMMDDNNNN) text may hold a number as."""
    for run in _DIGIT_RUN.finditer(_plain(text)):
        groups = list(_DIGITS.finditer(run.group()))
        for first in range(len(groups)):
            total = 0
            for last in range(first, len(groups)):
                total += len(groups[last].group())
                if total > 12:
                    break
                if total not in (10, 12):
                    continue
                chosen = groups[first : last + 1]
                if not _natural_splits([len(g.group()) for g in chosen], total):
                    continue
                digits = "".join(g.group() for g in chosen)
                if total == 12:
                    yield digits
                    continue
                # "+" between date and serial: a person of a hundred or more, as Skatteverket writes it.
                between = _separator_at(run.group(), chosen, 6)
                yield f"{digits[:6]}{'+' if '+' in between else '-'}{digits[6:]}"


def _separator_at(run: str, groups: list[re.Match], position: int) -> str:
    """The separator after the digit at position (counted in the groups' digits), or "" inside a group."""
    seen = 0
    for group, following in zip(groups, groups[1:], strict=False):
        seen += len(group.group())
        if seen == position:
            return run[group.end() : following.start()]
    return ""


def holds_identifier(text: str | None, *, today: date) -> bool:
    """Whether text holds a valid personnummer or samordningsnummer (on today), written apart or not."""
    for candidate in _candidates(text or ""):
        try:
            parse_identifier(candidate, today=today)
        except IdentifierError:
            continue
        return True
    return False


def holds_birth_date(text: str | None, birth_date: date | None) -> bool:
    """Whether text holds birth_date as the date of a personnummer (YYMMDD or YYYYMMDD, or of a
    samordningsnummer: 60 added to the day) followed by four digits, whatever its check digit: a number
    with a mistyped check digit is no identifier, yet still tells the person's birth date. Read as
    holds_identifier reads a number written apart; a date alone ("2026-06-06") is no such number, nor is
    another day's."""
    if birth_date is None:
        return False
    days = (birth_date.day, birth_date.day + 60)
    long_dates = {f"{birth_date.year:04d}{birth_date.month:02d}{day:02d}" for day in days}
    short_dates = {long[2:] for long in long_dates}
    for candidate in _candidates(text or ""):
        written = candidate[:8] if len(candidate) == 12 else candidate[:6]
        if written in (long_dates if len(candidate) == 12 else short_dates):
            return True
    return False


def _folded(text: str) -> str:
    """text without case and accents: "Öberg" and "OBERG" alike give "oberg"."""
    decomposed = unicodedata.normalize("NFKD", _plain(text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> set[str]:
    folded = _folded(text)
    return set(_WORD.findall(folded)) | set(_WORD.findall(_INNER_PUNCTUATION.sub("", folded)))


def name_words(*names: str | None) -> frozenset[str]:
    """The words of names the rule looks for (folded; a single letter, an initial, is none)."""
    return frozenset(word for name in names if name for word in _words(name) if len(word) > 1)


def names_in(text: str | None, names: frozenset[str]) -> bool:
    """Whether text holds one of names (name_words) as a word, or its genitive -s."""
    if not text or not names:
        return False
    for word in _words(text):
        if word in names:
            return True
        if word.endswith("s") and len(word) > GENITIVE_MIN and word[:-1] in names:
            return True
    return False


def refuse_identifying_purpose(
    purpose: str | None, *, names: frozenset[str] = frozenset(), today: date
) -> None:
    """Refuse, at the purpose field, an access-log purpose holding a personnummer or samordningsnummer or one
    of names (name_words of the person it is about, when known)."""
    if holds_identifier(purpose, today=today) or names_in(purpose, names):
        raise InvalidInput(PURPOSE_IDENTIFIES, field="purpose")
