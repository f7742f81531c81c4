"""The export document (schema 1, DESIGN section 5), snippets for training libraries, atomic write."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import __version__
from . import json_stream
from .atomic import atomic_text_file
from .json_stream import StreamedRows
from .normalize import amplification
from .scan import ScanResult
from .stats import mean_std, to_256_bins, to_grid16
from .validation import class_balance, decoded_classes, extra_fields, flagged_images, image_quality

SCHEMA_VERSION = 1
TOOL_NAME = "dataset-inspector"
SNIPPET_LIBRARIES = ("torchvision", "albumentations", "timm", "huggingface", "keras")


class StatsSourceError(ValueError):
    """The requested normalization source splits do not exist or hold no pixels."""


def source_histogram(result: ScanResult, source_splits: Sequence[str]) -> np.ndarray:
    """Sum of the source splits' histograms on a common grid (exact)."""
    missing = [s for s in source_splits if s not in result.split_stats]
    if missing:
        raise StatsSourceError(f"no split named {', '.join(missing)} (splits: {', '.join(result.splits)})")
    hists = [result.split_stats[s].histogram for s in source_splits]
    if any(h.shape[1] == 65536 for h in hists):
        hists = [to_grid16(h) for h in hists]
    total = np.sum(hists, axis=0)
    if total[0].sum() == 0:
        raise StatsSourceError(f"split(s) {', '.join(source_splits)} hold no readable images")
    return total


def sixteen_bit_images(result: ScanResult, source_splits: Sequence[str]) -> tuple[int, int]:
    """(16-bit images, all decoded images) in the source splits."""
    stats = [result.split_stats[s] for s in source_splits]
    return sum(st.flags.get("16-bit", 0) for st in stats), sum(st.images for st in stats)


def normalization_stats(result: ScanResult, source_splits: Sequence[str]) -> tuple[list[float], list[float], int]:
    """Mean and std (0-1 scale, pixel-weighted, ddof=0) of the source splits, and the max pixel value.

    The 0-1 numbers hold for 8-bit and 16-bit images alike (k/255 = 257k/65535). The max pixel
    value is what the loaded arrays' 1.0 is: 65535 only when every source image is 16-bit, since
    albumentations and Keras would scale 8-bit arrays 257 times too small with it.
    """
    hist = source_histogram(result, source_splits)
    mean, std = mean_std(hist)
    sixteen, total = sixteen_bit_images(result, source_splits)
    return [float(x) for x in mean], [float(x) for x in std], 65535 if sixteen and sixteen == total else 255


def default_source(result: ScanResult) -> list[str]:
    """Train when there is one (the only leak-free choice), else the single split we have."""
    if "train" in result.splits:
        return ["train"]
    return [result.splits[0]]


SNIPPET_DIGITS = 8  # significant digits: float32 precision, so a pasted snippet reproduces the export


def _fmt(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:.{SNIPPET_DIGITS}g}" for v in values) + "]"


def snippets(mean: Sequence[float], std: Sequence[float], mode: str, max_pixel_value: int = 255,
             source: Sequence[str] = ("train",)) -> dict[str, str]:
    """Ready-to-paste code for each library, using the exported numbers (0-1 scale unless noted),
    written to float32 precision on each library's own scale (Keras: 0-255 and variance)."""
    m, s = _fmt(mean), _fmt(std)
    m255 = _fmt([v * max_pixel_value for v in mean])
    s255 = _fmt([v * max_pixel_value for v in std])
    src = "+".join(source)
    convert = f'.convert("{mode}")'
    return {
        "torchvision": (
            f"# mean/std of the {src} split(s), pixel-weighted, 0-1 scale (after ToTensor)\n"
            "from torchvision import transforms\n"
            "transform = transforms.Compose([\n"
            "    transforms.ToTensor(),\n"
            f"    transforms.Normalize(mean={m}, std={s}),\n"
            "])\n"
            f"# images are loaded with PIL.Image.open(path){convert}"
        ),
        "albumentations": (
            f"# mean/std of the {src} split(s); albumentations multiplies them by max_pixel_value\n"
            "import albumentations as A\n"
            f"transform = A.Normalize(mean={m}, std={s}, max_pixel_value={float(max_pixel_value)})"
        ),
        "timm": (
            f"# mean/std of the {src} split(s), 0-1 scale\n"
            "import timm\n"
            "from timm.data import resolve_data_config, create_transform\n"
            "model = timm.create_model('resnet50', pretrained=False)\n"
            "config = resolve_data_config({}, model=model)\n"
            f"config.update(mean=tuple({m}), std=tuple({s}))\n"
            "transform = create_transform(**config)"
        ),
        "huggingface": (
            f"# mean/std of the {src} split(s), 0-1 scale (image_mean / image_std of the processor)\n"
            "from transformers import AutoImageProcessor\n"
            "processor = AutoImageProcessor.from_pretrained(\n"
            f"    'google/vit-base-patch16-224', image_mean={m}, image_std={s})"
        ),
        "keras": (
            f"# mean/std of the {src} split(s) on the 0-255 scale; Keras takes the variance\n"
            "import keras\n"
            "normalize = keras.layers.Normalization(\n"
            f"    mean={m255},\n"
            f"    variance={_fmt([(v * max_pixel_value) ** 2 for v in std])})\n"
            f"# std on the 0-255 scale: {s255}"
        ),
    }


