"""What a new password must be: long enough, not the username, not one of the first guesses of an attacker.

No composition rules (ASVS 6.2.5): length is what makes a password hard to guess, and a few words in a row
are both long and easy to remember.
"""

from __future__ import annotations

import re
import unicodedata

from sipflow.translated import lazy_gettext as _l

MIN_LENGTH = 12
MAX_LENGTH = 256

# The most common long passwords, Swedish ones included; compared without case, spaces or punctuation.
# A short list on purpose: it catches the first guesses, the length rule does the rest.
_COMMON = {
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789123",
    "123123123123",
    "987654321098",
    "111111111111",
    "000000000000",
    "1q2w3e4r5t6y",
    "qwerty123456",
    "qwertyuiop12",
    "qwertyuiop123",
    "qwertyuiopå",
    "qwertyuiopåä",
    "asdfghjklöä",
    "abc123456789",
    "abcdefghijkl",
    "password1234",
    "password12345",
    "password123456",
    "passwordpassword",
    "lösenord1234",
    "lösenord12345",
    "lösenord123456",
    "lösenordlösenord",
    "losenord1234",
    "losenord12345",
    "iloveyou1234",
    "welcome12345",
    "välkommen123",
    "välkommen1234",
    "valkommen123",
    "sommar123456",
    "vinter123456",
    "adminadmin12",
    "administrator",
    "administratör",
    "sipflow12345",
    "sipflowsipflow",
    "demosip2026",
    "correcthorsebatterystaple",
}
_IGNORED = re.compile(r"[\s\-_.!?,;:]+")


# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: a line break or tab
# cannot be typed the same way in every login box, and a CR/LF has no business in a form value or a log.
_CONTROL_CATEGORIES = {"Cc", "Zl", "Zp"}


def has_control_characters(text: str) -> bool:
    """Whether text holds a control character, a line break or a tab."""
    return any(unicodedata.category(character) in _CONTROL_CATEGORIES for character in text)


def _normalised(text: str) -> str:
    return _IGNORED.sub("", text.casefold())


def new_password_problem(password: str, *, username: str):
    """The reason password may not be used (a translatable message), or None when it is fine."""
    if has_control_characters(password):
        return _l("The password may not contain control characters such as line breaks or tabs.")
    if len(password) < MIN_LENGTH:
        return _l("The password must have at least %(count)s characters.", count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("The password may have at most %(count)s characters.", count=MAX_LENGTH)
    normalised = _normalised(password)
    if normalised == _normalised(username):
        return _l("The password may not be your username.")
    if normalised in _COMMON or len(set(normalised)) <= 2:
        return _l("That password is among the first an attacker would try. Choose another one.")
    return None
