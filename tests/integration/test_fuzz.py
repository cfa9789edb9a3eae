"""No input ever yields a 500; bad input gets a clear 4xx problem+json and changes nothing
(product.md §2), on both databases.

Hypothesis walks the OpenAPI document the app serves. For every operation it sends random path
ids, query parameters, JSON bodies (near-valid ones that reach the database carrying nasty
text, and wild ones: deep nesting, integers past 64 bits, NaN, lone surrogates, wrong types,
unknown fields), raw bytes under assorted Content-Types, with the tenant's API key, without
one, or with garbage. A second property sends authenticated JSON writes near their schema and
checks that what was answered is what is stored. A third sends only requests that are invalid
by construction and checks, after each one, that no table changed and the event log reads the
same. Last, the inputs known to be nasty, one by one.
"""

from __future__ import annotations

from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.integration.fuzz_openapi import (
    World,
    any_call,
    invalid_call,
    write_call,
)
from tests.integration.fuzz_support import (
    ANY_REQUEST_EXAMPLES,
    FUZZ_SETTINGS,
    INVALID_REQUEST_EXAMPLES,
    WRITE_EXAMPLES,
    check_answer,
    snapshot,
)

# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------


@settings(FUZZ_SETTINGS, max_examples=ANY_REQUEST_EXAMPLES)
@given(data=st.data())
async def test_any_request_gets_a_well_formed_answer(world: World, data: st.DataObject) -> None:
    call = data.draw(any_call(world), label="call")
    response = await call.send(world.api.http)
    event(f"status {response.status_code}")  # see --hypothesis-show-statistics
    check_answer(response, call)


@settings(FUZZ_SETTINGS, max_examples=WRITE_EXAMPLES)
@given(data=st.data())
async def test_writes_are_stored_as_answered_or_refused_cleanly(
    world: World, data: st.DataObject
) -> None:
    call = data.draw(write_call(world), label="call")
    response = await call.send(world.api.http)
    event(f"status {response.status_code}")
    check_answer(response, call)
    if response.is_success and "id" in response.json():  # actions answer no object to read
        written = response.json()
        url = _object_url(call.method, call.path, written["id"])
        stored = (await world.api.get(url)).json()
        # The answer may also carry what is shown once (an endpoint's `secret`).
        assert set(written) - set(stored) <= {"secret"}, f"{call!r} answered {written}"
        answered = {name: written[name] for name in stored}
        assert stored == answered, f"{call!r} answered {written}, stored {stored}"


def _object_url(method: str, path: str, object_id: str) -> str:
    """Where the written object is read: the PATCHed URL, a nota fiscal's own URL, an action's
    object (`/v1/charges/{id}/settle` → `/v1/charges/{id}`), or the collection POSTed to plus
    the new id."""
    if method == "PATCH":
        return path
    if object_id.startswith("nfs_"):  # a charge's nota fiscal lives in its own collection
        return f"/v1/fiscal-invoices/{object_id}"
    if f"/{object_id}/" in path:
        return path[: path.index(f"/{object_id}/") + len(object_id) + 1]
    return f"{path}/{object_id}"


@settings(FUZZ_SETTINGS, max_examples=INVALID_REQUEST_EXAMPLES)
@given(data=st.data())
async def test_invalid_requests_are_refused_and_change_nothing(
    world: World, data: st.DataObject
) -> None:
    before = await snapshot(world.api, world.database)
    call = data.draw(invalid_call(world), label="call")
    response = await call.send(world.api.http)
    event(f"status {response.status_code}")
    check_answer(response, call)
    assert 400 <= response.status_code < 500, f"{response.status_code} for {call!r}"
    after = await snapshot(world.api, world.database)
    assert after == before, f"state changed by {call!r}"


async def test_the_documents_answer_as_documents(world: World) -> None:
    """The answers that are not JSON by design (a nota fiscal's PDF and XML) pass the same
    check as the fuzzed ones, so that a draw reaching them finds no false failure."""
    invoice_id = world.own_ids["invoice_id"][0]
    for ending, media_type in ((".pdf", "application/pdf"), (".xml", "application/xml")):
        response = await world.api.http.get(
            f"/v1/fiscal-invoices/{invoice_id}{ending}", headers=world.api.headers
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(media_type)
        check_answer(response)
