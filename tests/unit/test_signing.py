"""Standard Webhooks signatures: the specification's vector, and the reference libraries
(`standardwebhooks`, `svix`) verifying what we sign, with one secret and during a rotation."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError
from svix.webhooks import Webhook as SvixWebhook
from svix.webhooks import WebhookVerificationError as SvixVerificationError

from assina.webhooks.signing import (
    InvalidSecret,
    new_secret,
    secret_key,
    signature,
    signature_header,
    signature_headers,
    verify,
)

# /work/shared/data/test-vectors.md (from the specification's reference test suites)
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specification_vector() -> None:
    assert signature(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_the_vector_fails_when_anything_changes() -> None:
    assert signature(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP + 1, VECTOR_BODY) != (
        VECTOR_SIGNATURE
    )
    assert signature(VECTOR_SECRET, VECTOR_ID + "x", VECTOR_TIMESTAMP, VECTOR_BODY) != (
        VECTOR_SIGNATURE
    )
    assert signature(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY + b" ") != (
        VECTOR_SIGNATURE
    )


def test_new_secrets_are_prefixed_random_and_sized() -> None:
    first, second = new_secret(), new_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(secret_key(first)) == 32
    assert len(secret_key(new_secret(24))) == 24
    assert len(secret_key(new_secret(64))) == 64
    for size in (23, 65):
        with pytest.raises(InvalidSecret):
            new_secret(size)


@pytest.mark.parametrize("bad", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not*base64!", ""])
def test_malformed_secrets_are_refused(bad: str) -> None:
    with pytest.raises(InvalidSecret):
        secret_key(bad)


def _reference_headers(secrets_: list[str], body: bytes, timestamp: int) -> dict[str, str]:
    return signature_headers(secrets_, "msg_01TEST", timestamp, body)


JSON_BODIES = st.dictionaries(
    st.text(max_size=20), st.one_of(st.integers(), st.text(max_size=50), st.none()), max_size=10
).map(lambda value: json.dumps(value, ensure_ascii=False).encode())


@given(body=JSON_BODIES)
def test_reference_libraries_verify_what_we_sign(body: bytes) -> None:
    # The libraries parse the body as JSON once it verifies, as our bodies always are.
    secret = new_secret()
    headers = _reference_headers([secret], body, int(time.time()))
    StandardWebhook(secret).verify(body, headers)
    SvixWebhook(secret).verify(body, headers)


def test_during_a_rotation_both_secrets_verify_and_a_third_does_not() -> None:
    old, new, stranger = new_secret(), new_secret(), new_secret()
    body = b'{"type": "customer.created"}'
    headers = _reference_headers([new, old], body, int(time.time()))
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        StandardWebhook(secret).verify(body, headers)
        SvixWebhook(secret).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(stranger).verify(body, headers)
    with pytest.raises(SvixVerificationError):
        SvixWebhook(stranger).verify(body, headers)


def test_reference_libraries_refuse_a_tampered_body() -> None:
    secret = new_secret()
    headers = _reference_headers([secret], b'{"amount": 100}', int(time.time()))
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(secret).verify(b'{"amount": 900}', headers)


def test_our_verify_matches_the_rules() -> None:
    secret, other = new_secret(), new_secret()
    now = 1_800_000_000
    body = b"{}"
    header = signature_header([other, secret], "msg_1", now, body)
    assert verify(secret, "msg_1", now, body, header, now)
    assert verify(secret, "msg_1", now, body, header, now + 300)
    assert not verify(secret, "msg_1", now, body, header, now + 301)
    assert not verify(secret, "msg_2", now, body, header, now)
    assert not verify(new_secret(), "msg_1", now, body, header, now)


def test_a_message_needs_a_secret() -> None:
    with pytest.raises(InvalidSecret):
        signature_header([], "msg_1", 1, b"")
