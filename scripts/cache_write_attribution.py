"""Where filling the scan cache's cost goes: whole `main.py scan` processes of DATA, with the
cache (filling an empty one) and with --no-cache in turns, each with the cache's code paths timed
inside every process, workers included (thread CPU seconds: scripts/attribution/sitecustomize.py
wraps them) and the sums printed per path. Steadier than the whole-process ratio on a busy machine.

Usage: python scripts/cache_write_attribution.py DATA [--pairs N] [--work DIR]
"""
from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(data: str, mode: str, work: Path) -> None:
    log, cache = work / f"{mode}.log", work / "cache"
    log.unlink(missing_ok=True)
    shutil.rmtree(cache, ignore_errors=True)
    env = dict(os.environ, ATTRIB_OUT=str(log), ATTRIB_REPO=str(REPO),
               PYTHONPATH=str(REPO / "scripts" / "attribution"), PYTHONPYCACHEPREFIX=str(work / "pycache"))
    extra = ["--no-cache"] if mode == "plain" else ["--cache-dir", str(cache)]
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "main.py", "scan", data, "--json", str(work / f"{mode}.json"),
                             "--quiet", *extra], cwd=str(REPO), env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"the {mode} scan failed")
    wall = time.perf_counter() - t0
    sums: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0])
    for line in log.read_text().splitlines():
        _, _, name, cpu, spent = line.split()
        s = sums[name]
        s[0], s[1], s[2] = s[0] + float(cpu), s[1] + float(spent), s[2] + 1
    total = usage.ru_utime + usage.ru_stime
    print(f"{mode}: whole process {total:.2f} CPU s, {wall:.2f} s, peak {usage.ru_maxrss / 1024:.0f} MB, "
          f"load {os.getloadavg()[0]:.1f}")
    for name in sorted(sums):
        cpu, spent, calls = sums[name]
        print(f"  {name:20s} {cpu:8.3f} CPU s {spent:8.3f} s  {calls:5d} calls  {cpu / total:6.2%} of the CPU")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--work", default=None)
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="cache-attribution-"))
    work.mkdir(parents=True, exist_ok=True)
    for k in range(args.pairs):
        for mode in (("cold", "plain") if k % 2 == 0 else ("plain", "cold")):
            run(os.path.abspath(args.data), mode, work)
    if not args.work:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
