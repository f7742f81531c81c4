"""The strip under the normalization panels: dataset facts in groups (left), the
recommendation (right) and the "Show most amplified image" button. Renders a ``DatasetContext``."""
from __future__ import annotations

import html
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QFrame, QGroupBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from ..app.normalization import DatasetContext
from .theme import warn_color


def fmt_amp(value: float) -> str:
    return f"{value:,.0f}×" if value >= 100 else f"{value:.1f}×"  # the × of the image list and preview


def _rich_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    return label


class DatasetSummary(QScrollArea):
    """Scrolls instead of being clipped when the window is small; ``strip`` is its contents."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        strip = QWidget(self)
        lay = QHBoxLayout(strip)
        lay.setContentsMargins(0, 4, 0, 0)

        box = QGroupBox("Dataset summary", strip)
        bl = QVBoxLayout(box)
        bl.setSpacing(4)
        self.intro = _rich_label(box)
        bl.addWidget(self.intro)
        groups = QHBoxLayout()
        groups.setSpacing(14)
        self.groups = [_rich_label(box) for _ in _FACT_GROUPS[1:]]
        for label in self.groups:
            groups.addWidget(label, 1)
        bl.addLayout(groups)
        bl.addStretch(1)
        button_row = QHBoxLayout()
        self.most_amplified_button = QPushButton("Show most amplified image", box)
        self.most_amplified_button.setToolTip("Show the image that per-image standardization stretches most")
        button_row.addWidget(self.most_amplified_button)
        button_row.addStretch(1)
        bl.addLayout(button_row)
        lay.addWidget(box, 3)

        rbox = QGroupBox("Recommendation", strip)
        rl = QVBoxLayout(rbox)
        self.recommendation_label = _rich_label(rbox)
        rl.addWidget(self.recommendation_label)
        rl.addStretch(1)
        lay.addWidget(rbox, 2)
        self.setWidget(strip)
        self.strip = strip

    def show_context(self, ctx: DatasetContext | None) -> None:
        self.setVisible(ctx is not None)
        amp = ctx.amplification if ctx is not None else None
        has_most = amp is not None and amp.most_amplified_index is not None
        self.most_amplified_button.setEnabled(has_most)
        self.most_amplified_button.setText("Show most amplified image")
        for label in self.groups:
            label.setText("")
        if ctx is None:
            self.intro.setText("")
            self.recommendation_label.setText("")
            return
        e = html.escape
        head = f"<i>{e(ctx.note)}</i> " if ctx.note else ""
        if not ctx.ok:
            self.intro.setText(head + f'<span style="color:{warn_color()};">{e(ctx.error)}</span>')
            self.recommendation_label.setText("No recommendation without source statistics.")
            return
        rec = ctx.recommendation
        src = " + ".join(ctx.sources)
        grouped: list[list[tuple[str, str]]] = [[] for _ in _FACT_GROUPS]
        for key, value in rec.facts.items():
            index = max(i for i, (_, match) in enumerate(_FACT_GROUPS) if match(key))
            grouped[index].append((key, value))
        general = " \u00b7 ".join(f"{e(k)} <b>{e(v)}</b>" for k, v in grouped[0])
        self.intro.setText(
            head + general + "<br>"
            f"Amplification = {e(src)} std / image std (max over channels), over all {amp.n_images:,} images. "
            f"Below-zero shares are exact, over every pixel of {e(src)}; per-image standardization puts "
            "about half of each image below zero by construction.")
        for label, (title, _), facts in zip(self.groups, _FACT_GROUPS[1:], grouped[1:]):
            rows = "".join(f"<tr><td style='white-space:nowrap'>{e(k)}&nbsp;</td><td align='right' style='white-space:nowrap'><b>{e(v)}</b></td></tr>"
                           for k, v in facts)
            label.setText(f"<b>{e(title)}</b><table cellspacing='0' cellpadding='1'>{rows}</table>")
        if has_most:
            path = ctx.result.images.paths[amp.most_amplified_index]
            # The path goes in the tooltip: a long one must not widen the window (see wrap.breakable).
            self.most_amplified_button.setText(f"Show most amplified image ({fmt_amp(amp.max)})")
            self.most_amplified_button.setToolTip(f"{path}: per-image standardization stretches it most")
        warned = set(rec.warnings)
        parts = []
        for sentence in _split_sentences(rec.text, rec.warnings):
            style = f' style="color:{warn_color()};"' if sentence in warned else ""
            parts.append(f"<p{style}>{e(sentence)}</p>")
        self.recommendation_label.setText("".join(parts))

    def text(self, ctx: DatasetContext | None) -> str:
        """Plain text of the summary (intro and every fact), for tests and copying."""
        doc = QTextDocument()
        doc.setHtml(self.intro.text())
        lines = [doc.toPlainText()]
        if ctx is not None and ctx.recommendation is not None:
            lines += [f"{k}: {v}" for k, v in ctx.recommendation.facts.items()]
        return "\n".join(lines)


_FACT_GROUPS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("", lambda k: True),  # general facts: one line above the columns
    ("Per-image amplification", lambda k: "amplif" in k.lower()),
    ("Brightness between images", lambda k: "luminance" in k.lower() or "variance" in k.lower()),
    ("Input values below zero", lambda k: k.lower().startswith("below zero")),
)
"""Groups of the dataset summary (``Recommendation.facts`` keys); a fact goes to the last group that
matches. The first group is one line of text, the others are columns."""



def _split_sentences(text: str, warnings: tuple[str, ...]) -> list[str]:
    """Split ``Recommendation.text`` into its warning sentences (kept whole) and the rest."""
    pieces: list[str] = []
    rest = text
    for w in warnings:
        before, found, after = rest.partition(w)
        if not found:
            continue
        if before.strip():
            pieces.append(before.strip())
        pieces.append(w)
        rest = after
    if rest.strip():
        pieces.append(rest.strip())
    return pieces
