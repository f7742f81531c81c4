"""Edit families and hard negatives for the leakage benchmark (scripts/bench_leakage.py --families).

Every family is a function (image, rng) -> (edited image, short description of the parameters);
its parameters are drawn from `rng`, so each seed plants different copies. The negatives are
images that must never be reported as copies of anything: new crops right next to a corpus crop
(from the same source photo, not overlapping it), other shots of the same scene (shifted by a third
or more, zoomed), synthetic look-alike skies, walls and sunsets, and CIFAR-sized crowds of tiny crops.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

Edit = Callable[[Image.Image, np.random.Generator], tuple[Image.Image, str]]


def _encode(im: Image.Image, fmt: str, **kw) -> Image.Image:
    """The image as a loader reads it back after saving as `fmt` (JPEG, WEBP, PNG)."""
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out


def _jpeg(im: Image.Image, rng: np.random.Generator, lo: int = 70, hi: int = 95) -> tuple[Image.Image, int]:
    q = int(rng.integers(lo, hi + 1))
    return _encode(im.convert("RGB") if im.mode not in ("RGB", "L") else im, "JPEG", quality=q), q


def resized(im, rng):
    s, aspect = rng.uniform(0.3, 0.8), rng.uniform(0.85, 1.15)
    w, h = max(8, round(im.width * s * aspect)), max(8, round(im.height * s / aspect))
    out, q = _jpeg(im.resize((w, h), Image.LANCZOS), rng)
    return out, f"resized x{s:.2f}, aspect x{aspect:.2f}, JPEG q{q}"


def padded(im, rng):
    side = max(im.size)
    kind = rng.integers(0, 3)
    colour = ((0, 0, 0), (255, 255, 255), tuple(int(v) for v in rng.integers(0, 256, 3)))[kind]
    canvas = Image.new("RGB", (side, side), colour)
    canvas.paste(im, ((side - im.width) // 2, (side - im.height) // 2))
    if rng.random() < 0.5:
        return _encode(canvas, "PNG"), f"padded to a square, colour {colour}, PNG"
    out, q = _jpeg(canvas, rng, 85, 95)
    return out, f"padded to a square, colour {colour}, JPEG q{q}"


def off_centre_crop(im, rng):
    w, h = im.size
    cut = []
    for _ in range(2):
        total, share = rng.uniform(0.03, 0.15), rng.uniform(0.0, 1.0)
        cut.append((total * share, total * (1 - share)))
    (l, r), (t, b) = cut
    box = (round(w * l), round(h * t), w - round(w * r), h - round(h * b))
    out, q = _jpeg(im.crop(box), rng, 80, 95)
    return out, f"cropped l{l:.0%} r{r:.0%} t{t:.0%} b{b:.0%}, JPEG q{q}"


def rotated(im, rng):
    angle = rng.uniform(1.0, 5.0) * rng.choice([-1, 1])
    r = im.rotate(angle, Image.BICUBIC, expand=False)
    w, h = im.size
    m = np.sin(np.radians(abs(angle))) * 1.05     # crop the corners the rotation left empty
    box = (round(w * m * h / w), round(h * m * w / h), w - round(w * m * h / w), h - round(h * m * w / h))
    box = (min(box[0], w // 4), min(box[1], h // 4), max(box[2], 3 * w // 4), max(box[3], 3 * h // 4))
    out, q = _jpeg(r.crop(box), rng, 80, 95)
    return out, f"rotated {angle:.1f} deg and cropped, JPEG q{q}"


def saturation(im, rng):
    f = rng.choice([rng.uniform(0.2, 0.7), rng.uniform(1.3, 2.0)])
    out, q = _jpeg(ImageEnhance.Color(im).enhance(f), rng)
    return out, f"saturation x{f:.2f}, JPEG q{q}"


def gamma(im, rng):
    g = rng.choice([rng.uniform(0.55, 0.8), rng.uniform(1.25, 1.8)])
    lut = [min(255, round(255 * (v / 255) ** g)) for v in range(256)] * len(im.getbands())
    out, q = _jpeg(im.point(lut), rng)
    return out, f"gamma {g:.2f}, JPEG q{q}"


def white_balance(im, rng):
    gains = rng.uniform(0.75, 1.25, 3)
    a = np.asarray(im.convert("RGB"), np.float64) * gains
    out, q = _jpeg(Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8)), rng)
    return out, f"white balance gains {np.round(gains, 2).tolist()}, JPEG q{q}"


def contrast(im, rng):
    f = rng.choice([rng.uniform(0.55, 0.8), rng.uniform(1.25, 1.6)])
    out, q = _jpeg(ImageEnhance.Contrast(im).enhance(f), rng)
    return out, f"contrast x{f:.2f}, JPEG q{q}"


def greyscale(im, rng):
    g = im.convert("L")
    if rng.random() < 0.5:
        return _encode(g, "PNG"), "greyscale, PNG"
    out, q = _jpeg(g, rng)
    return out, f"greyscale, JPEG q{q}"


def _font(px: int):
    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf", px)
    except OSError:
        return ImageFont.load_default(size=px)


def _text_params(rng: np.random.Generator, w: int, h: int) -> tuple:
    """(words, px, watermark placement (x, y, alpha) or None for a caption band) drawn from rng."""
    px = max(8, round(h * rng.uniform(0.05, 0.12)))
    words = str(rng.choice(["(c) stock photo", "SAMPLE", "www.example.com", "Holiday 2019", "IMG_4421"]))
    if rng.random() < 0.5:   # a watermark over the picture, half transparent
        x, y = rng.uniform(0.02, 0.5) * w, rng.uniform(0.05, 0.85) * h
        return words, px, (x, y, int(rng.integers(110, 200)))
    return words, px, None   # a caption on a band along the bottom


def _lay_text(im: Image.Image, words: str, px: int, mark) -> tuple[Image.Image, str]:
    out = im.convert("RGB").copy()
    w, h = out.size
    if mark is not None:
        layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
        ImageDraw.Draw(layer).text(mark[:2], words, font=_font(px), fill=(255, 255, 255, mark[2]))
        return Image.alpha_composite(out.convert("RGBA"), layer).convert("RGB"), f"watermark '{words}' {px}px"
    d = ImageDraw.Draw(out)
    band = round(px * 1.5)
    d.rectangle((0, h - band, w, h), fill=(0, 0, 0))
    d.text((round(0.03 * w), h - band + px // 4), words, font=_font(px), fill=(255, 255, 255))
    return out, f"caption band '{words}' {band}px"


def text(im, rng):
    out, what = _lay_text(im, *_text_params(rng, *im.size))
    o, q = _jpeg(out, rng, 80, 95)
    return o, f"{what}, JPEG q{q}"


def same_text(ims: list[Image.Image], rng: np.random.Generator) -> list[Image.Image]:
    """Distinct pictures of one size under the same caption band or watermark (one stock site's, one
    camera's date stamp), each saved as JPEG: a negative, the text is all they share."""
    params = _text_params(rng, *ims[0].size)
    q = int(rng.integers(80, 96))
    return [_encode(_lay_text(im, *params)[0], "JPEG", quality=q) for im in ims]


def blur(im, rng):
    r = rng.uniform(0.8, 2.0)
    out, q = _jpeg(im.filter(ImageFilter.GaussianBlur(r)), rng)
    return out, f"Gaussian blur {r:.1f}px, JPEG q{q}"


def denoise(im, rng):
    k = int(rng.choice([3, 5]))
    out, q = _jpeg(im.filter(ImageFilter.MedianFilter(k)), rng)
    return out, f"median {k}x{k}, JPEG q{q}"


def sharpen(im, rng):
    r, pct = rng.uniform(1.0, 3.0), int(rng.integers(80, 220))
    out, q = _jpeg(im.filter(ImageFilter.UnsharpMask(r, pct, 2)), rng)
    return out, f"unsharp mask {r:.1f}px {pct}%, JPEG q{q}"


def jpeg(im, rng):
    out, q = _jpeg(im, rng, 25, 75)
    return out, f"JPEG q{q}"


def webp(im, rng):
    q = int(rng.integers(25, 80))
    return _encode(im, "WEBP", quality=q), f"WebP q{q}"


def png(im, rng):
    return _encode(im, "PNG"), "PNG re-save (lossless: an exact copy)"


def mirror(im, rng):
    out, q = _jpeg(ImageOps.mirror(im), rng, 60, 92)
    return out, f"mirrored, JPEG q{q}"


FAMILIES: dict[str, Edit] = {
    "resize": resized, "pad": padded, "crop_shift": off_centre_crop, "rotate": rotated,
    "saturation": saturation, "gamma": gamma, "white_balance": white_balance, "contrast": contrast,
    "greyscale": greyscale, "text": text, "blur": blur, "denoise": denoise, "sharpen": sharpen,
    "jpeg": jpeg, "webp": webp, "png": png, "mirror": mirror,
}
COMBINABLE = [k for k in FAMILIES if k not in ("png",)]
EXPECTED_KIND = {"png": "exact", "mirror": "mirror"}    # the rest: near (pairs with mirror: mirror)


def pair_of(rng: np.random.Generator) -> tuple[str, str]:
    a, b = rng.choice(len(COMBINABLE), 2, replace=False)
    return COMBINABLE[a], COMBINABLE[b]


def apply_pair(im: Image.Image, names: tuple[str, str], rng: np.random.Generator) -> tuple[Image.Image, str]:
    out, d1 = FAMILIES[names[0]](im, rng)
    out, d2 = FAMILIES[names[1]](out.convert("RGB") if out.mode != "L" else out, rng)
    return out, f"{d1}; then {d2}"


# ---------------------------------------------------------------------------------------------
# Negatives

def sky(rng: np.random.Generator, h: int = 300, w: int = 400) -> Image.Image:
    top = rng.uniform(60, 200, 3)
    bottom = top + rng.uniform(-40, 60, 3)
    y = np.linspace(0, 1, h)[:, None, None]
    a = top + (bottom - top) * y + np.zeros((h, w, 3)) + rng.normal(0, 1.5, (h, w, 3))
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    blob = np.exp(-(((np.arange(w) - cx) / 80.0) ** 2)[None, :] - (((np.arange(h) - cy) / 40.0) ** 2)[:, None])
    a += (blob * rng.uniform(0, 25))[..., None]
    return Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8))


