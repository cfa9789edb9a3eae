"""docs/webhooks.md stays true: every event type of the catalog is documented with a `data`
example that fits the schema its events are built from, and the receivers it shows are the
files the suite runs (tests/integration/test_receiver_examples.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assina.event_types.catalog import data_model
from assina.events.catalog import CATALOG

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "webhooks.md").read_text()
KINDS = {kind.name.value: kind for kind in CATALOG}
EXAMPLE = re.compile(r"<!-- data-example: (?P<types>[^>]+?) -->\n```json\n(?P<json>.*?)\n```", re.S)
EXAMPLES = [
    (match["types"].split(), json.loads(match["json"])) for match in EXAMPLE.finditer(GUIDE)
]


def test_every_event_type_has_one_documented_data_example() -> None:
    documented = [name for types, _ in EXAMPLES for name in types]
    assert sorted(documented) == sorted(KINDS)


@pytest.mark.parametrize(("types", "data"), EXAMPLES, ids=[types[0] for types, _ in EXAMPLES])
def test_each_data_example_fits_its_event_types_schema(
    types: list[str], data: dict[str, object]
) -> None:
    for name in types:
        model = data_model(KINDS[name].name)
        validated = model.model_validate(data)
        # Exactly the fields the events carry: none missing, none invented.
        assert set(data) == set(validated.model_dump(mode="json")), name


def test_the_event_table_lists_every_type_with_its_label() -> None:
    for name, kind in KINDS.items():
        assert f"| `{name}` | {kind.label} |" in GUIDE


def test_the_event_table_marks_the_events_nothing_raises_yet() -> None:
    for name, kind in KINDS.items():
        [row] = [
            line for line in GUIDE.splitlines() if line.startswith("| ") and f"| `{name}` |" in line
        ]
        assert ("**not raised yet**" in row) == (not kind.raised), row


@pytest.mark.parametrize(
    "path",
    ["python/receiver.py", "node/receiver.mjs", "php/receiver.php"],
)
def test_the_guide_shows_the_tested_receivers_verbatim(path: str) -> None:
    assert (ROOT / "examples" / "receivers" / path).read_text() in GUIDE