def _floats(values: Any) -> list[float | None]:
    out = []
    for v in np.asarray(values, dtype=float).ravel():
        out.append(None if math.isnan(v) else float(v))
    return out


def _clean01(values: Any) -> list[float]:
    """Channel values for the schema (0-1 numbers); an empty split reports zeros, not NaN."""
    return [0.0 if v is None else v for v in _floats(values)]


def split_document(result: ScanResult, name: str) -> dict:
    st = result.split_stats[name]
    return {
        "images": st.images, "failed": st.failed, "pixels": st.pixels,
        "mean": _clean01(st.mean), "std": _clean01(st.std),
        "min": _clean01(st.min), "max": _clean01(st.max),
        "histogram": [[int(c) for c in row] for row in to_256_bins(st.histogram)],
        "histogram_bits": st.depth,
        "percentiles": {k: _floats(v) for k, v in st.percentiles.items()},
        "mean_of_image_std": _clean01(st.mean_of_image_std),
        "mean_of_image_std_note": "average of per-image stds (what many snippets compute); NOT the dataset std",
        "sizes": st.sizes, "modes": st.modes, "formats": st.formats, "conversions": st.flags,
        "classes": result.classes.get(name, {}),
    }


def finding_document(f: Any) -> dict:
    return {"kind": f.kind, "severity": f.severity, "splits": list(f.splits), "paths": list(f.paths),
            "distance": None if f.distance is None else float(f.distance), "message": f.message,
            **extra_fields(f)}


def validation_document(result: ScanResult) -> dict:
    """balance, quality and quality_issues (DESIGN section 10)."""
    quality = image_quality(result)
    return {"balance": class_balance(decoded_classes(result)), "quality": quality.summary,
            "quality_issues": flagged_images(result.images, quality.scores, quality.flags)}


def _amplification(image_std: np.ndarray, dataset_std: Sequence[float]) -> np.ndarray:
    """train std / image std per channel; NaN (exported as null) where the dataset std is 0."""
    ds = np.asarray(dataset_std, dtype=float)
    usable = ds > 0
    out = np.full(image_std.shape, np.nan)
    if usable.any():
        out[:, usable] = amplification(image_std[:, usable], ds[usable])
    return out


def normalization_warnings(std: Sequence[float], mode: str,
                           sixteen_bit: tuple[int, int] = (0, 0), elsewhere: int = 0) -> list[str]:
    """Problems with the exported numbers: a zero std, and 16-bit images (`sixteen_bit`: 16-bit and
    all images of the source splits; `elsewhere`: 16-bit images in the other splits)."""
    channels = "RGB" if mode == "RGB" else "L"
    warnings = []
    flat = [channels[c] for c, v in enumerate(std) if v <= 0]
    if flat:
        warnings.append(f"std is 0 in channel(s) {', '.join(flat)}: every source pixel has the same value "
                        "there, so dividing by this std would give inf/NaN in training; check the source split")
    sixteen, total = sixteen_bit
    if not sixteen and elsewhere:
        are = "image outside the source splits is" if elsewhere == 1 else "images outside the source splits are"
        warnings.append(f"{elsewhere} {are} 16-bit: the statistics read them "
                        'as v/65535, while PIL\'s convert("RGB") in a default torchvision loader clips them to 255')
    if sixteen:
        mixed = (f"{sixteen} of {total} source images are 16-bit and the rest 8-bit; max_pixel_value 255 fits "
                 "the 8-bit ones only" if sixteen < total else ("the only source image is 16-bit" if total == 1 else f"all {total} source images are 16-bit"))
        warnings.append(f"{mixed}. The statistics read 16-bit pixels as v/65535; a loader must scale them "
                        'the same way: PIL\'s convert("RGB") clips them to 255 instead, and ToTensor() does '
                        "not divide 16-bit arrays by 65535")
    return warnings


def result_warnings(result: ScanResult, source_splits: Sequence[str], std: Sequence[float]) -> list[str]:
    """`normalization_warnings` for a scan exported with these source splits and their std."""
    in_source = sixteen_bit_images(result, source_splits)
    elsewhere = sixteen_bit_images(result, result.splits)[0] - in_source[0]
    return normalization_warnings(std, result.mode, in_source, elsewhere)


