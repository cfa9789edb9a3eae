"""The revenue chart (rules/bar_chart.py): a well-formed, self-contained SVG whose bars are
proportional to their amounts, with round grid lines, a title per bar, escaped texts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.rules.bar_chart import grid_step, revenue_chart_svg

SVG = "{http://www.w3.org/2000/svg}"
MONTHS = [
    "fev/25",
    "mar/25",
    "abr/25",
    "mai/25",
    "jun/25",
    "jul/25",
    "ago/25",
    "set/25",
    "out/25",
    "nov/25",
    "dez/25",
    "jan/26",
]


def brl(amount: int) -> str:
    reais = f"{amount // 100:,}".replace(",", ".")
    return f"R$ {reais},{amount % 100:02d}"


def chart(amounts: list[int], labels: list[str] = MONTHS, title: str = "Receita") -> ET.Element:
    svg = revenue_chart_svg(list(zip(labels, amounts, strict=True)), format_amount=brl, title=title)
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it is well-formed


def bars(root: ET.Element) -> list[ET.Element]:
    return root.findall(f".//{SVG}rect[@class='bar']")


def grid_amounts(root: ET.Element) -> list[str]:
    return [text.text or "" for text in root.findall(f".//{SVG}g[@class='amounts']/{SVG}text")]


def test_twelve_bars_proportional_to_their_amounts_with_their_labels_and_titles() -> None:
    amounts = [100_000 * (n + 1) for n in range(12)]
    root = chart(amounts)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("aria-label") == "Receita"
    assert root.get("viewBox") == "0 0 640 300"
    assert root.get("width") is None and root.get("height") is None  # scales to its container
    found = bars(root)
    assert len(found) == 12
    heights = [float(bar.get("height", "")) for bar in found]
    for amount, height in zip(amounts, heights, strict=True):
        assert height / heights[-1] == pytest.approx(amount / amounts[-1], rel=1e-3)
    bottoms = {round(float(bar.get("y", "")) + float(bar.get("height", "")), 2) for bar in found}
    assert len(bottoms) == 1  # every bar stands on the baseline
    xs = [float(bar.get("x", "")) for bar in found]
    assert xs == sorted(xs)
    titles = [bar.findtext(f"{SVG}title") for bar in found]
    assert titles[0] == "fev/25: R$ 1.000,00" and titles[-1] == "jan/26: R$ 12.000,00"
    labels = [t.text for t in root.findall(f".//{SVG}g[@class='labels']/{SVG}text")]
    assert labels == MONTHS


def test_grid_lines_at_round_amounts_cover_the_highest_bar() -> None:
    root = chart([0] * 11 + [1_234_567])
    assert grid_amounts(root) == [brl(250_000 * n) for n in range(6)]
    lines = root.findall(f".//{SVG}g[@class='grid']/{SVG}line")
    assert len(lines) == 5
    tallest = bars(root)[-1]
    assert float(tallest.get("y", "")) > min(float(line.get("y1", "")) for line in lines)


@given(st.integers(0, 10**15))
def test_three_to_five_round_steps_reach_any_amount(highest: int) -> None:
    step = grid_step(highest)
    steps = -(-highest // step)
    assert step * max(steps, 3) >= highest
    assert highest < 4 or 3 <= steps <= 5
    digits = str(step).rstrip("0")
    assert digits in ("1", "2", "25", "5")


def test_all_zero_lies_flat_on_a_small_grid() -> None:
    root = chart([0] * 12)
    assert [float(bar.get("height", "")) for bar in bars(root)] == [0.0] * 12
    assert grid_amounts(root) == [brl(100 * n) for n in range(5)]


def test_a_huge_amount_leaves_the_small_ones_visible() -> None:
    root = chart([100] * 11 + [98_765_432_100])
    heights = [float(bar.get("height", "")) for bar in bars(root)]
    assert all(0 < height <= 1 for height in heights[:11])
    assert heights[-1] > 200
    assert grid_amounts(root)[-1] == "R$ 1.000.000.000,00"
    # The long amounts widen the left margin; the bars still fit in the viewBox.
    last = bars(root)[-1]
    assert float(last.get("x", "")) + float(last.get("width", "")) <= 640


def test_every_text_is_escaped() -> None:
    labels = ["<b>&", *MONTHS[1:]]
    svg = revenue_chart_svg(
        list(zip(labels, [5] * 12, strict=True)),
        format_amount=lambda amount: f'<i>"{amount}"</i>',
        title='Receita <script>alert("x")</script> & "mais"',
    )
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert "<b>" not in svg and "<script>" not in svg and "<i>" not in svg
    assert root.get("aria-label") == 'Receita <script>alert("x")</script> & "mais"'
    assert root.findtext(f"{SVG}title") == root.get("aria-label")
    assert bars(root)[0].findtext(f"{SVG}title") == '<b>&: <i>"5"</i>'
    assert root.findall(f".//{SVG}g[@class='labels']/{SVG}text")[0].text == "<b>&"


def test_no_script_link_or_style_attribute() -> None:
    svg = revenue_chart_svg(list(zip(MONTHS, range(12), strict=True)), format_amount=brl, title="R")
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    for element in root.iter():
        assert element.tag.removeprefix(SVG) in {"svg", "title", "g", "line", "text", "rect"}
        assert "style" not in element.attrib
        assert not any("href" in name for name in element.attrib)
