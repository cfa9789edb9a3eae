"""Console passwords: the rules a new one follows, and argon2id hashes (argon2-cffi's
`PasswordHasher` defaults, RFC 9106's low-memory profile: 64 MiB, 3 passes, 4 lanes).

Hashing and verifying take tens of milliseconds of CPU on purpose: async code calls them
through `asyncio.to_thread` (`hash_password_off_loop`, `verify_password_off_loop`), so that
the event loop keeps serving other requests meanwhile."""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error, InvalidHashError

from assina.core.errors import invalid

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256

_HASHER = PasswordHasher()


def password_rule_broken(password: str) -> str | None:
    """What is wrong with a new password, in the words the console shows; None when it may
    be used. Lengths count characters (code points), not bytes."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"deve ter pelo menos {MIN_PASSWORD_LENGTH} caracteres"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"deve ter no máximo {MAX_PASSWORD_LENGTH} caracteres"
    if len(set(password)) == 1:
        return "não pode repetir um só caractere"
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        return "deve ser texto Unicode válido"
    return None


def check_new_password(password: str) -> None:
    """A 422 naming the field `password` when the password breaks a rule."""
    broken = password_rule_broken(password)
    if broken is not None:
        raise invalid("password", f"a senha {broken}")


def hash_password(password: str) -> str:
    """The argon2id PHC string of `password` (`$argon2id$v=19$m=65536,t=3,p=4$…`), with a
    random salt. CPU-heavy: from async code, `hash_password_off_loop`."""
    return _HASHER.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    """Whether `password` is the one `password_hash` was made from (argon2 compares in
    constant time). A hash that is not a valid argon2 PHC string, or a password that cannot be
    encoded, is False, never an exception."""
    try:
        return _HASHER.verify(password_hash, password)
    except (Argon2Error, InvalidHashError, UnicodeEncodeError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's defaults (older, weaker):
    after a successful sign-in the password is hashed again."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@cache
def dummy_hash() -> str:
    """A hash no password is checked against for real: verified when the e-mail is unknown,
    so that a sign-in takes as long whether or not the e-mail exists. Made on first use (it
    costs one hashing), not when the module is imported."""
    return _HASHER.hash("assina: no such console user")


async def hash_password_off_loop(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_off_loop(password: str, password_hash: str) -> bool:
    return await asyncio.to_thread(verify_password, password, password_hash)
