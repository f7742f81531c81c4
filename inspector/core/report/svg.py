"""Inline SVG plots drawn by our code (no plotting library, no script): histograms and bar charts.

Every plot scales with its container (viewBox + width 100%), so it reads on a phone as on a
1400 px screen; text sizes are in viewBox units and stay legible at both.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

import numpy as np

# One colour per split (train, val, test, others), readable on white and for colour-blind readers
# (Okabe-Ito palette).
SPLIT_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
CHANNEL_COLOURS = {"R": "#D55E00", "G": "#009E73", "B": "#0072B2", "L": "#555555"}

W, H = 640, 240                  # viewBox of a histogram
PAD_L, PAD_R, PAD_T, PAD_B = 50, 10, 28, 34


def split_colour(index: int) -> str:
    return SPLIT_COLOURS[index % len(SPLIT_COLOURS)]


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _polyline(xs: np.ndarray, ys: np.ndarray) -> str:
    # as _num: one decimal without a trailing ".0" (the coordinates stay far below 1e6, where :g
    # would switch to exponents); rounded by numpy at once, half the time of _num per point
    points = np.round(np.column_stack([xs, ys]), 1).tolist()
    return " ".join(f"{x:g},{y:g}" for x, y in points)


def histogram_svg(series: Mapping[str, Sequence[int]], colours: Mapping[str, str], title: str,
                  x_label: str = "pixel value (0-255)") -> str:
    """Overlaid 256-bin histograms as shares of each series' pixels (so splits of any size compare),
    drawn as step lines over a light area. `series` maps a legend name to its counts."""
    plot_w, plot_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    shares = {}
    for name, counts in series.items():
        c = np.asarray(counts, dtype=np.float64)
        total = c.sum()
        if total > 0:
            shares[name] = c / total
    top = max((float(s.max()) for s in shares.values()), default=0.0) or 1.0
    parts = [f'<svg class="plot" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}">',
             f'<text x="{PAD_L}" y="17" class="ptitle">{escape(title)}</text>']
    for frac in (0.0, 0.5, 1.0):   # grid and y labels: share of pixels per bin, in percent
        y = PAD_T + plot_h * (1 - frac)
        parts.append(f'<line x1="{PAD_L}" y1="{_num(y)}" x2="{W - PAD_R}" y2="{_num(y)}" class="grid"/>')
        parts.append(f'<text x="{PAD_L - 4}" y="{_num(y + 4)}" class="ylab">{100 * top * frac:.3g}%</text>')
    for v in (0, 64, 128, 192, 255):
        x = PAD_L + plot_w * v / 255
        parts.append(f'<text x="{_num(x)}" y="{H - PAD_B + 14}" class="xlab">{v}</text>')
    parts.append(f'<text x="{PAD_L + plot_w / 2:.0f}" y="{H - 3}" class="xlab">{escape(x_label)}</text>')
    for name, s in shares.items():
        n = len(s)
        edges = np.repeat(np.arange(n + 1), 2)[1:-1]            # step: each bin is a flat segment
        xs = PAD_L + plot_w * edges / n
        ys = PAD_T + plot_h * (1 - np.repeat(s, 2) / top)
        colour = colours.get(name, "#333")
        area = _polyline(np.r_[xs[0], xs, xs[-1]], np.r_[PAD_T + plot_h, ys, PAD_T + plot_h])
        parts.append(f'<polygon points="{area}" fill="{colour}" fill-opacity="0.12" stroke="none"/>')
        parts.append(f'<polyline points="{_polyline(xs, ys)}" fill="none" stroke="{colour}" '
                     f'stroke-width="1.4"/>')
    parts.append(_legend([(name, colours.get(name, "#333")) for name in shares], W - PAD_R, 17))
    parts.append("</svg>")
    return "".join(parts)


def _legend(items: Sequence[tuple[str, str]], right: float, y: float) -> str:
    """Legend entries right-aligned on one line at the top of a plot."""
    out, x = [], right
    for name, colour in reversed(items):
        width = 16 + 8 * len(name)
        x -= width
        out.append(f'<rect x="{_num(x)}" y="{_num(y - 9)}" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{_num(x + 13)}" y="{_num(y)}" class="leg">{escape(name)}</text>')
        x -= 8
    return "".join(out)


def share_bars_svg(rows: Sequence[str], splits: Sequence[str], counts: Mapping[str, Mapping[str, int]],
                   colours: Mapping[str, str], title: str) -> str:
    """Horizontal bars: for each row (a class), its share of each split's images, one bar per split."""
    totals = {s: sum(counts.get(s, {}).values()) for s in splits}
    label_w, bar_h, gap = 160, 12, 8
    group_h = bar_h * len(splits) + gap
    height = 30 + group_h * len(rows) + 10
    plot_w = W - label_w - 60
    top = max((counts.get(s, {}).get(r, 0) / totals[s] for s in splits for r in rows if totals[s]),
              default=0.0) or 1.0
    parts = [f'<svg class="plot" viewBox="0 0 {W} {height}" role="img" aria-label="{escape(title)}">',
             f'<text x="4" y="15" class="ptitle">{escape(title)}</text>',
             _legend([(s, colours[s]) for s in splits], W - 6, 15)]
    for i, row in enumerate(rows):
        y0 = 30 + i * group_h
        name = row if len(row) <= 22 else row[:21] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{_num(y0 + group_h / 2 + 1)}" class="blab">'
                     f'<title>{escape(row)}</title>{escape(name)}</text>')
        for k, s in enumerate(splits):
            share = counts.get(s, {}).get(row, 0) / totals[s] if totals[s] else 0.0
            y = y0 + k * bar_h
            w = plot_w * share / top
            parts.append(f'<rect x="{label_w}" y="{y}" width="{_num(max(w, 0.5))}" height="{bar_h - 1}" '
                         f'fill="{colours[s]}"><title>{escape(s)}: {100 * share:.1f}%</title></rect>')
            parts.append(f'<text x="{_num(label_w + w + 4)}" y="{y + bar_h - 1}" class="bval">'
                         f'{100 * share:.1f}%</text>')
    parts.append("</svg>")
    return "".join(parts)