class ImageRows(StreamedRows):
    """The export's per-image records, made a block at a time when written (json_stream.dump):
    a million of them as dicts at once would take about a gigabyte."""

    def __init__(self, result: ScanResult, dataset_std: Sequence[float]) -> None:
        self.table = result.images
        self.dataset_std = list(dataset_std)

    def __len__(self) -> int:
        return len(self.table)

    def rows(self, lo: int, hi: int) -> list[dict]:
        t = self.table
        amp = _amplification(t.std[lo:hi], self.dataset_std)
        out = []
        for r, i in enumerate(range(lo, hi)):
            out.append({
                "path": t.paths[i], "split": t.split_of(i), "class": t.label_of(i),
                "width": int(t.width[i]), "height": int(t.height[i]),
                "mean": [float(v) for v in t.mean[i]], "std": [float(v) for v in t.std[i]],
                "amplification": _floats(amp[r]),
                "format": t.format_names[int(t.format[i])], "mode": t.mode_names[int(t.mode[i])],
                "bytes": int(t.nbytes[i]), "flags": t.flag_names(i),
            })
        return out


def images_document(result: ScanResult, dataset_std: Sequence[float]) -> ImageRows:
    """The per-image records (a sequence of dicts, made on demand)."""
    return ImageRows(result, dataset_std)


def cache_document(result: ScanResult) -> dict:
    """Items whose stored record was used, items decoded by this scan (all of them without a cache)."""
    cache = result.extra.get("cache") or {"used": 0, "rescanned": len(result.images) + len(result.failures)}
    return {"used": int(cache["used"]), "rescanned": int(cache["rescanned"])}


def unavailable_reason(result: ScanResult, source_splits: Sequence[str]) -> str | None:
    """Why the source splits give no mean/std (None when they do): they hold no decoded image."""
    stats = [result.split_stats[s] for s in source_splits]
    if any(st.pixels for st in stats):
        return None
    failed = sum(st.failed for st in stats)
    names = "+".join(source_splits)
    if failed:
        return (f"no normalization statistics: {names} holds no readable image ({failed} file(s) failed "
                "to decode, listed in failures)")
    return f"no normalization statistics: {names} holds no image"


def normalization_document(result: ScanResult, source: list[str]) -> dict:
    """The export's normalization block. When the source splits hold no readable image, the
    document is still written (its failures say what went wrong): mean and std are zeros, as in
    an empty split's own statistics, `unavailable` and the warnings say why, and every snippet is
    a comment instead of code, so nothing can be pasted with numbers that do not exist. Unknown
    split names still raise StatsSourceError (a usage error)."""
    missing = [s for s in source if s not in result.split_stats]
    if missing:
        raise StatsSourceError(f"no split named {', '.join(missing)} (splits: {', '.join(result.splits)})")
    block: dict[str, Any] = {"source_splits": source, "mode": result.mode,
                             "scale": "0-1 (pixel / max_pixel_value)"}
    reason = unavailable_reason(result, source)
    if reason is not None:
        zeros = [0.0] * result.channels
        return {**block, "max_pixel_value": 255, "mean": zeros, "std": zeros, "unavailable": reason,
                "snippets": {lib: f"# {reason}" for lib in SNIPPET_LIBRARIES}, "warnings": [reason]}
    mean, std, max_value = normalization_stats(result, source)
    return {**block, "max_pixel_value": max_value, "mean": mean, "std": std,
            "snippets": snippets(mean, std, result.mode, max_value, source),
            "warnings": result_warnings(result, source, std)}


def build_document(result: ScanResult, findings: Sequence[Any] = (), *,
                   source_splits: Sequence[str] | None = None, per_image: bool = False) -> dict:
    """The whole schema-1 document for a finished scan."""
    source = list(source_splits or default_source(result))
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "dataset": {
            "root": result.root, "layout": result.layout_kind, "splits": list(result.splits),
            "source": {"kind": result.source_kind, "uri": result.source_uri or result.root},
            "classes": result.classes, "fingerprint": result.fingerprint, "mode": result.mode,
            "images": len(result.images), "failed": len(result.failures), "skipped": len(result.skipped),
            "cache": cache_document(result),
            **({"objects": result.extra["objects"]} if "objects" in result.extra else {}),
        },
        "normalization": normalization_document(result, source),
        "splits": {name: split_document(result, name) for name in result.splits},
        "leakage": [finding_document(f) for f in findings],
        "failures": [{"path": f.path, "split": f.split, "reason": f.reason} for f in result.failures],
        "skipped": [{"path": s.path, "split": s.split, "reason": s.reason} for s in result.skipped],
    }
    doc.update(validation_document(result))
    if per_image:
        doc["images"] = images_document(result, doc["normalization"]["std"])
    return doc


def write_json_atomic(doc: dict, path: str) -> None:
    """Write to a temporary file in the same folder, fsync, then rename: never a half-written file."""
    with atomic_text_file(path, ".json") as fh:
        json_stream.dump(doc, fh)   # per-image records a block at a time
        fh.write("\n")
