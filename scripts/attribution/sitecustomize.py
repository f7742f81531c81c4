"""Attribution hook for scripts/cache_write_attribution.py (measurement only): when ATTRIB_OUT is set, time the cache's code paths
(thread CPU + wall) in every process and append one line per call to ATTRIB_OUT."""
import os
OUT = os.environ.get("ATTRIB_OUT")
if OUT:
    import sys, time, functools, threading
    sys.path.insert(0, os.environ["ATTRIB_REPO"])  # before anything imports inspector

    def _log(name, cpu, wall):
        with open(OUT, "a") as fh:
            fh.write(f"{os.getpid()} {threading.current_thread().name} {name} {cpu:.6f} {wall:.6f}\n")

    def timed(owner, attr, name):
        fn = getattr(owner, attr)
        @functools.wraps(fn)
        def wrapper(*a, **k):
            c0, w0 = time.thread_time(), time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                _log(name, time.thread_time() - c0, time.perf_counter() - w0)
        setattr(owner, attr, wrapper)

    def timed_gen(owner, attr, name):
        fn = getattr(owner, attr)
        @functools.wraps(fn)
        def wrapper(*a, **k):
            g = fn(*a, **k)
            cpu = wall = 0.0
            try:
                while True:
                    c0, w0 = time.thread_time(), time.perf_counter()
                    try:
                        v = next(g)
                    except StopIteration as s:
                        cpu += time.thread_time() - c0; wall += time.perf_counter() - w0
                        return s.value
                    cpu += time.thread_time() - c0; wall += time.perf_counter() - w0
                    yield v
            finally:
                _log(name, cpu, wall)
        setattr(owner, attr, wrapper)

    from inspector.core import scan_chunk
    from inspector.core.cache import codec
    timed(scan_chunk, "stored_records", "w.encode")
    timed(scan_chunk, "_measure_chunk", "w.chunk")
    timed(scan_chunk, "load_codec", "w.load_codec")
    import inspector.core.cache as cache
    from inspector.core.cache import store, memo, snapshot
    timed(cache.ScanCache, "open", "m.open")
    timed(cache.ScanCache, "store_chunk", "m.store_chunk")
    timed(store.RecordStore, "put_batch", "m.put_batch")
    timed(cache, "encode_keys", "m.encode_keys")
    timed(cache.ScanCache, "save", "m.save")
    timed(cache, "encode_snapshot", "m.encode_snapshot")
    timed(cache.ScanCache, "_tidy", "m.tidy")
    timed(cache, "cache_summary", "m.summary")
    timed_gen(cache.ScanCache, "filter", "m.filter")
    timed(store.RecordStore, "memo_put", "m.memo_put")
    timed(store.RecordStore, "verdicts_put", "m.verdicts_put")
    timed(memo, "findings_key", "m.findings_key")
    timed(memo, "_encode", "m.memo_encode")
    from inspector.core.leakage import incremental
    timed(incremental.VerdictMemo, "encoded", "m.verdicts_encode")
    from inspector.core import scan as scan_mod
    timed(scan_mod, "scan", "m.scan_total")
    from inspector import cli
    timed(cli, "_check_leakage", "m.leakage_total")
    timed(memo, "cached_findings", "m.findings_total")
