"""The edits of the held-out leakage benchmark (scripts/bench_heldout.py), written apart from the
edit-family benchmark (scripts/leakage_families.py) so that one does not shape the other.

Each family is a function (image, rng) -> (image, params); the params say what was drawn, so a
miss can be read off. The encoding a copy is saved with is part of its params ("save"). Families
cover the edits issue 10 lists as "Must work": another size or aspect ratio, padding to a square,
off-centre crops and shifts, small turns (cropped or with corners filled), colour and tone grades,
greyscale, text, blur / denoise / sharpen, re-encoding, mirrors, and two of them combined.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

Edit = Callable[[Image.Image, np.random.Generator], tuple[Image.Image, dict]]

FONT_FILES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
              "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
              "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")
WORDS = ("SAMPLE", "© Stock Photo", "photo by J. Doe", "DRAFT", "www.example.com", "2019-07-14",
         "PREVIEW", "Holiday 2021", "do not copy", "IMG_4821")


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _either(rng: np.random.Generator, low: tuple[float, float], high: tuple[float, float]) -> float:
    """A factor drawn below or above 1 with equal chance (weaker and stronger grades)."""
    return _u(rng, *low) if rng.random() < 0.5 else _u(rng, *high)


def _font(rng: np.random.Generator, size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    files = [f for f in FONT_FILES if Path(f).exists()]
    if files:
        return ImageFont.truetype(files[int(rng.integers(len(files)))], size)
    return ImageFont.load_default(size=size)


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    kind = rng.random()
    if kind < 0.35:
        return (0, 0, 0)
    if kind < 0.55:
        return (255, 255, 255)
    return tuple(int(v) for v in rng.integers(0, 256, 3))


# ---- geometry -------------------------------------------------------------------------------

def resize(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """Re-exported at another size, sometimes another aspect ratio."""
    s = _either(rng, (0.3, 0.8), (1.15, 1.6))
    aspect = 1.0 if rng.random() < 0.5 else _u(rng, 0.82, 1.22)
    w = max(16, round(im.width * s * math.sqrt(aspect)))
    h = max(16, round(im.height * s / math.sqrt(aspect)))
    method = [Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.LANCZOS,
              Image.Resampling.BOX][int(rng.integers(4))]
    return im.resize((w, h), method), {"scale": round(s, 3), "aspect": round(aspect, 3),
                                       "size": [w, h], "method": int(method)}


def pad_square(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """Letterboxed / pillarboxed to a square with a uniform colour, sometimes off-centre, often resized."""
    side = max(im.size)
    extra = int(side * _u(rng, 0.0, 0.08)) if rng.random() < 0.3 else 0
    if (side + extra - min(im.size)) < 0.1 * (side + extra):   # a near-square photo: bars still show
        extra = int(side * _u(rng, 0.12, 0.3))
    side += extra
    colour = _colour(rng)
    out = Image.new("RGB", (side, side), colour)
    centred = rng.random() < 0.7
    fx = 0.5 if centred else _u(rng, 0.0, 1.0)
    fy = 0.5 if centred else _u(rng, 0.0, 1.0)
    out.paste(im, (round((side - im.width) * fx), round((side - im.height) * fy)))
    target = side if rng.random() < 0.4 else int(rng.choice([224, 256, 320, 384, 512]))
    if target != side:
        out = out.resize((target, target), Image.Resampling.BICUBIC)
    return out, {"colour": list(colour), "centred": centred, "extra": extra, "side": target}


def crop_off_centre(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """An off-centre crop: 4-15% cut from one or two adjacent sides (random), the rest kept."""
    w, h = im.size
    sides = {"left": 0.0, "top": 0.0, "right": 0.0, "bottom": 0.0}
    horizontal = ["left", "right"][int(rng.integers(2))]
    vertical = ["top", "bottom"][int(rng.integers(2))]
    pick = int(rng.integers(3))
    if pick in (0, 2):
        sides[horizontal] = _u(rng, 0.04, 0.15)
    if pick in (1, 2):
        sides[vertical] = _u(rng, 0.04, 0.15)
    box = (round(w * sides["left"]), round(h * sides["top"]),
           w - round(w * sides["right"]), h - round(h * sides["bottom"]))
    out = im.crop(box)
    if rng.random() < 0.4:
        out = out.resize((w, h), Image.Resampling.BICUBIC)   # re-exported at the old size
    return out, {k: round(v, 3) for k, v in sides.items() if v} | {"resized_back": out.size == (w, h)}


def shift(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """Content shifted by 4-15% of a side (as a translate augmentation), the gap filled."""
    w, h = im.size
    dx = round(w * _u(rng, 0.04, 0.15) * rng.choice([-1, 1])) if rng.random() < 0.7 else 0
    dy = round(h * _u(rng, 0.04, 0.15) * rng.choice([-1, 1])) if (dx == 0 or rng.random() < 0.4) else 0
    fill = "edge" if rng.random() < 0.3 else _colour(rng)
    a = np.asarray(im.convert("RGB"))
    if fill == "edge":
        src_x = np.clip(np.arange(w) - dx, 0, w - 1)
        src_y = np.clip(np.arange(h) - dy, 0, h - 1)
        out = Image.fromarray(a[src_y][:, src_x])
    else:
        out = Image.new("RGB", (w, h), fill)
        out.paste(im, (dx, dy))
    return out, {"dx": dx, "dy": dy, "fill": fill if fill == "edge" else list(fill)}


def _inner_box(w: int, h: int, degrees: float) -> tuple[int, int, int, int]:
    """The largest axis-aligned rectangle of the original's aspect inside the turned image."""
    t = math.radians(abs(degrees))
    c, s = math.cos(t), math.sin(t)
    k = min(w / (w * c + h * s), h / (w * s + h * c))
    cw, ch = w * k, h * k
    return (round((w - cw) / 2), round((h - ch) / 2), round((w + cw) / 2), round((h + ch) / 2))


