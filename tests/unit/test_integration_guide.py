"""docs/testing-your-integration.md stays true: the Python walk it shows is the file the
suite runs against a real server (tests/e2e/test_sandbox_year.py), and the steps it tells
are the ones the end-to-end test takes."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "testing-your-integration.md").read_text()


def test_the_guide_shows_the_tested_script_verbatim() -> None:
    assert (ROOT / "examples" / "sandbox" / "year.py").read_text() in GUIDE


def test_the_guide_names_the_commands_the_e2e_test_runs() -> None:
    for command in (
        "assina migrate",
        'assina tenant create "Escola Teste" --sandbox --json',
        "ASSINA_SMTP_URL=smtp://127.0.0.1:1025 ASSINA_ALLOW_PRIVATE_TARGETS=true",
        "assina serve --port 8000",
        "python -m aiosmtpd -n -l 127.0.0.1:1025",
        "assina billing run --tenant $ASSINA_TENANT --date",
        "/v1/test-clock/advance",
        '"event_types": ["*"], "ordering": "per_customer"',
        "/settle",
    ):
        assert command in GUIDE, command
