"""A small deterministic demo dataset, opened by the window when the user gives no folder.

Photo-like procedural images (gradients, filtered noise, shapes) in four classes, with planted
items that show what the tool finds: a blank sky that per-image standardization blows up, a dark
near-uniform frame, cross-split duplicates (one with a different label), broken files and a
skipped text file. ``MANIFEST`` lists them so tests and docs can check them. No Qt here.
"""
from __future__ import annotations

import copy
import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image, ImageFilter

DEMO_VERSION = 2
CLASSES = ("sky", "forest", "city", "night")
PER_CLASS = {"train": 30, "val": 7, "test": 7}

BLANK_SKY = "train/sky/blank_sky_tiny_cloud.png"
DARK_FRAME = "train/night/dark_night_frame.png"
RGBA_IMAGE = "train/sky/sky_004.png"
P_IMAGE = "train/city/city_006.png"

# (kind, source in train, copy, what was done). The exact copy lands in another class: a label conflict.
_DUPLICATES = (
    ("exact", "train/forest/forest_010.jpg", "test/city/city_copy_exact.jpg", "byte-identical copy, other class"),
    ("jpeg_q60", "train/city/city_013.jpg", "val/city/city_copy_q60.jpg", "re-encoded as JPEG quality 60"),
    ("half_size", "train/forest/forest_016.jpg", "test/forest/forest_copy_half.jpg", "resized to half size"),
    ("crop_3pct", "train/city/city_020.jpg", "val/city/city_copy_crop.jpg", "3% border cropped away"),
    ("brightness", "train/forest/forest_023.jpg", "test/forest/forest_copy_bright.jpg", "brightness +10%"),
)
TRUNCATED_JPEG = "val/city/broken_truncated.jpg"
HTML_AS_JPG = "val/forest/broken_html_page.jpg"
_BROKEN = {
    TRUNCATED_JPEG: "truncated JPEG (second half of the file missing)",
    HTML_AS_JPG: "HTML page saved as .jpg",
}
_SKIPPED = {"README.txt": "text file at the root, not an image"}

_README = """Dataset Inspector demo dataset (generated, version {v}).

Procedural images in four classes: sky, forest, city, night. Planted on purpose:
- {blank}: a blank sky with a tiny cloud; per-image standardization amplifies its noise.
- {dark}: a dark, near-uniform night frame.
- copies of train images in val/test (exact, JPEG q60, half size, 3% crop, +10% brightness);
  the exact copy sits in a different class (a label conflict).
- two broken files in val, and this README (skipped: not an image).
"""


@dataclass(frozen=True)
class _Item:
    path: str   # relative, POSIX
    cls: str
    fmt: str    # "JPEG" or "PNG"
    mode: str   # mode written to disk
    index: int  # global index: seeds the content


def _plan() -> list[_Item]:
    """The regular images; structure does not depend on the seed (so MANIFEST is a constant)."""
    sources = {d[1] for d in _DUPLICATES}
    items: list[_Item] = []
    k = 0
    for split, n in PER_CLASS.items():
        for cls in CLASSES:
            for i in range(n):
                # Names differ between splits: equal names would each be a name_collision finding.
                name = f"{cls}_{i:03d}" if split == "train" else f"{cls}_{split}_{i:03d}"
                stem = f"{split}/{cls}/{name}"
                fmt = "PNG" if k % 3 == 0 or stem + ".png" in (RGBA_IMAGE, P_IMAGE) else "JPEG"
                path = stem + (".png" if fmt == "PNG" else ".jpg")
                mode = "RGB"
                if path == RGBA_IMAGE:
                    mode = "RGBA"
                elif path == P_IMAGE:
                    mode = "P"
                elif k % 19 == 7 and path not in sources:  # a few greyscale files, JPEG and PNG
                    mode = "L"
                items.append(_Item(path, cls, fmt, mode, k))
                k += 1
    return items


_PLAN = _plan()
assert {d[1] for d in _DUPLICATES} <= {it.path for it in _PLAN if it.mode == "RGB"}
assert {RGBA_IMAGE, P_IMAGE} <= {it.path for it in _PLAN}


def _counts() -> dict[str, int]:
    """Decodable images per split (regular + planted; broken files and README excluded)."""
    out = {s: sum(1 for it in _PLAN if it.path.startswith(s + "/")) for s in PER_CLASS}
    out["train"] += 2  # blank sky, dark frame
    for d in _DUPLICATES:
        out[d[2].split("/")[0]] += 1
    return out


MANIFEST: dict[str, Any] = {
    "version": DEMO_VERSION,
    "classes": list(CLASSES),
    "images": _counts(),
    "blank_sky": BLANK_SKY,
    "dark_frame": DARK_FRAME,
    "duplicates": [
        {"kind": kind, "source": src, "copy": dst, "what": what,
         "label_conflict": src.split("/")[1] != dst.split("/")[1]}
        for kind, src, dst, what in _DUPLICATES
    ],
    "broken": dict(_BROKEN),
    "skipped": dict(_SKIPPED),
    "modes": {
        "RGBA": [RGBA_IMAGE],
        "P": [P_IMAGE],
        "L": [it.path for it in _PLAN if it.mode == "L"],
    },
}


