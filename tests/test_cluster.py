"""The scan on a real Dask cluster (local, two worker processes): same export as the local scan,
a lost worker costs time not data, a crashing file fails alone, cancel empties the cluster."""
from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imagefactory import make_bad_inputs, make_good_images
from processhelpers import process_gone, wait_until
import inspector
from inspector import cli
from inspector.core import cluster as cluster_mod
from inspector.core.export import build_document, default_source
from inspector.core.layout import discover
from inspector.core.leakage import scan_leakage
from inspector.core.scan import iter_scan, scan, shutdown_pool
from inspector.core.sources import open_source

distributed = pytest.importorskip("distributed")

REPO = Path(__file__).resolve().parents[1]


def export(result) -> dict:
    source = default_source(result)
    return build_document(result, scan_leakage(result, source), source_splits=source, per_image=True)


def run_to_end(gen):
    records = []
    try:
        while True:
            records.append(next(gen))
    except StopIteration as stop:
        return stop.value, records


def set_worker_env(cluster, name: str, value: str | None) -> None:
    """Set (or remove) an environment variable in every worker process, not in a pickled copy."""
    code = (f"import os; os.environ[{name!r}] = {value!r}" if value is not None
            else f"import os; os.environ.pop({name!r}, None)")
    cluster.client.run(exec, code, {})


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cluster") / "ds"
    make_good_images(root, "train", 14, modes=("RGB", "L", "RGBA", "I;16"), label="cat", seed=1)
    make_good_images(root, "train", 10, modes=("RGB", "P"), label="dog", seed=2)
    make_good_images(root, "val", 8, modes=("RGB",), label="cat", seed=3)
    make_good_images(root, "test", 8, modes=("RGB", "CMYK"), label="dog", seed=1)  # copies of train
    make_bad_inputs(root, "val")
    return root


@pytest.fixture(scope="module")
def local_export(dataset) -> dict:
    return export(scan(str(dataset), workers=2))


@pytest.fixture(scope="module")
def cluster():
    c = cluster_mod.DaskCluster.connect("local:2", timeout=30)
    pids = list(c.worker_pids().values())
    yield c
    c.close()
    assert wait_until(lambda: all(process_gone(p) for p in pids), 10), "worker processes left behind"


@pytest.fixture
def two_workers(cluster):
    """The cluster with both workers up (an earlier test may have had one killed)."""
    cluster.client.wait_for_workers(2, timeout=30)
    return cluster


def test_cluster_export_equals_local_export(dataset, local_export, two_workers):
    layout = discover(str(dataset))
    result, records = run_to_end(iter_scan(layout, chunk_size=3, cluster=two_workers))
    assert result.workers == 2
    assert export(result) == local_export
    assert result.failures and local_export["failures"]  # the bad inputs are listed, same reasons
    last = records[-1]
    assert last.done == last.total == len(layout.files)
    assert set(last.per_worker) <= set(two_workers.worker_pids())
    assert sum(last.per_worker.values()) == len(layout.files)


