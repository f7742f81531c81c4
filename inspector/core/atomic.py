"""Atomic file writes: a temporary file in the same folder, fsync, then rename, so a reader never
sees a half-written file and a failed write leaves the old file (or none) in place."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


@contextmanager
def atomic_text_file(path: str, suffix: str = "") -> Iterator[TextIO]:
    """Open a UTF-8 text stream whose content replaces `path` only when the block succeeds."""
    path = os.path.abspath(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_text_atomic(text: str, path: str, suffix: str = "") -> None:
    with atomic_text_file(path, suffix) as fh:
        fh.write(text)