def wall(rng: np.random.Generator, h: int = 300, w: int = 400) -> Image.Image:
    """A painted or plastered wall: one colour, soft shading, fine grain."""
    base = rng.uniform(80, 230, 3)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    shade = 1 + rng.uniform(-0.15, 0.15) * x + rng.uniform(-0.15, 0.15) * y
    grain = rng.normal(0, rng.uniform(1.0, 4.0), (h, w))
    blotch = np.asarray(Image.fromarray(rng.normal(0, 1, (h // 20, w // 20)).astype(np.float32)).resize((w, h), Image.BICUBIC))
    a = base * shade[..., None] + (grain + 3 * blotch)[..., None]
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def sunset(rng: np.random.Generator, h: int = 300, w: int = 400) -> Image.Image:
    """An orange-to-purple sky with a sun disc low over a dark horizon."""
    y = np.linspace(0, 1, h)[:, None, None]
    top, bottom = np.array([70, 40, 110]) + rng.uniform(-20, 20, 3), np.array([250, 150, 60]) + rng.uniform(-20, 5, 3)
    a = top + (bottom - top) * y ** rng.uniform(0.6, 1.6) + np.zeros((h, w, 3))
    cx, cy, r = rng.uniform(0.2, 0.8) * w, rng.uniform(0.55, 0.8) * h, rng.uniform(15, 35)
    yy, xx = np.mgrid[0:h, 0:w]
    a += (np.clip(1.2 - np.hypot(xx - cx, yy - cy) / r, 0, 1) * 80)[..., None]
    horizon = round(rng.uniform(0.8, 0.92) * h)
    a[horizon:] = a[horizon:] * 0.15
    a += rng.normal(0, 1.2, (h, w, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def load_source(sources_dir: Path | None, record: dict) -> Image.Image | None:
    """A corpus source photo from the corpus builder's cache, or None when it is not there."""
    if sources_dir is None:
        return None
    p = sources_dir / "extracted" / record["package"] / record["member"] if record.get("package") else None
    if p is None or not p.is_file():
        return None
    return Image.open(p).convert("RGB")


def neighbour_box(box, size, rng: np.random.Generator):
    """A box of the same size right next to `box` (left, right, above or below), inside `size`, or None."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    gap = int(rng.integers(0, 8))
    for side in rng.permutation(4):
        nx, ny = [(x0 - w - gap, y0), (x1 + gap, y0), (x0, y0 - h - gap), (x0, y1 + gap)][side]
        if nx >= 0 and ny >= 0 and nx + w <= size[0] and ny + h <= size[1]:
            return (nx, ny, nx + w, ny + h)
    return None


def other_shot_box(box, size, rng: np.random.Generator):
    """Another 'shot' of the scene: shifted by 35-60% of the crop on one axis, zoomed 0.85-1.2."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    z = rng.uniform(0.85, 1.2)
    nw, nh = round(w * z), round(h * z)
    for _ in range(8):
        dx, dy = rng.uniform(0.35, 0.6) * w * rng.choice([-1, 1]), rng.uniform(-0.2, 0.2) * h
        if rng.random() < 0.5:
            dx, dy = dy * w / h, dx * h / w
        nx, ny = round(x0 + dx), round(y0 + dy)
        if nx >= 0 and ny >= 0 and nx + nw <= size[0] and ny + nh <= size[1]:
            return (nx, ny, nx + nw, ny + nh)
    return None


# A negative made from a source photo may share at most this much of the smaller box with any
# corpus crop of that photo: an other shot shares up to 0.77 with the crop it was made from (a 35%
# shift at zoom 0.85), while a box lying wholly inside another crop of the photo (the corpus holds
# dozens of overlapping crops per photo) is that crop zoomed in, a copy rather than a distinct shot.
NEGATIVE_MAX_SHARE = 0.8


def shared_share(a, b) -> float:
    """The part of the smaller of boxes a, b that lies inside the other (0 to 1)."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / small if small > 0 else 0.0


def distinct_from(box, crops) -> bool:
    """Whether `box` shares at most NEGATIVE_MAX_SHARE of the smaller box with each of `crops` (the
    corpus crops of its source photo), so that it shows a distinct part of the photo."""
    return all(shared_share(box, c) <= NEGATIVE_MAX_SHARE for c in crops)


def iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua else 0.0


def overlapping(a, b, min_iou: float) -> bool:
    """Two crops of one photo that show mostly the same: IoU above min_iou, or the smaller one at
    least 80% inside the larger and at least 60% of its area (a zoomed-in crop)."""
    if iou(a, b) > min_iou:
        return True
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area_a, area_b = (a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])
    small, large = min(area_a, area_b), max(area_a, area_b)
    return small > 0 and ix * iy >= 0.8 * small and small >= 0.6 * large
