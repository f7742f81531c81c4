"""WebDataset tar shards: a ``.tar``, a folder of them, or a brace pattern (DESIGN section 7).

A shard holds samples as consecutive members sharing a key (``dir/KEY.ext``: everything before
the first dot of the file name). Image members are recognised by extension; a sample's label
comes from its ``.cls``, ``.txt`` or ``.json`` member. The split comes from the shard's name
(``train-000000.tar``, ``val_0001.tar``) or its folder, else ``all``. Listing reads the tar
headers (and the small label members) once per shard, lazily; workers then read each image member
by offset. Item ids are ``SHARD.tar/MEMBER``. A gzip-compressed shard (``.tar.gz``, ``.tgz``, or
any shard starting with the gzip magic) cannot be seeked: it is listed in one forward pass and
its workers decompress it forward from the start (``locators.SEQUENTIAL`` keeps its chunks few).
"""
from __future__ import annotations

import json
import re
import tarfile
import zlib
from collections.abc import Iterator
from itertools import groupby

from ..layout import DatasetLayout, ImageFile, LayoutError, Skipped, display_name
from . import storage
from .common import IMAGE_SUFFIXES, note_split, split_from_name, split_rank
from .locators import GzTarMember, TarMember

SHARD_SUFFIXES = (".tar", ".tar.gz", ".tgz")
GZIP_MAGIC = b"\x1f\x8b"
LABEL_SUFFIXES = (".cls", ".txt", ".json")
LABEL_KEYS = ("label", "class", "cls", "category")
MAX_LABEL_BYTES = 64 * 1024  # a label member larger than this is not a label
_BRACES = re.compile(r"\{(\d+)\.\.(\d+)\}")


def open_webdataset(source: str, storage_options: dict | None = None) -> DatasetLayout:
    if _BRACES.search(source):
        root, shards = storage.parent(source.split("{", 1)[0] + "x"), expand_braces(source)
    elif storage.is_dir(source, storage_options):
        root, shards = source, _shards_in(source, storage_options)
        if not shards:
            raise LayoutError(f"No .tar shards in {source}")
    else:
        root, shards = storage.parent(source), [source]
    layout = DatasetLayout(root=root, kind="splits", splits=[], source_kind="webdataset", uri=source,
                           storage_options=storage_options)
    shards.sort(key=lambda f: (split_rank(_split_of(f)), f))
    layout.pending = _batches(layout, shards)
    return layout


def expand_braces(pattern: str) -> list[str]:
    """``train-{000000..000002}.tar`` -> the three names (zero padding kept, several ranges allowed)."""
    m = _BRACES.search(pattern)
    if m is None:
        return [pattern]
    lo, hi = m.group(1), m.group(2)
    if int(hi) < int(lo):
        raise LayoutError(f"Empty shard range {m.group(0)} in {pattern}")
    width = len(lo) if lo.startswith("0") else 0
    out = []
    for k in range(int(lo), int(hi) + 1):
        out += expand_braces(pattern[:m.start()] + str(k).zfill(width) + pattern[m.end():])
    return out


def _shards_in(folder: str, storage_options: dict | None) -> list[str]:
    found = []
    for entry in storage.list_dir(folder, storage_options):
        if entry.is_dir and split_from_name(entry.name):
            found += [e.path for e in storage.list_dir(entry.path, storage_options)
                      if not e.is_dir and e.name.lower().endswith(SHARD_SUFFIXES)]
        elif not entry.is_dir and entry.name.lower().endswith(SHARD_SUFFIXES):
            found.append(entry.path)
    return sorted(found)


def _split_of(shard: str) -> str:
    return split_from_name(storage.basename(shard)) or split_from_name(storage.basename(storage.parent(shard))) or "all"


def _batches(layout: DatasetLayout, shards: list[str]) -> Iterator[list[ImageFile]]:
    for shard in shards:
        rel, _ = display_name(storage.relative(shard, layout.root))
        split = _split_of(shard)
        note_split(layout, split)
        try:
            st = storage.stat(shard, layout.storage_options)
            fh = storage.open_binary(shard, layout.storage_options)
        except OSError as exc:
            reason = "no such shard" if isinstance(exc, FileNotFoundError) else str(exc)
            layout.broken.append(Skipped(rel, split, f"cannot open this tar shard: {reason}"))
            continue
        with fh:
            batch = list(_shard_items(layout, fh, shard, rel, split, st))
        if batch:
            yield batch
    if layout.splits == ["all"]:
        layout.kind = "flat"


def _shard_items(layout: DatasetLayout, fh, shard: str, rel: str, split: str, st) -> Iterator[ImageFile]:
    compressed = fh.read(2) == GZIP_MAGIC
    fh.seek(0)
    locator = GzTarMember if compressed else TarMember
    try:  # a compressed shard is read as a stream: one forward pass, label members as they pass
        tf = tarfile.open(fileobj=fh, mode="r|gz" if compressed else "r:")
    except tarfile.TarError as exc:
        layout.broken.append(Skipped(rel, split, f"not a tar file, nor a gzip-compressed one ({exc})"))
        return
    members = _members(layout, tf, rel, split)
    for _, sample in groupby(members, key=lambda m: sample_key(m[0].name)):
        sample = list(sample)
        label = _label(sample)
        for m, _ in sample:
            member_id = f"{rel}/{display_name(m.name)[0]}"
            if m.name.lower().endswith(IMAGE_SUFFIXES):
                yield ImageFile(member_id, shard, split, label, None, st.size, st.mtime_ns,
                                locator(m.offset_data, m.size))
            elif not m.name.lower().endswith(LABEL_SUFFIXES):
                layout.skipped.append(Skipped(member_id, split, "tar member that is neither an image nor a label"))


def _members(layout: DatasetLayout, tf: tarfile.TarFile, rel: str, split: str
             ) -> Iterator[tuple[tarfile.TarInfo, bytes | None]]:
    """Regular-file members in order, with the content of small label members (read as they pass:
    a compressed stream cannot go back); a shard cut short is listed, the members before it kept."""
    while True:
        try:
            m = tf.next()
            if m is None:
                return
            content = None
            if m.isfile() and m.name.lower().endswith(LABEL_SUFFIXES) and m.size <= MAX_LABEL_BYTES:
                content = tf.extractfile(m).read()  # type: ignore[union-attr]
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            layout.broken.append(Skipped(rel, split, f"the tar shard is damaged or cut short ({exc}); "
                                                     "members before that point are scanned"))
            return
        if m.isfile():
            yield m, content


def sample_key(name: str) -> str:
    """WebDataset's key: the member path up to the first dot of its file name."""
    folder, _, base = name.rpartition("/")
    return f"{folder}/{base.split('.', 1)[0]}" if folder else base.split(".", 1)[0]


def _label(sample: list[tuple[tarfile.TarInfo, bytes | None]]) -> str | None:
    for suffix in LABEL_SUFFIXES:
        content = next((c for m, c in sample if c is not None and m.name.lower().endswith(suffix)), None)
        if content is None:
            continue
        text = content.decode("utf-8", errors="replace").strip()
        if suffix == ".json":
            text = _json_label(text)
        if text:
            return text
    return None


def _json_label(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return ""
    if isinstance(value, dict):
        value = next((value[k] for k in LABEL_KEYS if k in value), None)
    return "" if value is None or isinstance(value, (dict, list)) else str(value)
