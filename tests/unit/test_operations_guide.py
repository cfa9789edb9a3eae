"""docs/operations.md and docs/security.md stay true: the unit files and the environment file
they show are the ones in examples/systemd/, every test they name exists, and the settings
the environment file sets are settings assina reads."""

from __future__ import annotations

import re
from pathlib import Path

from assina.config import Settings

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()
SECURITY = (ROOT / "docs" / "security.md").read_text()
SYSTEMD = ROOT / "examples" / "systemd"


def _block_after(marker: str, language: str) -> str:
    """The fenced block that follows `marker` in docs/operations.md."""
    after = OPERATIONS.split(marker, 1)[1]
    match = re.match(rf"\s*```{language}\n(.*?)```", after, re.S)
    assert match is not None, marker
    return match[1]


def test_the_serve_unit_shown_is_the_file() -> None:
    shown = _block_after("`assina-serve.service`:", "ini")
    assert shown == (SYSTEMD / "assina-serve.service").read_text()


def test_the_worker_unit_differs_as_the_guide_says() -> None:
    worker = (SYSTEMD / "assina-worker@.service").read_text()
    [exec_start] = re.findall(r"^ExecStart=.*$", worker, re.M)
    assert f"```ini\n{exec_start}\n```" in OPERATIONS
    serve = (SYSTEMD / "assina-serve.service").read_text()

    def settings(unit: str) -> set[str]:
        return set(re.findall(r"^[A-Z]\w+=.*$", unit, re.M))

    # "the same but for its ExecStart (and a longer TimeoutStopSec=90 …)", and Description.
    differ = {line.split("=")[0] for line in settings(serve) ^ settings(worker)}
    assert differ == {"Description", "ExecStart", "TimeoutStopSec"}
    assert "TimeoutStopSec=90" in worker


def test_the_environment_file_shown_is_the_example_and_names_real_settings() -> None:
    example = (SYSTEMD / "assina.env.example").read_text()
    shown = _block_after("(../examples/systemd/assina.env.example):", "sh")
    assert shown == example
    names = re.findall(r"^#?(ASSINA_\w+)=", example, re.M)
    assert names
    known = {f"ASSINA_{name.upper()}" for name in Settings.model_fields}
    assert set(names) <= known


def test_every_test_the_guides_name_exists() -> None:
    sources = "".join(path.read_text() for path in (ROOT / "tests").rglob("test_*.py"))
    for guide in (SECURITY, OPERATIONS):
        for path in re.findall(r"tests/(?:unit|integration)/test_\w+\.py", guide):
            assert (ROOT / path).exists(), path
        for name in set(re.findall(r"`(test_\w+)`", guide)):
            assert re.search(rf"def {name}\(", sources), name
    assert len(set(re.findall(r"`(test_\w+)`", SECURITY))) > 50  # the pattern still matches
