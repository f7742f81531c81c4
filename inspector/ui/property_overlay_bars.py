"""Drawing of a categorical property (format, mode) in the property overlay: grouped bars, one
per split and category, as the share of the split's images (the splits' histogram colours)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ..core.validation.overlay import CategoryDistribution
from .theme import split_color

GROUP_WIDTH = 0.8  # of one category's slot, shared by the splits' bars


def draw_category_bars(item: pg.PlotItem, dist: CategoryDistribution) -> dict[str, np.ndarray]:
    """Adds the bars to `item` and names the categories on its bottom axis; returns split ->
    the drawn % per category (dist.categories order)."""
    splits = [s for s in dist.counts if dist.counts[s].sum()]
    width = GROUP_WIDTH / max(1, len(splits))
    x = np.arange(len(dist.categories), dtype=np.float64)
    drawn = {}
    for k, split in enumerate(splits):
        percent = dist.shares(split) * 100.0
        colour = split_color(split, list(dist.counts).index(split))
        item.addItem(pg.BarGraphItem(x=x - GROUP_WIDTH / 2 + width * (k + 0.5), height=percent,
                                     width=width * 0.92, brush=colour, pen=pg.mkPen(colour.darker(130)),
                                     name=split))
        drawn[split] = percent
    item.getAxis("bottom").setTicks([[(i, name) for i, name in enumerate(dist.categories)]])
    item.setXRange(-0.5, len(dist.categories) - 0.5, padding=0.02)
    return drawn
