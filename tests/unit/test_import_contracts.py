"""The import contracts of pyproject.toml ([tool.importlinter]): domains never import what
reacts to their events (dunning, notifications, webhooks, reactions), nor do the settings
import the e-mail sender. Run here so that `pytest` (the README's and CI's test command)
checks them."""

from __future__ import annotations

import subprocess
import sys
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
