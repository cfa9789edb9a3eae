"""The payment page's tokens (charges/links.py): `<charge id>.<MAC>`, checked in constant time;
any other text, another key's MAC or another charge's names nothing."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from assina.charges.links import MAC_BYTES, PaymentLinks, payment_links_for
from assina.core.ids import new_id
from assina.core.secrets import SecretBox

LINKS = payment_links_for(SecretBox("one-secret-key"), "https://assina.example.com.br/")
URLSAFE = string.ascii_letters + string.digits + "-_"


def test_a_token_names_its_charge_and_nothing_else() -> None:
    charge_id = new_id("chg")
    token = LINKS.token(charge_id)
    named, mac = token.rsplit(".", 1)
    assert named == charge_id
    assert len(mac) == 22 == (MAC_BYTES * 8 + 5) // 6 and set(mac) <= set(URLSAFE)
    assert LINKS.charge_id_of(token) == charge_id
    assert LINKS.url(charge_id) == f"https://assina.example.com.br/pay/{token}"
    assert LINKS.charge_id_of(f"{new_id('chg')}.{mac}") is None  # another charge, same MAC
    other = payment_links_for(SecretBox("another-secret-key"), None)
    assert other.charge_id_of(token) is None  # a new secret key: old links name nothing
    assert other.url(charge_id).startswith("http://127.0.0.1:8000/pay/")


def test_every_one_character_change_of_the_mac_is_refused() -> None:
    charge_id = new_id("chg")
    token = LINKS.token(charge_id)
    start = len(charge_id) + 1
    for position in range(start, len(token)):
        for char in URLSAFE:
            if char != token[position]:
                changed = token[:position] + char + token[position + 1 :]
                assert LINKS.charge_id_of(changed) is None, changed


@given(st.text(max_size=300))
def test_any_other_text_names_nothing(text: str) -> None:
    assert LINKS.charge_id_of(text) is None


def test_the_key_is_the_derived_one() -> None:
    box = SecretBox("one-secret-key")
    same = PaymentLinks(box.derived_key("payment page"), "https://assina.example.com.br")
    charge_id = new_id("chg")
    assert same.token(charge_id) == LINKS.token(charge_id)
    assert PaymentLinks(box.derived_key("sandbox"), "x").token(charge_id) != LINKS.token(charge_id)