def test_a_worker_killed_mid_scan_costs_time_not_data(dataset, local_export, two_workers, tmp_path):
    layout = discover(str(dataset))
    victim_item = layout.files[len(layout.files) // 2].path
    marker = tmp_path / "killed"
    before = two_workers.worker_pids()
    # The worker that gets the chunk holding victim_item kills its own process (SIGKILL) once.
    set_worker_env(two_workers, "INSPECTOR_TEST_KILL_WORKER_ONCE", f"{marker}|{victim_item}")
    try:
        result = scan(layout, cluster=two_workers)
    finally:
        set_worker_env(two_workers, "INSPECTOR_TEST_KILL_WORKER_ONCE", None)
    assert marker.exists(), "no worker was killed: the test did not test anything"
    assert export(result) == local_export  # the lost chunk ran again elsewhere
    assert wait_until(lambda: len(two_workers.worker_pids()) == 2)
    assert set(two_workers.worker_pids().values()) != set(before.values())  # one process replaced


def test_a_file_that_crashes_its_worker_fails_alone_as_in_the_local_pool(dataset, two_workers, monkeypatch):
    layout = discover(str(dataset))
    culprit = next(f.path for f in layout.files if f.split == "train" and f.path.endswith("RGB.png"))
    # Every worker process sees it, restarted ones too (they inherit this process's environment).
    monkeypatch.setenv("INSPECTOR_TEST_CRASH_ON", culprit)
    set_worker_env(two_workers, "INSPECTOR_TEST_CRASH_ON", culprit)
    try:
        shutdown_pool()  # local workers started before the variable was set would not crash
        local = export(scan(layout, workers=2))
        result = scan(layout, cluster=two_workers)
    finally:
        shutdown_pool()
        monkeypatch.delenv("INSPECTOR_TEST_CRASH_ON")  # workers restarted from now on are clean
        two_workers.client.wait_for_workers(2, timeout=60)  # one may still be restarting
        set_worker_env(two_workers, "INSPECTOR_TEST_CRASH_ON", None)
    crashed = [f for f in result.failures if "crashed" in f.reason]
    assert [f.path for f in crashed] == [culprit]
    assert export(result) == local


def test_workers_read_an_s3_source_themselves(two_workers, s3_server, tmp_path):
    options, fs = s3_server
    root = tmp_path / "set"
    make_good_images(root, "train", 12, modes=("RGB", "L", "P"), label="cat", seed=5)
    make_good_images(root, "val", 6, modes=("RGB",), label="cat", seed=6)
    fs.mkdir("cluster-tests")
    fs.put(str(root) + "/", "cluster-tests/set/", recursive=True)
    layout = open_source("s3://cluster-tests/set", options)
    assert all(f.abspath.startswith("s3://") for f in layout.files)  # only S3 holds the pixels
    remote, local = export(scan(layout, cluster=two_workers)), export(scan(str(root), workers=1))
    for doc in (remote, local):
        del doc["dataset"]["root"], doc["dataset"]["source"]["uri"]
    assert remote == local


def test_cancel_cancels_the_pending_tasks(dataset, two_workers, monkeypatch):
    submitted = []
    real_submit = two_workers.client.submit

    def counting_submit(*args, **kwargs):
        fut = real_submit(*args, **kwargs)
        submitted.append(fut.key)
        return fut

    monkeypatch.setattr(two_workers.client, "submit", counting_submit)
    layout = discover(str(dataset))
    gen = iter_scan(layout, chunk_size=1, cluster=two_workers)
    next(gen)  # the first record comes before any work
    next(gen)
    gen.close()
    assert 0 < len(submitted) < len(layout.files)  # a bounded window, never the whole dataset

    def known(keys, dask_scheduler=None) -> list:
        return [k for k in keys if k in dask_scheduler.tasks]

    assert wait_until(lambda: not two_workers.client.run_on_scheduler(known, submitted))


def test_unreachable_scheduler_is_a_usage_error_before_any_work(dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cluster_mod, "CONNECT_TIMEOUT", 0.5)
    started = []
    monkeypatch.setattr("inspector.core.scan.iter_scan", lambda *a, **k: started.append(1))
    out = tmp_path / "out.json"
    code = cli.main(["scan", str(dataset), "--dask", "tcp://127.0.0.1:9", "--json", str(out), "--quiet"])
    assert code == cli.EXIT_USAGE
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not started and not out.exists()


def test_workers_of_another_version_are_refused_before_any_work(two_workers, monkeypatch):
    monkeypatch.setattr(inspector, "__version__", "99.0")
    with pytest.raises(cluster_mod.ClusterError, match="workers run dataset-inspector 0.1.0, this program is 99.0"):
        two_workers._check_workers(5)


def test_a_scheduler_without_workers_is_refused():
    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1",
                                  dashboard_address=None, silence_logs=logging.ERROR,
                                  scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as empty:
        with pytest.raises(cluster_mod.ClusterError, match="has no workers"):
            cluster_mod.DaskCluster.connect(empty.scheduler_address, timeout=0.5)


@pytest.mark.parametrize("flag, words", [
    (["--dask", "local:0"], "worker count of 1 or more"),
    (["--dask", "local:2", "--workers", "2"], "with --dask the cluster's workers run the scan"),
])
def test_bad_cluster_flags(dataset, flag, words, capsys):
    assert cli.main(["scan", str(dataset), *flag, "--quiet"]) == cli.EXIT_USAGE
    assert words in capsys.readouterr().err


def test_without_the_cluster_extra_the_flag_says_what_to_install(dataset, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now raises ImportError
    assert cli.main(["scan", str(dataset), "--dask", "local:2", "--quiet"]) == cli.EXIT_USAGE
    assert "pip install 'dataset-inspector[cluster]'" in capsys.readouterr().err


def test_cli_scan_on_a_local_cluster_writes_the_local_export(dataset, tmp_path):
    out_cluster, out_local = tmp_path / "cluster.json", tmp_path / "local.json"
    proc = subprocess.run([sys.executable, str(REPO / "main.py"), "scan", str(dataset), "--json",
                           str(out_cluster), "--per-image", "--quiet", "--no-cache", "--dask", "local:2"],
                          cwd=str(REPO), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert cli.main(["scan", str(dataset), "--json", str(out_local), "--per-image", "--quiet", "--no-cache"]) == 0
    assert out_cluster.read_bytes() == out_local.read_bytes()


def test_workers_encode_cache_records_only_for_a_scan_with_a_cache(dataset, two_workers):
    items = list(enumerate(discover(str(dataset)).files[:3]))
    run = cluster_mod.run_chunk_on_worker
    _, plain = two_workers.client.submit(run, items, None, False, pure=False).result(timeout=60)
    _, stored = two_workers.client.submit(run, items, None, True, pure=False).result(timeout=60)
    assert plain.records is None and stored.records
    np.testing.assert_array_equal(plain.numbers, stored.numbers)
