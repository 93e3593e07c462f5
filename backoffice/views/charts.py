"""Bar charts drawn on the server as SVG: no chart library, nothing loaded from the internet
(FAB's chart views load Google Charts), readable without JavaScript and printable."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import format_decimal
from markupsafe import Markup, escape

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 200, 44, 28, 12


def bar_chart(points: Sequence[tuple[str, float]], title: str, value_text=format_decimal, every: int = 1,
              colour: str = "#337ab7", test_id: str = "") -> Markup:
    """One bar per point (label, value); every `every`-th label is written under its bar."""
    values = [float(v) for _, v in points]
    top = max(values, default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(points), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
             f' data-test="{escape(test_id)}" aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 8}" y2="{TOP + plot_h}" stroke="#999"/>',
             f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11" fill="#666">'
             f'{escape(value_text(max(values, default=0)))}</text>',
             f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="11" fill="#666">0</text>']
    for i, ((label, value), number) in enumerate(zip(points, values, strict=True)):
        height = plot_h * max(number, 0) / top  # a month of net credits draws no bar
        x = LEFT + i * step + step * 0.15
        parts.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{step * 0.7:.1f}"'
                     f' height="{height:.1f}" fill="{colour}"><title>{escape(label)}: '
                     f'{escape(value_text(value))}</title></rect>')
        if i % every == 0:
            parts.append(f'<text x="{x + step * 0.35:.1f}" y="{HEIGHT - 10}" text-anchor="middle"'
                         f' font-size="10" fill="#666">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
