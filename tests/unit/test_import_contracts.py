"""The import contracts of pyproject.toml ([tool.importlinter]): the layers of the whole
package (imports only go down), domains never importing what reacts to their events (dunning,
notifications, webhooks, reactions), the settings never importing the e-mail sender. Run here
so that `pytest` (the README's and CI's test command) checks them; and docs/architecture.md
draws the layers the contract holds."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    checked = subprocess.run(  # noqa: S603 - the dev dependency's own console script
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_architecture_doc_draws_the_layers_of_the_contract() -> None:
    """Each box of the Layers diagram is one floor of the contract, top to bottom, with the
    contract's packages; `·` in the diagram is the contract's `|`."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in contracts["contracts"] if c["type"] == "layers"]
    doc = (ROOT / "docs" / "architecture.md").read_text()
    section = doc.split("\n## Layers\n", 1)[1]
    diagram = section.split("```mermaid\n", 1)[1].split("```", 1)[0]
    drawn = re.findall(r'^\s*\w+\["([^"<]+)', diagram, re.MULTILINE)
    assert [_floor(box) for box in drawn] == [_floor(layer) for layer in layers]


def _floor(text: str) -> str:
    return " ".join(text.replace("·", "|").split())
