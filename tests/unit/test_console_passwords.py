"""Console passwords: argon2id PHC strings, verification that never raises, the rules a new
password follows (a 422 naming `password`), and the rehash of an older hash."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from assina.core.errors import Problem
from assina.users.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    check_new_password,
    hash_password,
    needs_rehash,
    password_rule_broken,
    verify_password,
)

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_password(PASSWORD)


def test_the_hash_is_an_argon2id_phc_string_with_a_salt_of_its_own(stored: str) -> None:
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in stored
    assert hash_password(PASSWORD) != stored  # a new random salt each time


def test_the_right_password_verifies_and_a_wrong_one_does_not(stored: str) -> None:
    assert verify_password(PASSWORD, stored) is True
    assert verify_password(PASSWORD + " ", stored) is False
    assert verify_password("", stored) is False


@pytest.mark.parametrize(
    "broken",
    ["", "not a hash", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$", "$2b$12$bcrypt.hash.here"],
)
def test_a_hash_that_is_no_argon2_hash_is_false_not_an_error(broken: str) -> None:
    assert verify_password(PASSWORD, broken) is False


def test_a_password_that_cannot_be_encoded_is_false_not_an_error(stored: str) -> None:
    assert verify_password("\ud800 lone surrogate", stored) is False


def test_an_older_hash_needs_a_rehash_and_todays_does_not(stored: str) -> None:
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    assert verify_password(PASSWORD, weaker) is True
    assert needs_rehash(weaker) is True
    assert needs_rehash(stored) is False
    assert needs_rehash("not a hash") is True


@pytest.mark.parametrize(
    "password",
    [
        "a" * (MIN_PASSWORD_LENGTH - 1),
        "x" * (MAX_PASSWORD_LENGTH + 1),
        "a" * MIN_PASSWORD_LENGTH,
        "7" * 40,
        "ab\ud800cdefghij",
    ],
)
def test_a_password_breaking_a_rule_is_a_422_naming_password(password: str) -> None:
    assert password_rule_broken(password) is not None
    with pytest.raises(Problem) as refused:
        check_new_password(password)
    assert refused.value.status == 422
    assert [error.field for error in refused.value.errors] == ["password"]
    assert refused.value.detail.startswith("password: a senha ")


@pytest.mark.parametrize(
    "password",
    [
        "ab" * (MIN_PASSWORD_LENGTH // 2),
        "é" * (MIN_PASSWORD_LENGTH - 1) + "e",  # characters, not bytes
        "y" * (MAX_PASSWORD_LENGTH - 1) + "z",
        "  spaces count too  ",
    ],
)
def test_a_password_within_the_rules_is_accepted(password: str) -> None:
    assert password_rule_broken(password) is None
    check_new_password(password)