def demo_manifest() -> dict[str, Any]:
    """A copy of MANIFEST: the planted items (relative paths) and the expected image counts."""
    return copy.deepcopy(MANIFEST)


# ---------------------------------------------------------------- procedural content

def _smooth(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Value noise: a cells x cells random grid upsampled bicubically to h x w (about N(0, 1))."""
    small = rng.standard_normal((cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(small, "F").resize((w, h), Image.Resampling.BICUBIC))


def _fbm(rng: np.random.Generator, h: int, w: int, octaves: int = 4, base: int = 3) -> np.ndarray:
    """Fractal noise: octaves of value noise, each twice as fine and half as strong."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        out += amp * _smooth(rng, h, w, base * 2**o)
        total += amp
        amp *= 0.5
    return out / total


def _vgrad(h: int, w: int, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    return np.broadcast_to(top * (1 - t) + bottom * t, (h, w, 3)).astype(np.float32)


def _sky(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    top = np.array([rng.uniform(30, 90), rng.uniform(100, 150), rng.uniform(195, 240)], np.float32)
    bottom = np.array([rng.uniform(165, 210), rng.uniform(195, 225), rng.uniform(230, 250)], np.float32)
    img = _vgrad(h, w, top, bottom).copy()
    cover = rng.uniform(0.0, 0.6)  # from clear to cloudy
    clouds = np.clip((_fbm(rng, h, w, 5, 2) * 1.8 + cover - 0.3) * 1.5, 0, 1)[..., None]
    shade = 235 - 40 * np.clip(_fbm(rng, h, w, 3, 4), 0, 1)[..., None]
    return img * (1 - clouds) + shade * clouds


def _forest(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    leaf = np.array([rng.uniform(30, 70), rng.uniform(70, 120), rng.uniform(20, 50)], np.float32)
    shared = _fbm(rng, h, w, 5, 6)  # foliage: one texture for all channels, slight per-channel tint
    img = np.empty((h, w, 3), np.float32)
    for c in range(3):
        img[..., c] = leaf[c] * (1 + 0.5 * shared + 0.12 * _fbm(rng, h, w, 3, 4))
    light = _fbm(rng, h, w, 3, 2)[..., None]
    img *= 1 + 0.35 * light
    for _ in range(int(rng.integers(3, 8))):  # tree trunks
        x, tw = int(rng.integers(0, w)), int(rng.integers(3, max(4, w // 12)))
        img[:, x:x + tw] = np.array([60, 45, 30], np.float32) * rng.uniform(0.6, 1.2)
    ground = int(h * rng.uniform(0.75, 0.9))
    img[ground:] = img[ground:] * 0.5 + np.array([70, 55, 35], np.float32) * 0.5
    return img


def _city(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    top = np.array([rng.uniform(90, 160), rng.uniform(100, 150), rng.uniform(120, 200)], np.float32)
    bottom = np.array([rng.uniform(200, 250), rng.uniform(140, 190), rng.uniform(90, 140)], np.float32)
    img = _vgrad(h, w, top, bottom).copy()
    x = 0
    while x < w:  # buildings with lit windows
        bw, bh = int(rng.integers(w // 10, w // 4)), int(rng.integers(h // 4, int(h * 0.85)))
        grey = rng.uniform(40, 130)
        img[h - bh:, x:x + bw] = np.array([grey, grey * 0.97, grey * 1.05], np.float32)
        for wy in range(h - bh + 4, h - 4, 7):
            for wx in range(x + 3, x + bw - 4, 6):
                if rng.random() < 0.45:
                    img[wy:wy + 3, wx:wx + 3] = (230, 200, 120)
        x += bw + int(rng.integers(0, 4))
    return img * (1 + 0.08 * _fbm(rng, h, w, 4, 8)[..., None])


def _night(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    top = np.array([rng.uniform(2, 10), rng.uniform(4, 14), rng.uniform(15, 40)], np.float32)
    bottom = np.array([rng.uniform(15, 40), rng.uniform(15, 35), rng.uniform(30, 60)], np.float32)
    img = _vgrad(h, w, top, bottom).copy()
    n = int(rng.integers(20, 80))
    ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
    img[ys, xs] = rng.uniform(120, 255, (n, 1))  # stars
    if rng.random() < 0.6:  # moon
        cy, cx, r = rng.uniform(0.1, 0.5) * h, rng.uniform(0.1, 0.9) * w, rng.uniform(5, 14)
        yy, xx = np.mgrid[0:h, 0:w]
        d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        img += (np.clip(r + 1 - d, 0, 1) * 200)[..., None]
    img += 6 * _fbm(rng, h, w, 3, 3)[..., None]
    return img


_DRAW: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "sky": _sky, "forest": _forest, "city": _city, "night": _night,
}


def _finish(rng: np.random.Generator, img: np.ndarray, noise: float = 2.0, blur: float = 0.6) -> Image.Image:
    """Sensor noise + a slight lens blur, then 8-bit: what makes it look like a photo, not a drawing."""
    img = img + noise * rng.standard_normal(img.shape, dtype=np.float32)
    out = Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8), "RGB")
    return out.filter(ImageFilter.GaussianBlur(blur)) if blur else out


def _render(item: _Item, seed: int) -> Image.Image:
    rng = np.random.default_rng([seed, item.index])
    w, h = int(rng.integers(96, 193)), int(rng.integers(96, 193))
    img = _finish(rng, _DRAW[item.cls](rng, h, w))
    if item.mode == "L":
        return img.convert("L")
    if item.mode == "RGBA":  # a vignette in alpha
        alpha = np.clip(255 - 120 * np.abs(np.linspace(-1, 1, w))[None, :].repeat(h, 0), 0, 255)
        img.putalpha(Image.fromarray(alpha.astype(np.uint8), "L"))
    elif item.mode == "P":
        img = img.quantize(64, dither=Image.Dither.NONE)
    return img


def _blank_sky(seed: int) -> Image.Image:
    """Uniform sky blue, very mild noise, one small soft cloud: its std is tiny, so per-image
    standardization multiplies its noise by a large factor."""
    rng = np.random.default_rng([seed, 1_000_001])
    h, w = 120, 160
    img = np.full((h, w, 3), (118, 172, 232), np.float32) + rng.normal(0, 0.8, (h, w, 3)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    cloud = np.exp(-(((yy - 38) / 3.0) ** 2 + ((xx - 104) / 5.5) ** 2))[..., None]
    img = img * (1 - cloud) + 250 * cloud
    return Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8), "RGB")


def _dark_frame(seed: int) -> Image.Image:
    rng = np.random.default_rng([seed, 1_000_002])
    h, w = 96, 144
    img = np.full((h, w, 3), (6, 7, 12), np.float32) + rng.normal(0, 0.7, (h, w, 3)).astype(np.float32)
    return Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8), "RGB")


def _save(img: Image.Image, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "JPEG":
        img.save(path, "JPEG", quality=90)
    else:
        img.save(path, "PNG", compress_level=1)  # noisy pixels barely compress; level 6 costs 5x the time


def _copies(dest: Path) -> None:
    """Derive the planted duplicates from the train files as written (so they are real copies)."""
    for kind, src, dst, _ in _DUPLICATES:
        s, d = dest / src, dest / dst
        d.parent.mkdir(parents=True, exist_ok=True)
        if kind == "exact":
            shutil.copyfile(s, d)
            continue
        with Image.open(s) as im:
            img = im.convert("RGB")
        w, h = img.size
        if kind == "half_size":
            img = img.resize((w // 2, h // 2), Image.Resampling.LANCZOS)
        elif kind == "crop_3pct":
            bx, by = round(w * 0.03), round(h * 0.03)
            img = img.crop((bx, by, w - bx, h - by))
        elif kind == "brightness":
            arr = np.asarray(img, np.float32) * 1.10
            img = Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "RGB")
        img.save(d, "JPEG", quality=60 if kind == "jpeg_q60" else 90)


def make_demo_dataset(dest: str | os.PathLike[str], seed: int = 0) -> Path:
    """Write the demo dataset into ``dest`` (created if needed) and return it as a Path.

    Same seed, same bytes: every random draw comes from a generator seeded by (seed, item).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for item in _PLAN:
        _save(_render(item, seed), dest / item.path, item.fmt)
    _save(_blank_sky(seed), dest / BLANK_SKY, "PNG")
    _save(_dark_frame(seed), dest / DARK_FRAME, "PNG")
    _copies(dest)

    buf = io.BytesIO()
    _render(_Item("x", "forest", "JPEG", "RGB", 999_999), seed).save(buf, "JPEG", quality=90)
    (dest / TRUNCATED_JPEG).write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (dest / HTML_AS_JPG).write_bytes(
        b"<!DOCTYPE html>\n<html><head><title>Access denied</title></head>\n"
        b"<body><p>You need to sign in to download this image.</p></body></html>\n")
    (dest / "README.txt").write_text(_README.format(v=DEMO_VERSION, blank=BLANK_SKY, dark=DARK_FRAME),
                                     encoding="utf-8")
    return dest


def default_demo_dir(seed: int = 0) -> Path:
    """The per-user demo folder ($XDG_CACHE_HOME or ~/.cache, then dataset-inspector/demo-v2).

    Built when missing, in a temporary folder beside it and renamed into place, so a crash or a
    second process never leaves (or sees) a half-written demo.
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"  # the XDG spec ignores relative paths
    target = base / "dataset-inspector" / f"demo-v{DEMO_VERSION}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".demo-v{DEMO_VERSION}-", dir=target.parent))
    try:
        make_demo_dataset(tmp, seed)
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; match an ordinary folder
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():  # another process winning the race is fine; anything else is not
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
