"""Zero-copy read access to a decoded Pillow image's pixel memory.

``im.tobytes()`` packs and copies every pixel (for a ~128k-pixel photo about as long as hashing
them); Pillow also exports its pixel memory through the Arrow C data interface
(``__arrow_c_array__``, Pillow >= 11.2) without a copy. This reads that export with ctypes (the
interface is a stable C ABI), so no pyarrow import is needed in the scan's workers.

For "RGB" the export is Pillow's own storage, four bytes a pixel (R, G, B, pad); for "L" one byte
a pixel. Images whose rows are not one contiguous block (very large ones) are not exported:
``pixel_view`` returns None and callers take the copying path.
"""
from __future__ import annotations

import ctypes

from PIL import Image


class _ArrowArray(ctypes.Structure):
    pass


_ArrowArray._fields_ = [  # struct ArrowArray of the Arrow C data interface
    ("length", ctypes.c_int64),
    ("null_count", ctypes.c_int64),
    ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)),
    ("children", ctypes.POINTER(ctypes.POINTER(_ArrowArray))),
    ("dictionary", ctypes.POINTER(_ArrowArray)),
    ("release", ctypes.c_void_p),
    ("private_data", ctypes.c_void_p),
]

_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]

# A read-only memoryview over C memory, made in one call: a ctypes array of the image's byte size
# would first make a new ctypes type for that size (~0.07 ms, nearly every image has its own size).
_memory_view = ctypes.pythonapi.PyMemoryView_FromMemory
_memory_view.restype = ctypes.py_object
_memory_view.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int]
_PYBUF_READ = 0x100
_PYBUF_WRITE = 0x200

# bytes per pixel of the export, and whether the values sit in a child array (fixed-size list)
_LAYOUT = {"RGB": (4, True), "L": (1, False)}


class PixelView:
    """A read-only, zero-copy buffer over an image's pixels; valid while this object lives (it
    holds the export, which holds the image)."""

    def __init__(self, capsules: tuple, buffer) -> None:
        self._capsules = capsules  # released (by their destructors) when this view goes away
        self.buffer = buffer       # a read-only memoryview of the pixel bytes


def pixel_view(im: Image.Image, writable: bool = False) -> PixelView | None:
    """The image's pixel memory without a copy ("RGB": 4 bytes a pixel, "L": 1), or None when
    Pillow does not export it (other modes, images split over several memory blocks).
    ``writable``: a view a decoder may write the pixels into (fastdecode.py; only for an image
    nothing else holds yet)."""
    layout = _LAYOUT.get(im.mode)
    export = getattr(im, "__arrow_c_array__", None)
    if layout is None or export is None:
        return None
    per_pixel, nested = layout
    try:
        capsules = export()
    except (ValueError, OSError):  # "Image rows are not contiguous in memory" and the like
        return None
    array = _ArrowArray.from_address(_get_pointer(capsules[1], b"arrow_array"))
    values = array
    if nested:
        if array.n_children != 1 or array.offset != 0:
            return None
        values = array.children[0].contents
    pixels = im.size[0] * im.size[1]
    if values.n_buffers != 2 or values.length != per_pixel * pixels or values.offset != 0:
        return None  # not the layout this module reads: the caller copies instead
    address = values.buffers[1]
    if not address:
        return None if pixels else PixelView(capsules, memoryview(b""))
    flags = _PYBUF_WRITE if writable else _PYBUF_READ
    return PixelView(capsules, _memory_view(address, per_pixel * pixels, flags))
