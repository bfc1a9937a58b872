"""Password hashing with argon2id (argon2-cffi's defaults exceed OWASP's minimum)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def use_cheap_hashing(cheap: bool) -> None:
    """Hash with argon2's cheapest parameters (tests only: strength is not under test, time is)."""
    global _hasher
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST) if cheap else PasswordHasher()
    _dummy_hash.cache_clear()


@cache
def _dummy_hash() -> str:
    # Compared against when the username is unknown, so a wrong name costs as long as a wrong password.
    return _hasher.hash("sipflow-timing-equaliser")


def hash_password(password: str) -> str:
    """Return an argon2id hash of password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when password matches; spends the same effort when there is no hash."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)
