"""Files built to hurt a scanner (generated, so nothing large lives in the repository)."""
from __future__ import annotations

import io
import struct
from pathlib import Path

from PIL import Image


def _scans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each SOS segment with its entropy-coded data, in a baseline Pillow JPEG."""
    out, i = [], 2
    while i < len(data) and data[i + 1] != 0xD9:
        marker = data[i + 1]
        j = i + 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker == 0xDA:  # entropy data runs to the next marker that is not a stuffed 0xFF00
            while not (data[j] == 0xFF and data[j + 1] != 0x00):
                j += 1
            out.append((i, j))
        i = j
    return out


def slow_progressive_jpeg(path: Path, side: int = 2048, repeats: int = 20000) -> Path:
    """A flat grey progressive JPEG whose smallest AC scan is repeated ``repeats`` times: each
    scan is a dozen bytes, yet the decoder walks every block of the image once per scan, so the
    default (2048 px, 20,000 scans, about 240 KB) takes tens of seconds to decode."""
    buf = io.BytesIO()
    Image.new("L", (side, side), 128).save(buf, "JPEG", progressive=True, quality=90)
    data = buf.getvalue()
    ac = [(s, e) for s, e in _scans(data) if data[s + 5 + 2 * data[s + 4]] > 0]  # Ss > 0
    s, e = min(ac, key=lambda se: se[1] - se[0])
    end = len(data) - 2  # the EOI marker
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[:end] + data[s:e] * repeats + data[end:])
    return path
