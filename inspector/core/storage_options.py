"""``--storage-option KEY=VALUE`` pairs for fsspec, and what to install when fsspec is missing.

Values are typed the way fsspec's filesystems expect them: ``true``/``false``/``none``, integers
and floats become Python values (``anon=true`` must be a bool, not the truthy string "false"), a
JSON object or list is parsed, anything else stays a string (``endpoint_url=http://...``). A
dotted key fills a nested dict: ``client_kwargs.region_name=eu-west-1``.
"""
from __future__ import annotations

import importlib.util
import json
import re

INSTALL_HINT = "pip install 'dataset-inspector[cluster]'"
_NUMBER = re.compile(r"^[+-]?(\d+|\d*\.\d+([eE][+-]?\d+)?)$")
_WORDS = {"true": True, "false": False, "none": None, "null": None}


class StorageOptionError(ValueError):
    """A malformed ``--storage-option`` (the message says which and why)."""


def parse_value(text: str):
    lower = text.strip().lower()
    if lower in _WORDS:
        return _WORDS[lower]
    if _NUMBER.match(text.strip()):
        return int(text) if re.match(r"^[+-]?\d+$", text.strip()) else float(text)
    if text.strip()[:1] in "{[":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise StorageOptionError(f"{text!r} looks like JSON but is not valid: {exc}") from None
    return text


def parse_storage_options(pairs: list[str] | None) -> dict:
    """``["endpoint_url=http://h:9000", "anon=false"]`` -> ``{"endpoint_url": ..., "anon": False}``."""
    options: dict = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise StorageOptionError(f"--storage-option {pair!r}: expected KEY=VALUE, e.g. "
                                     "endpoint_url=http://127.0.0.1:9000")
        *parents, leaf = key.strip().split(".")
        target = options
        for name in parents:
            target = target.setdefault(name, {})
            if not isinstance(target, dict):
                raise StorageOptionError(f"--storage-option {pair!r}: {name} is already a value")
        try:
            target[leaf] = parse_value(value)
        except StorageOptionError as exc:
            raise StorageOptionError(f"--storage-option {pair!r}: {exc}") from None
    return options


def missing_support(source: str, options: dict) -> str | None:
    """Why SOURCE (a URL) or the storage options cannot be used here, or None when they can."""
    from .sources.storage import is_url

    if not (is_url(source) or options):
        return None
    if importlib.util.find_spec("fsspec") is None:
        what = source if is_url(source) else "--storage-option"
        return f"{what} needs the optional storage packages (fsspec, s3fs); install them with {INSTALL_HINT}"
    return None
