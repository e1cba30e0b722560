"""Password hashes (Argon2id through argon2-cffi) and the password rules."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from interviewer.errors import InterviewerError

MIN_CHARS = 10
MAX_CHARS = 256  # Argon2 takes any length; this keeps a pasted novel from costing CPU

_hasher = PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106's low-memory profile
# Checked against when the email is unknown, so an unknown address costs the same time as a
# wrong password and the answer cannot tell them apart.
_DUMMY = _hasher.hash("not a password anyone has: it only spends the same time")


class PasswordError(InterviewerError):
    """A new password that breaks the rules; the message says which."""


def check_rules(password: str, email: str = "") -> None:
    """Raise `PasswordError` for a password too short, too long or equal to the email."""
    if len(password) < MIN_CHARS:
        raise PasswordError(f"Use at least {MIN_CHARS} characters for the password.")
    if len(password) > MAX_CHARS:
        raise PasswordError(f"Use at most {MAX_CHARS} characters for the password.")
    if email and password.strip().lower() == email.strip().lower():
        raise PasswordError("The password cannot be your email address.")


def hash_password(password: str) -> str:
    """The Argon2id hash to store (salt and parameters included)."""
    return _hasher.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; with no hash (an unknown user, an SSO-only
    account) the dummy hash is checked instead, so every failure takes the same time."""
    try:
        return _hasher.verify(stored or _DUMMY, password[:MAX_CHARS]) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when the stored hash used weaker parameters than today's defaults."""
    return _hasher.check_needs_rehash(stored)
