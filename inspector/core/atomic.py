"""Atomic file writes: a temporary file in the same folder, fsync, then rename, so a reader never
sees a half-written file and a failed write leaves the old file (or none) in place."""
from __future__ import annotations

import glob
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class NotARegularFile(OSError):
    """The target exists and is a device, a FIFO, a symbolic link...: never replaced by a write."""


def not_regular_reason(path: str) -> str | None:
    """Why ``path`` must not be written (it exists and is not a regular file), else None."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot inspect it ({exc.strerror or exc})"
    if stat.S_ISLNK(st.st_mode):
        return "it is a symbolic link; give the file it points to, or another name"
    if not stat.S_ISREG(st.st_mode):
        return "it is not a regular file (a device, a pipe or a socket)"
    return None


def _temp_prefix(path: str) -> str:
    # The target's name and our process id are in the temporary name, so a later write of the
    # same target can tell a stale temporary file (its writer was killed) from a live one.
    return f".tmp-{os.path.basename(path)}-"


def _remove_stale_temporaries(path: str, suffix: str) -> None:
    prefix = _temp_prefix(path)
    for tmp in glob.glob(os.path.join(glob.escape(os.path.dirname(path)), glob.escape(prefix) + "*" + suffix)):
        pid = os.path.basename(tmp)[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


@contextmanager
def atomic_text_file(path: str, suffix: str = "") -> Iterator[TextIO]:
    """Open a UTF-8 text stream whose content replaces `path` only when the block succeeds.
    A target that exists and is not a regular file (``/dev/full``, a link) is refused."""
    path = os.path.abspath(path)
    reason = not_regular_reason(path)
    if reason:
        raise NotARegularFile(f"not written: {reason}")
    _remove_stale_temporaries(path, suffix)
    fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(path)}{os.getpid()}-", suffix=suffix,
                               dir=os.path.dirname(path))
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
