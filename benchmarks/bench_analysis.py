"""Speed of batch analysis, against a plain h5py read of the same files measured in the same run.

    python benchmarks/bench_analysis.py [--runs 1000] [--repeats 3] [--folder DIR]

Writes ``--runs`` small example run files (every procedure in turn, :mod:`tspcm_lab.analysis.examples`),
then, best of ``--repeats``:

1. **plain read**: ``h5py.File(path, "r")`` and ``[()]`` of every dataset in it (the floor: what reading
   the file costs at all), one process;
2. **serial**: ``analyze_paths(workers=1)``: open through the store's reader, extract, write
   ``/analysis/<procedure>`` back, build the summary rows;
3. **2 workers**: the same with a process pool of 2 (pool start-up included).

Goals (issue 7): per-file time of the serial analysis at most 2x the plain read; 2 workers at least
1.7x the serial files/s. It also splits the serial time into its parts (store reader open, column read,
extraction, write-back) so that a miss says where the time goes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import h5py

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tspcm_lab.analysis.batch import analyze_paths, find_run_files, write_run_analysis  # noqa: E402
from tspcm_lab.analysis.examples import PROCEDURES, write_example_run  # noqa: E402
from tspcm_lab.analysis.registry import get_analysis  # noqa: E402
from tspcm_lab.store.reader import open_run  # noqa: E402


def plain_read(files) -> None:
    def load(_name, obj):
        if isinstance(obj, h5py.Dataset):
            obj[()]

    for p in files:
        with h5py.File(p, "r") as f:
            f.visititems(load)


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def parts(files) -> dict[str, float]:
    """Seconds spent per stage over ``files`` (serial)."""
    out = dict.fromkeys(("open_run", "columns", "extract(reads columns again)", "write_back"), 0.0)
    for p in files:
        t0 = time.perf_counter()
        run = open_run(p)
        t1 = time.perf_counter()
        run.columns
        t2 = time.perf_counter()
        res = get_analysis(run.procedure)(run)
        t3 = time.perf_counter()
        write_run_analysis(p, res)
        t4 = time.perf_counter()
        for k, dt in zip(out, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            out[k] += dt
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--folder", help="where to write the run files (default: a temporary folder)")
    args = ap.parse_args(argv)
    tmp = None
    if args.folder:
        folder = Path(args.folder)
        folder.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench_analysis_")
        folder = Path(tmp.name)
    t = time.perf_counter()
    for k in range(args.runs):
        write_example_run(folder / f"run{k:05d}.h5", PROCEDURES[k % len(PROCEDURES)], seed=k)
    files = find_run_files([folder])
    n = len(files)
    print(
        f"{n} run files written in {time.perf_counter() - t:.1f} s "
        f"({sum(os.path.getsize(f) for f in files) / n / 1024:.0f} kB each), {os.cpu_count()} CPUs"
    )

    analyze_paths(files[:20], workers=1, progress=False)  # warm imports
    t_plain = best(lambda: plain_read(files), args.repeats)
    t_serial = best(lambda: analyze_paths(files, workers=1, progress=False), args.repeats)
    t_pool = best(lambda: analyze_paths(files, workers=2, progress=False), args.repeats)
    split = parts(files)

    ms = 1e3 / n
    print(f"plain h5py read : {n / t_plain:8.0f} files/s  {t_plain * ms:6.2f} ms/file")
    print(f"serial analysis : {n / t_serial:8.0f} files/s  {t_serial * ms:6.2f} ms/file")
    print(f"2 workers       : {n / t_pool:8.0f} files/s  {t_pool * ms:6.2f} ms/file")
    print("serial split    : " + ", ".join(f"{k} {v * ms:.2f} ms" for k, v in split.items()))
    ratio = t_serial / t_plain
    speedup = t_serial / t_pool
    print(f"ratio analysis / plain read = {ratio:.1f}x (goal <= 2x): {'met' if ratio <= 2 else 'NOT met'}")
    print(f"2 workers / serial speed-up = {speedup:.2f}x (goal >= 1.7x): {'met' if speedup >= 1.7 else 'NOT met'}")
    try:
        load = os.getloadavg()[0]
        print(
            f"load average (1 min) at the end: {load:.2f} on {os.cpu_count()} CPUs "
            "(other processes on the machine lower the 2-worker figure)"
        )
    except OSError:
        pass
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
