"""Command line: ``python main.py [ROOT]`` opens the window; ``python main.py scan ROOT --json OUT``
runs the same engine headless (DESIGN section 5). Exit status: 0 finished, 2 usage error,
130 interrupted (Ctrl+C), 143 terminated (SIGTERM: the same clean stop as Ctrl+C)."""
from __future__ import annotations

import argparse
import os
import signal
import tempfile
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from . import cli_outputs
from .terminal import escaped_streams

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 2, 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill PID``, ``Popen.terminate()``, process managers), raised in the main thread
    like Ctrl+C, so the scan stops its workers and removes its temporary file the same way."""


_stop_signal: type[KeyboardInterrupt] | None = None  # the stop asked for by a signal, once asked


def _raise_stop(signum: int, frame: object) -> None:
    global _stop_signal
    _stop_signal = Terminated if signum == signal.SIGTERM else KeyboardInterrupt
    raise _stop_signal()


def stop_if_signalled() -> bool:
    """Raise the stop a signal asked for again. A signal's exception is raised wherever the main
    thread happens to be, and some code there drops it: a Cython module's import, a fork's
    at-fork hooks (one SIGTERM in about 40 right after the workers were forked was lost so, and
    the scan ran to its end). So the scan checks here at every progress step. Returns False."""
    if _stop_signal is not None:
        raise _stop_signal()
    return False


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGTERM stops like Ctrl+C (exit 143 instead of 130); both are remembered (see above)."""
    global _stop_signal
    _stop_signal = None
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="main.py",
        description="Dataset Inspector: exact per-split image statistics, normalization preview and "
                    "leakage checks. With no command, opens the window.")
    from . import __version__
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command")
    s = sub.add_parser("scan", help="scan a dataset headless and optionally export JSON")
    s.add_argument("root", metavar="SOURCE",
                   help="dataset folder (train/val/test, YOLO images/..., or a flat folder), manifest "
                        "(.csv/.tsv/.jsonl), Parquet file or folder, WebDataset .tar/.tar.gz shard(s) or YOLO data.yaml")
    s.add_argument("--json", metavar="OUT", help="write the schema-1 export here (atomically); - for stdout")
    s.add_argument("--per-image", action="store_true", help="include one record per image in the export")
    s.add_argument("--source", default=None, metavar="SPLITS",
                   help="split(s) the normalization mean/std come from, comma-separated (default: train)")
    s.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    s.add_argument("--quiet", action="store_true", help="no progress line or summary")
    s.add_argument("--decode-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="a file that takes longer to decode is stopped and listed as a failure "
                        "(default 30; 0 for no limit)")
    s.add_argument("--cache-dir", metavar="DIR", default=None,
                   help="where per-image records are kept between scans (default: "
                        "~/.cache/dataset-inspector, or $XDG_CACHE_HOME/dataset-inspector)")
    s.add_argument("--no-cache", action="store_true",
                   help="decode every image and neither read nor write the cache")
    s.add_argument("--progress-every", type=float, default=None, metavar="SECONDS",
                   help="when stderr is not a terminal (a log file, CI), print a progress line every "
                        "SECONDS (default 10); on a terminal the progress line is live")
    s.add_argument("--dask", metavar="ADDRESS", default=None,
                   help="run the scan on a Dask scheduler (tcp://host:8786), or local:N to start a "
                        "local cluster of N worker processes (needs the 'cluster' extra)")
    s.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE",
                   help="an fsspec option for a SOURCE behind a URL (s3://, gs://, file://), e.g. "
                        "endpoint_url=http://127.0.0.1:9000 or anon=true; repeatable")
    cli_outputs.add_arguments(s)
    b = sub.add_parser("bench", help="scan throughput versus Pillow decoding alone, and peak memory")
    b.add_argument("root")
    b.add_argument("--repeats", type=int, default=3)
    b.add_argument("--workers", type=int, default=None)
    d = sub.add_parser("demo", help="write the built-in demo dataset to a folder")
    d.add_argument("dest")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from .core.blas import one_blas_thread_from_start
    one_blas_thread_from_start()   # before numpy's import: OpenBLAS starts no spinning thread (blas.py)
    from .core.memory import avoid_huge_pages
    avoid_huge_pages()   # before the first large array (the window's too)
    if _names_a_dataset(argv):
        return _open_window(argv)
    args = _parser().parse_args(argv)  # a typo of a command: argparse's "invalid choice", exit 2
    try:
        if args.command == "scan":
            with _stop_on_signals(), escaped_streams(stdout=args.json != "-"):
                return _scan(args)
        if args.command == "bench":
            from .bench import run
            run(args.root, repeats=args.repeats, workers=args.workers)
            return EXIT_OK
        if args.command == "demo":
            from .core.demo import make_demo_dataset
            try:
                print(make_demo_dataset(args.dest))
            except OSError as exc:
                print(f"error: cannot write the demo dataset to {args.dest}: {exc.strerror or exc}",
                      file=sys.stderr)
                return EXIT_USAGE
            return EXIT_OK
    except Terminated:
        print("\nterminated", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_USAGE


def _names_a_dataset(argv: list[str]) -> bool:
    """No arguments, or a first argument that is a path or URL rather than a command or option:
    the window opens on it."""
    if not argv:
        return True
    first = argv[0]
    if first.startswith("-") or first in ("scan", "bench", "demo"):
        return False
    return os.path.exists(first) or os.sep in first or "/" in first or "://" in first


def _open_window(argv: list[str]) -> int:
    from .ui.app import display_problem, run_app

    problem = display_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    return run_app(argv)


def _scan(args: argparse.Namespace) -> int:
    from .core.cache import default_cache_dir
    from .core.cache.prefetch import stop_all as stop_prefetch

    cache_dir = None if args.no_cache else (args.cache_dir or default_cache_dir())
    try:
        return _scan_with(args, cache_dir)
    finally:
        stop_prefetch()


def _scan_with(args: argparse.Namespace, cache_dir: str | None) -> int:
    from .core.export import StatsSourceError, build_document, default_source, write_json_atomic
    from .core.layout import LayoutError, split_name
    from .core.cache.memo import cached_findings
    from .core.scan import prefetch_reopen, scan
    from .cli_progress import DEFAULT_LINE_INTERVAL, ProgressPrinter
    from .core.sources import discovering, open_source, prefetch
    from .core.storage_options import INSTALL_HINT, StorageOptionError, missing_support, parse_storage_options

    try:
        options = parse_storage_options(args.storage_option)
        problem = missing_support(args.root, options)
        if problem:
            raise LayoutError(problem)
        if not args.dask and not options:  # the stored result is read while the folder is listed
            _prestart_workers(args, cache_dir)
            prefetch_reopen(args.root, cache_dir)
        layout = open_source(args.root, options)
        prefetch(layout, 1)
    except (LayoutError, StorageOptionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ImportError as exc:  # fsspec is there but not this storage's package (s3fs, gcsfs)
        print(f"error: {args.root}: {exc} ({INSTALL_HINT} brings s3fs)", file=sys.stderr)
        return EXIT_USAGE
    if not layout.files:
        print(f"error: no image files found in {layout.uri or layout.root} "
              f"({len(layout.skipped) + len(layout.broken)} other entries skipped or unreadable)",
              file=sys.stderr)
        return EXIT_USAGE
    problem = (_check_output(args.json) or _check_workers(args.workers, args.dask)
               or _check_progress_every(args.progress_every) or _check_decode_timeout(args.decode_timeout)
               or next(filter(None, (_check_output(p, flag, ex) for flag, p, ex in cli_outputs.output_paths(args))), None))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    source = None
    if args.source:  # split names or their aliases (Valid, TESTING, dev...), any case
        source = [split_name(s.strip()) or s.strip() for s in args.source.split(",") if s.strip()]
    if source and not discovering(layout):  # a manifest still being read: checked after the scan
        unknown = [s for s in source if s not in layout.splits]
        if unknown:
            print(f"error: --source names unknown split(s) {', '.join(unknown)}; "
                  f"splits found: {', '.join(layout.splits)}", file=sys.stderr)
            return EXIT_USAGE
    cluster = None
    if args.dask:  # connected before any work: an unreachable scheduler is a usage error
        from .core.cluster import ClusterError, DaskCluster
        try:
            cluster = DaskCluster.connect(args.dask)
        except ClusterError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    printer = None if args.quiet else ProgressPrinter(interval=args.progress_every or DEFAULT_LINE_INTERVAL)
    try:
        result = scan(layout, workers=args.workers, on_progress=printer, should_cancel=stop_if_signalled,
                      cluster=cluster, decode_timeout=args.decode_timeout or None, cache_dir=cache_dir)
    finally:
        if printer:
            printer.finish()
        if cluster is not None:
            cluster.close()
    if result.extra["cache"]["message"]:
        print(f"cache: {result.extra['cache']['message']}", file=sys.stderr)
    source = source or default_source(result)
    findings = cached_findings(cache_dir, result, source, lambda: _check_leakage(result, source, printer))
    stop_if_signalled()  # a stop asked for after the last progress step writes nothing either
    try:
        doc = build_document(result, findings, source_splits=source, per_image=args.per_image)
    except StatsSourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json == "-":
        problem = _write_stdout(doc)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return EXIT_USAGE
    elif args.json:
        try:
            write_json_atomic(doc, args.json)
        except OSError as exc:  # the disk filled up or the folder went away during the scan
            print(f"error: cannot write {args.json}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
    problem = cli_outputs.write_outputs(args, result, layout, doc, findings, source, options)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    for warning in doc["normalization"]["warnings"] if "unavailable" not in doc["normalization"] else ():
        print(f"warning: {warning}", file=sys.stderr)
    if not args.quiet and args.json != "-":
        _print_summary(result, doc, [p for p in (args.json, args.html, args.drop_list) if p])
    if "unavailable" in doc["normalization"]:  # written anyway: its failures say what went wrong
        print(f"error: {doc['normalization']['unavailable']}", file=sys.stderr)
        return EXIT_USAGE
    return cli_outputs.gate_status(args, doc)


def _prestart_workers(args: argparse.Namespace, cache_dir: str | None) -> None:
    """The decoding workers forked before the listing (core/pool.py: ready when the first files
    to decode are known, without a new interpreter's imports); the codec first when a cache is
    used, so they have it too."""
    from .core.pool import prestart_workers
    from .core.scan import default_workers

    if args.workers is not None and args.workers < 1:
        return  # a usage error, reported below
    if cache_dir:
        from .core.cache import load_codec
        load_codec()
    prestart_workers(args.workers or default_workers(), args.decode_timeout or None)


def _write_stdout(doc: dict) -> str | None:
    """The export on standard output; why not, when it is closed or full."""
    from .core import json_stream
    try:
        json_stream.dump(doc, sys.stdout)   # per-image records a block at a time
        sys.stdout.write("\n")
        sys.stdout.flush()
    except OSError as exc:
        # Nothing more may go to that stream, not even the interpreter's flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return f"cannot write the export to standard output ({exc.strerror or exc})"
    return None


def _cache_note(cache: dict) -> str:
    if not cache["enabled"]:
        return ""
    return f"; {cache['used']} from the cache, {cache['rescanned']} decoded"


def _check_output(path: str | None, flag: str = "--json", example: str = "stats.json") -> str | None:
    """Refuse an output path we could not write, before spending a scan on it."""
    from .core.atomic import not_regular_reason

    if not path or path == "-":
        return None
    full = os.path.abspath(path)
    if os.path.isdir(full):
        return f"{flag} {path} is a folder; give a file name, e.g. {os.path.join(path, example)}"
    reason = not_regular_reason(full)
    if reason:
        return f"{flag} {path}: {reason}"
    folder = os.path.dirname(full)
    if not os.path.isdir(folder):
        return f"{flag} {path}: folder {folder} does not exist"
    if not os.access(folder, os.W_OK):
        return f"{flag} {path}: folder {folder} is not writable"
    try:  # the real test (read-only mounts, /proc, quotas): create and remove a file there
        fd, probe = tempfile.mkstemp(prefix=".tmp-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"{flag} {path}: cannot create files in {folder} ({exc.strerror or exc})"
    return None


def _check_decode_timeout(seconds: float) -> str | None:
    return "--decode-timeout must be 0 (no limit) or more" if not seconds >= 0 else None


def _check_workers(workers: int | None, dask: str | None = None) -> str | None:
    if workers is not None and dask:
        return "--workers sets the local process pool; with --dask the cluster's workers run the scan"
    return "--workers must be 1 or more" if workers is not None and workers < 1 else None


def _check_progress_every(seconds: float | None) -> str | None:
    return "--progress-every must be more than 0 seconds" if seconds is not None and not seconds > 0 else None


def _check_leakage(result, source: list[str], printer) -> list:
    """The leakage phase, its progress shown by the scan's printer (None: quiet)."""
    from .core.leakage import iter_scan_leakage, shared_passes

    # a process without Qt threads: the search may fork a child to share its passes, when asked
    shared_passes.allow(os.environ.get(shared_passes.ENV) == "1")
    steps = iter_scan_leakage(result, source)
    try:
        while True:
            try:
                step = next(steps)
            except StopIteration as stop:
                return stop.value
            stop_if_signalled()
            if printer is not None:
                printer(step)
    finally:
        steps.close()
        if printer is not None:
            printer.finish()


def _print_summary(result, doc: dict, outputs: list[str]) -> None:
    from .core.validation.summary import summary_lines

    norm = doc["normalization"]
    print(f"{result.root}: {len(result.images)} images decoded, {len(result.failures)} failed, "
          f"{len(result.skipped)} skipped; mode {result.mode}; {result.elapsed:.1f} s with "
          f"{result.workers} worker(s){_cache_note(result.extra['cache'])}")
    print(f"{'split':8} {'images':>8} {'failed':>6}  mean (0-1 scale)          std (0-1 scale)")
    for name, st in doc["splits"].items():
        if st["images"] == 0:
            print(f"{name:8} {0:>8} {st['failed']:>6}  no readable images in this split")
            continue
        mean = ", ".join(f"{v:.4f}" for v in st["mean"])
        std = ", ".join(f"{v:.4f}" for v in st["std"])
        print(f"{name:8} {st['images']:>8} {st['failed']:>6}  [{mean}]  [{std}]")
    mean = ", ".join(f"{v:.4f}" for v in norm["mean"])
    std = ", ".join(f"{v:.4f}" for v in norm["std"])
    print(f"normalization from {'+'.join(norm['source_splits'])}: "
          + (norm["unavailable"] if "unavailable" in norm else f"mean [{mean}] std [{std}]"))
    counts: dict[str, int] = {}
    for f in doc["leakage"]:
        counts[f["severity"]] = counts.get(f["severity"], 0) + 1
    if counts:
        print("leakage: " + ", ".join(f"{n} {sev}" for sev, n in sorted(counts.items())))
    for f in doc["leakage"]:  # what each error and warning says (info stays in the export)
        if f["severity"] in ("error", "warning"):
            print(f"  [{f['severity']}] {f['message']}")
    for line in summary_lines(doc):
        print(line)
    for out in outputs:
        print(f"wrote {out}")


