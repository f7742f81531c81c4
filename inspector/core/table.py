"""Per-image records as columns (struct of arrays): cheap for 1,000,000 rows, easy to sort and filter."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .strings import StringColumn

# Bits of ImageTable.flags: what a loader did to reach the canonical array.
FLAG_ALPHA = 1 << 0         # had an alpha channel or palette transparency, dropped as convert("RGB") does
FLAG_PALETTE = 1 << 1       # palette (P) image, expanded to RGB
FLAG_CMYK = 1 << 2          # CMYK, converted to RGB by Pillow
FLAG_16BIT = 1 << 3         # 16-bit samples, scaled by 1/65535 (a default torchvision loader clips to 8 bit)
FLAG_EXIF_ROTATED = 1 << 4  # EXIF orientation other than 1; statistics use the stored pixels, as loaders do
FLAG_ANIMATED = 1 << 5      # animated image: first frame used
FLAG_BILEVEL = 1 << 6       # 1-bit image, read as 0 / 255
FLAG_WRONG_EXTENSION = 1 << 7  # extension does not match the content's format
FLAG_BAD_NAME = 1 << 8      # file name is not valid UTF-8
FLAG_16BIT_COLOUR = 1 << 9  # 16-bit colour samples that Pillow (and so a default loader) reads as 8 bit
# uniform bars on opposite sides (padding) were trimmed before hashing (hashing.content_box). Not a
# conversion, so not in FLAG_NAMES: it only tells leakage/differences.py that the image's mean
# and std include the bars
FLAG_PADDED = 1 << 10

FLAG_NAMES = {
    FLAG_ALPHA: "alpha dropped", FLAG_PALETTE: "palette", FLAG_CMYK: "CMYK",
    FLAG_16BIT: "16-bit", FLAG_EXIF_ROTATED: "EXIF-rotated", FLAG_ANIMATED: "animated (first frame)",
    FLAG_BILEVEL: "1-bit", FLAG_WRONG_EXTENSION: "extension does not match content",
    FLAG_BAD_NAME: "non-UTF-8 file name",
    FLAG_16BIT_COLOUR: "16-bit colour read as 8-bit",
}


@dataclass(frozen=True)
class ImageTable:
    """One row per decoded image, in a deterministic order (split order, then path).

    Channel columns have C = number of channels of the dataset mode (3 for RGB, 1 for L);
    values are on the 0-1 scale.
    """

    paths: StringColumn          # relative to ROOT, "/" separators (a list of str is converted)
    split_names: list[str]
    split: np.ndarray            # int16 (N,), index into split_names
    label_names: list[str]
    label: np.ndarray            # int32 (N,), index into label_names, -1 = no class
    width: np.ndarray            # int32 (N,)
    height: np.ndarray           # int32 (N,)
    nbytes: np.ndarray           # int64 (N,) file size
    format_names: list[str]
    format: np.ndarray           # int16 (N,) index into format_names (JPEG, PNG, ...)
    mode_names: list[str]
    mode: np.ndarray             # int16 (N,) index into mode_names (the file's own mode)
    mean: np.ndarray             # float64 (N, C), 0-1 scale
    std: np.ndarray              # float64 (N, C), population std, 0-1 scale
    min: np.ndarray              # float64 (N, C)
    max: np.ndarray              # float64 (N, C)
    content_hash: np.ndarray     # uint64 (N, 2): xxh3_128 of the decoded pixels, mode and size
    phash: np.ndarray            # uint64 (N, V): perceptual hashes of V views (see hashing.py)
    thumb: np.ndarray            # uint8 (N, T, T): small grey thumbnail for near-duplicate confirmation
    flags: np.ndarray            # uint16 (N,), FLAG_* bits
    # float64 (N, P) per-image properties (validation/properties.py COLUMNS); None when a table
    # was built without them (then property drift and image issues are not measured)
    properties: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.paths, StringColumn):  # one buffer, not a str object per row
            object.__setattr__(self, "paths", StringColumn.from_strings(self.paths))

    def __len__(self) -> int:
        return len(self.paths)

    def split_of(self, i: int) -> str:
        return self.split_names[int(self.split[i])]

    def label_of(self, i: int) -> str | None:
        k = int(self.label[i])
        return None if k < 0 else self.label_names[k]

    def flag_names(self, i: int) -> list[str]:
        f = int(self.flags[i])
        return [name for bit, name in FLAG_NAMES.items() if f & bit]

    def rows_in(self, split: str) -> np.ndarray:
        if split not in self.split_names:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.split == self.split_names.index(split))
