"""A bar chart of amounts as a self-contained SVG: the console's revenue of the last months.

Rules:

- Self-contained and allowed by the console's Content-Security-Policy: no script, no link, no
  external font (the generic `sans-serif`), no `style` attribute: presentation attributes only.
- It scales to its container's width (a `viewBox`, no fixed size), with `role="img"` and the
  title as `aria-label` (and as its first `<title>`).
- Bars are proportional to their amounts over a scale from 0 to a round top, with 3 to 5 grid
  lines above the baseline at round amounts (1, 2, 2.5 or 5 times a power of ten), labelled
  by the caller's `format_amount`. All zero: the scale of 4 steps of 100 minor units (the
  bars lie flat on it). A positive amount far below a huge one still shows as a sliver (at
  least `MIN_BAR` high); a negative amount shows as 0.
- Each bar carries a `<title>` with its label and exact amount, shown on hover.
- Every text is XML-escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

WIDTH = 640
HEIGHT = 300
TOP = 12  # room above the highest grid line's label
BOTTOM = 28  # the month labels
RIGHT = 8
FONT_SIZE = 12
CHAR_WIDTH = 0.65  # a generous average width of one character, in font sizes
LABEL_GAP = 6
BAR_SHARE = 0.7  # of each bar's slot; the rest is the gap
MIN_BAR = 1.0
ZERO_STEP = 100  # all zero: grid lines every 100 minor units
MAX_STEPS = 5
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
BASELINE = TOP + PLOT_HEIGHT

BAR_COLOR = "#2563eb"
GRID_COLOR = "#e5e7eb"
AXIS_COLOR = "#9ca3af"
TEXT_COLOR = "#374151"


def grid_step(highest: int) -> int:
    """The round step (1, 2, 2.5 or 5 times a power of ten, a whole number) whose grid of at
    most `MAX_STEPS` steps from 0 covers `highest`; with it the grid has 3 to 5 steps."""
    if highest <= 0:
        return ZERO_STEP
    magnitude = 1  # the power of ten with magnitude <= highest / 4 < 10 * magnitude
    while magnitude * 10 * 4 <= highest:
        magnitude *= 10
    halves = [5 * magnitude // 2] if magnitude >= 10 else []  # 2.5: a whole number only then
    for step in [magnitude, 2 * magnitude, *halves, 5 * magnitude]:
        if -(-highest // step) <= MAX_STEPS:
            return step
    return 10 * magnitude  # highest < 40 * magnitude: at most 4 steps


@dataclass(frozen=True)
class _Scale:
    """Where things go: the plot's box in viewBox units and the amount at its top."""

    step: int
    steps: int
    left: int
    slot: float  # each bar's share of the plot's width

    @property
    def top_amount(self) -> int:
        return self.step * self.steps

    def y(self, amount: int) -> float:
        return BASELINE - PLOT_HEIGHT * amount / self.top_amount

    def height(self, amount: int) -> float:
        if amount <= 0:
            return 0.0
        return max(PLOT_HEIGHT * amount / self.top_amount, MIN_BAR)


def revenue_chart_svg(
    bars: Sequence[tuple[str, int]],
    *,
    format_amount: Callable[[int], str],
    title: str,
) -> str:
    """The bars (label, amount in minor units), left to right, as an SVG document."""
    highest = max((amount for _, amount in bars), default=0)
    step = grid_step(highest)
    steps = max(-(-highest // step), 3) if highest > 0 else 4
    grid_labels = [format_amount(step * n) for n in range(steps + 1)]
    widest = max(len(label) for label in grid_labels)
    left = round(2 * LABEL_GAP + FONT_SIZE * CHAR_WIDTH * widest)
    scale = _Scale(step, steps, left, (WIDTH - left - RIGHT) / max(len(bars), 1))
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'role="img" aria-label={quoteattr(title)} font-family="sans-serif" '
            f'font-size="{FONT_SIZE}">',
            f"<title>{escape(title)}</title>",
            *_grid(scale, grid_labels),
            *_bars(scale, bars, format_amount),
            *_month_labels(scale, [label for label, _ in bars]),
            f'<line class="axis" x1="{left}" y1="{BASELINE}" x2="{WIDTH - RIGHT}" '
            f'y2="{BASELINE}" stroke="{AXIS_COLOR}" stroke-width="1"/>',
            "</svg>",
        ]
    )


def _grid(scale: _Scale, labels: list[str]) -> list[str]:
    """The grid lines above the baseline and every line's amount, left of the plot."""
    lines = [
        f'<line x1="{scale.left}" y1="{_n(scale.y(scale.step * n))}" x2="{WIDTH - RIGHT}" '
        f'y2="{_n(scale.y(scale.step * n))}"/>'
        for n in range(1, scale.steps + 1)
    ]
    amounts = [
        f'<text x="{scale.left - LABEL_GAP}" y="{_n(scale.y(scale.step * n) + FONT_SIZE / 3)}">'
        f"{escape(label)}</text>"
        for n, label in enumerate(labels)
    ]
    return [
        f'<g class="grid" stroke="{GRID_COLOR}" stroke-width="1">',
        *lines,
        "</g>",
        f'<g class="amounts" fill="{TEXT_COLOR}" text-anchor="end">',
        *amounts,
        "</g>",
    ]


def _bars(
    scale: _Scale, bars: Sequence[tuple[str, int]], format_amount: Callable[[int], str]
) -> list[str]:
    rects = []
    for index, (label, amount) in enumerate(bars):
        height = scale.height(amount)
        x = scale.left + scale.slot * (index + (1 - BAR_SHARE) / 2)
        rects.append(
            f'<rect class="bar" x="{_n(x)}" y="{_n(BASELINE - height)}" '
            f'width="{_n(scale.slot * BAR_SHARE)}" height="{_n(height)}">'
            f"<title>{escape(f'{label}: {format_amount(amount)}')}</title></rect>"
        )
    return [f'<g class="bars" fill="{BAR_COLOR}">', *rects, "</g>"]


def _month_labels(scale: _Scale, labels: list[str]) -> list[str]:
    """Each bar's label under it, smaller when long amounts leave the bars little room."""
    longest = max((len(label) for label in labels), default=1)
    size = min(FONT_SIZE, scale.slot * 0.9 / (CHAR_WIDTH * max(longest, 1)))
    texts = [
        f'<text x="{_n(scale.left + scale.slot * (index + 0.5))}" y="{BASELINE + 18}">'
        f"{escape(label)}</text>"
        for index, label in enumerate(labels)
    ]
    return [
        f'<g class="labels" fill="{TEXT_COLOR}" text-anchor="middle" font-size="{_n(size)}">',
        *texts,
        "</g>",
    ]


def _n(value: float) -> str:
    """A coordinate with at most 2 decimals and no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")