def rotate_crop(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """Turned 1-6 degrees either way and cropped to the inner rectangle (a straightened horizon)."""
    deg = _u(rng, 1.0, 6.0) * float(rng.choice([-1, 1]))
    out = im.rotate(deg, Image.Resampling.BICUBIC)
    out = out.crop(_inner_box(im.width, im.height, deg))
    resized = rng.random() < 0.5
    if resized:
        out = out.resize(im.size, Image.Resampling.BICUBIC)
    return out, {"degrees": round(deg, 2), "resized_back": resized}


def rotate_fill(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """Turned 1-5 degrees either way without a crop: the corners filled with a uniform colour."""
    deg = _u(rng, 1.0, 5.0) * float(rng.choice([-1, 1]))
    fill = _colour(rng)
    expand = rng.random() < 0.5
    out = im.convert("RGB").rotate(deg, Image.Resampling.BILINEAR, expand=expand, fillcolor=fill)
    return out, {"degrees": round(deg, 2), "fill": list(fill), "expand": expand}


def mirror(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """Mirrored left-right and re-encoded (JPEG or WebP, sometimes resized)."""
    out = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    s = 1.0 if rng.random() < 0.6 else _u(rng, 0.6, 0.9)
    if s != 1.0:
        out = out.resize((round(im.width * s), round(im.height * s)), Image.Resampling.BICUBIC)
    fmt = "JPEG" if rng.random() < 0.6 else "WEBP"
    q = int(rng.integers(55, 92))
    return out, {"scale": round(s, 3), "save": [fmt, q]}


# ---- colour and tone ------------------------------------------------------------------------

def saturation(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    f = _either(rng, (0.25, 0.7), (1.4, 2.2))
    return ImageEnhance.Color(im).enhance(f), {"factor": round(f, 3)}


def gamma(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    g = _either(rng, (0.5, 0.8), (1.25, 1.9))
    lut = [round(255 * (v / 255) ** g) for v in range(256)] * 3
    return im.convert("RGB").point(lut), {"gamma": round(g, 3)}


def white_balance(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """Per-channel gains of a warmer or cooler white balance (clipped like a camera's)."""
    warm = rng.random() < 0.5
    t = _u(rng, 0.08, 0.25)
    gains = np.array([1 + t, 1 + t * _u(rng, -0.2, 0.3), 1 - t]) if warm else \
        np.array([1 - t, 1 + t * _u(rng, -0.2, 0.3), 1 + t])
    a = np.asarray(im.convert("RGB"), np.float64) * gains
    out = Image.fromarray(np.clip(np.round(a), 0, 255).astype(np.uint8))
    return out, {"warm": warm, "gains": [round(float(g), 3) for g in gains]}


def contrast(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    c = _either(rng, (0.55, 0.8), (1.25, 1.7))
    out = ImageEnhance.Contrast(im).enhance(c)
    b = 1.0 if rng.random() < 0.5 else _u(rng, 0.85, 1.15)
    if b != 1.0:
        out = ImageEnhance.Brightness(out).enhance(b)
    return out, {"contrast": round(c, 3), "brightness": round(b, 3)}


def greyscale(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """Saved as greyscale: an L file, or RGB with grey pixels; luma weights vary (tools differ)."""
    a = np.asarray(im.convert("RGB"), np.float64)
    w = np.array([0.299, 0.587, 0.114]) if rng.random() < 0.5 else rng.dirichlet([3, 5, 1.5])
    y = np.clip(np.round(a @ w), 0, 255).astype(np.uint8)
    as_l = rng.random() < 0.6
    out = Image.fromarray(y, "L") if as_l else Image.fromarray(np.repeat(y[..., None], 3, 2))
    return out, {"weights": [round(float(v), 3) for v in w], "mode": "L" if as_l else "RGB"}


# ---- overlays and filters -------------------------------------------------------------------

def text(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """A watermark across the picture, a caption bar along an edge, or a corner stamp."""
    out = im.convert("RGB")
    w, h = out.size
    word = WORDS[int(rng.integers(len(WORDS)))]
    kind = ["watermark", "caption", "corner"][int(rng.integers(3))]
    if kind == "watermark":
        size = max(12, int(w * _u(rng, 0.08, 0.16)))
        font = _font(rng, size)
        layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
        d = ImageDraw.Draw(layer)
        alpha = int(rng.integers(70, 170))
        col = (255, 255, 255, alpha) if rng.random() < 0.7 else (0, 0, 0, alpha)
        l, t, r, b = d.textbbox((0, 0), word, font=font)
        d.text(((w - (r - l)) / 2 + _u(rng, -0.1, 0.1) * w, (h - (b - t)) / 2 + _u(rng, -0.2, 0.2) * h),
               word, font=font, fill=col)
        if rng.random() < 0.5:
            layer = layer.rotate(_u(rng, -35, 35), Image.Resampling.BICUBIC)
        out = Image.alpha_composite(out.convert("RGBA"), layer).convert("RGB")
        return out, {"kind": kind, "text": word, "size": size, "alpha": alpha}
    size = max(10, int(h * _u(rng, 0.05, 0.09)))
    font = _font(rng, size)
    d = ImageDraw.Draw(out)
    l, t, r, b = d.textbbox((0, 0), word, font=font)
    if kind == "caption":
        bar = int((b - t) * _u(rng, 1.4, 2.0))
        top = rng.random() < 0.3
        y0 = 0 if top else h - bar
        d.rectangle((0, y0, w, y0 + bar), fill=_colour(rng))
        d.text((int(w * _u(rng, 0.03, 0.4)), y0 + (bar - (b - t)) / 2 - t), word, font=font,
               fill=(255, 255, 255) if rng.random() < 0.5 else (0, 0, 0))
        return out, {"kind": kind, "text": word, "size": size, "bar": bar, "top": top}
    x = int(w * 0.03) if rng.random() < 0.5 else w - (r - l) - int(w * 0.03)
    y = int(h * 0.03) if rng.random() < 0.4 else h - (b - t) - int(h * 0.05)
    d.text((x, y), word, font=font, fill=(255, 255, 255) if rng.random() < 0.6 else (255, 230, 0),
           stroke_width=1, stroke_fill=(0, 0, 0))
    return out, {"kind": kind, "text": word, "size": size}


def blur(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    r = _u(rng, 0.8, 2.5)
    box = rng.random() < 0.3
    f = ImageFilter.BoxBlur(r) if box else ImageFilter.GaussianBlur(r)
    return im.filter(f), {"radius": round(r, 2), "box": box}


def denoise(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """A median filter or a smoothing one, as noise reduction does."""
    kind = ["median3", "median5", "smooth_more", "mode3"][int(rng.integers(4))]
    f = {"median3": ImageFilter.MedianFilter(3), "median5": ImageFilter.MedianFilter(5),
         "smooth_more": ImageFilter.SMOOTH_MORE, "mode3": ImageFilter.ModeFilter(3)}[kind]
    return im.filter(f), {"filter": kind}


def sharpen(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    r = _u(rng, 0.8, 3.0)
    p = int(rng.integers(80, 250))
    return im.filter(ImageFilter.UnsharpMask(r, p, int(rng.integers(0, 4)))), {"radius": round(r, 2), "percent": p}


# ---- encodings ------------------------------------------------------------------------------

def jpeg(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    return im, {"save": ["JPEG", int(rng.integers(25, 75))]}


def webp(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    return im, {"save": ["WEBP", int(rng.integers(15, 85))]}


def png(im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """PNG, sometimes quantized to a palette (as size-optimising tools do)."""
    if rng.random() < 0.5:
        colours = int(rng.integers(64, 256))
        return im.convert("RGB").quantize(colours, dither=Image.Dither.FLOYDSTEINBERG), \
            {"save": ["PNG", 0], "palette": colours}
    return im, {"save": ["PNG", 0]}


FAMILIES: dict[str, Edit] = {
    "resize": resize, "pad": pad_square, "crop_off_centre": crop_off_centre, "shift": shift,
    "rotate_crop": rotate_crop, "rotate_fill": rotate_fill, "saturation": saturation,
    "gamma": gamma, "white_balance": white_balance, "contrast": contrast, "greyscale": greyscale,
    "text": text, "blur": blur, "denoise": denoise, "sharpen": sharpen, "jpeg": jpeg,
    "webp": webp, "png": png, "mirror": mirror,
}
# the order two combined edits are applied in: geometry, tone, filters, overlays, encoding
STAGE = {"resize": 0, "pad": 1, "crop_off_centre": 0, "shift": 1, "rotate_crop": 0,
         "rotate_fill": 1, "mirror": 0, "saturation": 2, "gamma": 2, "white_balance": 2,
         "contrast": 2, "greyscale": 3, "blur": 4, "denoise": 4, "sharpen": 4, "text": 5,
         "jpeg": 6, "webp": 6, "png": 6}
ENCODINGS = frozenset({"jpeg", "webp", "png"})
TURNS = frozenset({"rotate_crop", "rotate_fill"})


def combine_pair(rng: np.random.Generator) -> tuple[str, str]:
    """Two different families that can be applied one after the other, in stage order."""
    names = sorted(FAMILIES)
    while True:
        a, b = (names[int(i)] for i in rng.choice(len(names), 2, replace=False))
        if STAGE[a] == STAGE[b] and (a in ENCODINGS or STAGE[a] == 2):
            continue        # two encodings (one would be lost) or two grades of one kind
        if {a, b} & {"mirror"} and {a, b} & ENCODINGS:
            continue        # a mirror carries its own encoding
        if {a, b} <= TURNS:
            continue        # two turns add up to more than "a few degrees"
        return (a, b) if STAGE[a] <= STAGE[b] else (b, a)


def apply(names: tuple[str, ...], im: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, dict]:
    """Apply families in order; params per family, and the save spec of the last that set one."""
    params: dict = {}
    for n in names:
        im, p = FAMILIES[n](im, rng)
        params[n] = p
    return im, params


def save(im: Image.Image, path: Path, spec: tuple[str, int]) -> Path:
    """Write with the given (format, quality); the suffix follows the format."""
    fmt, q = spec
    path = path.with_suffix({"JPEG": ".jpg", "WEBP": ".webp", "PNG": ".png"}[fmt])
    if fmt in ("JPEG", "WEBP") and im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    if fmt == "JPEG":
        im.save(path, "JPEG", quality=q, subsampling=0 if q >= 90 else 2)
    elif fmt == "WEBP":
        im.save(path, "WEBP", quality=q, method=4)
    else:
        im.save(path, "PNG", compress_level=6)
    return path
