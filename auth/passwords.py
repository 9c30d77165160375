"""Password hashing with argon2id (argon2-cffi, RFC 9106 parameters) and random passwords.

Nothing here logs a password or a hash.
"""

from __future__ import annotations

import logging
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

logger = logging.getLogger(__name__)

MIN_LENGTH = 10
MAX_LENGTH = 256  # argon2 takes any length; a cap keeps a hostile megabyte "password" from costing anything
_HASHER = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4
# A hash nobody's password matches, verified for unknown user names so that they take as long as known ones.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(24))
_ALPHABET = string.ascii_letters + string.digits


class PasswordError(ValueError):
    """A password that the policy refuses (the message says why, never what the password was)."""


def check_policy(password: str, username: str = "") -> None:
    if not isinstance(password, str):
        raise PasswordError("the password must be text")
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordError(f"the password must have at most {MAX_LENGTH} characters")
    if password.strip() != password or not password.isprintable():
        raise PasswordError("the password must not start or end with spaces or contain control characters")
    if username and username.lower() in password.lower():
        raise PasswordError("the password must not contain the user name")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``; with no hash (unknown user) the same work is done."""
    if not isinstance(password, str) or len(password) > MAX_LENGTH:
        password = ""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's (rehash at the next login)."""
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def random_password(length: int = 16) -> str:
    """A random password of letters and digits (about 95 bits for 16 characters), easy to type from a console."""
    while True:
        pw = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if any(c.isdigit() for c in pw) and any(c.islower() for c in pw) and any(c.isupper() for c in pw):
            return pw
