"""Datasets behind fsspec URLs (DESIGN sections 7 and 9): --storage-option, and what to install."""
from __future__ import annotations

import pytest

from inspector import cli
from inspector.core import storage_options as so


def test_storage_options_are_typed_and_nested():
    options = so.parse_storage_options([
        "endpoint_url=http://127.0.0.1:9000", "anon=false", "use_ssl=True", "default_block_size=1048576",
        "client_kwargs.region_name=eu-west-1", "client_kwargs.verify=none", 'config_kwargs={"retries": 3}',
        "key=0123abc",
    ])
    assert options == {
        "endpoint_url": "http://127.0.0.1:9000", "anon": False, "use_ssl": True,
        "default_block_size": 1048576, "client_kwargs": {"region_name": "eu-west-1", "verify": None},
        "config_kwargs": {"retries": 3}, "key": "0123abc",
    }


@pytest.mark.parametrize("pair, words", [
    ("endpoint_url", "expected KEY=VALUE"),
    ("=x", "expected KEY=VALUE"),
    ("config_kwargs={retries", "not valid"),
    ("anon=true", None),
])
def test_malformed_storage_option_is_a_usage_error(pair, words, tmp_path, capsys):
    args = ["scan", str(tmp_path / "missing"), "--storage-option", pair, "--quiet"]
    assert cli.main(args) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert (words or "No such file") in err


def test_without_fsspec_a_url_says_what_to_install(monkeypatch, capsys):
    real = so.importlib.util.find_spec
    monkeypatch.setattr(so.importlib.util, "find_spec", lambda name: None if name == "fsspec" else real(name))
    assert cli.main(["scan", "s3://bucket/data", "--quiet"]) == cli.EXIT_USAGE
    assert "pip install 'dataset-inspector[cluster]'" in capsys.readouterr().err
