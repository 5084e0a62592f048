"""Speed and memory of the HDF5 run store, against PyMeasure's CSV storage measured in the same run.

    python benchmarks/bench_store.py [--rows 100000] [--memory-rows 1000000]

1. rows/s: one procedure emits `--rows` rows of 5 float columns with ``emit('results', row)``; run
   through PyMeasure's ``Worker`` + CSV ``Results`` and through ``HDF5Worker`` + ``HDF5Results``
   (start of the worker to the file closed). Goal: ratio HDF5/CSV >= 1.
2. values/s of ``emit('batch results', {column: array})`` (5 columns, 10 batches); the CSV Worker
   splits batches into rows, so its figure is given for comparison. Goal: >= 1e7 values/s.
3. memory: `--memory-rows` rows appended one by one to a `RunWriter`; RSS at start, 10 %, 50 %, the
   last row and after closing (flat = the rows go to the file, not to memory).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pymeasure.experiment import BooleanParameter, IntegerParameter, Procedure, Results, Worker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tspcm_lab.store import HDF5Results, HDF5Worker, RunWriter, open_run

COLUMNS = ["Time (s)", "Voltage (V)", "Current (A)", "Resistance (ohm)", "Temperature (K)"]


class StreamProcedure(Procedure):
    """Emits `rows` rows of 5 float columns, one by one or in `batches` whole-column batches."""

    rows = IntegerParameter("Rows", default=100_000, minimum=1, maximum=100_000_000)
    batches = IntegerParameter("Batches", default=0, minimum=0, maximum=10_000)
    unused = BooleanParameter("Unused", default=False)
    DATA_COLUMNS = COLUMNS

    def execute(self):
        t = np.arange(self.rows) * 1e-6
        data = {
            "Time (s)": t,
            "Voltage (V)": np.sin(t),
            "Current (A)": np.cos(t) * 1e-6,
            "Resistance (ohm)": 1e4 + t,
            "Temperature (K)": 300.0 + t,
        }
        if self.batches:
            for part in np.array_split(np.arange(self.rows), self.batches):
                self.emit("batch results", {k: v[part] for k, v in data.items()})
            return
        rows = [dict(zip(data, values)) for values in zip(*(v.tolist() for v in data.values()))]
        for row in rows:
            self.emit("results", row)


def _run(worker_cls, results) -> float:
    worker = worker_cls(results)
    t0 = time.perf_counter()
    worker.start()
    while worker.is_alive():
        worker.join(600)
    return time.perf_counter() - t0


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows for the rows/s comparison")
    parser.add_argument("--memory-rows", type=int, default=1_000_000, help="rows of the memory run")
    args = parser.parse_args()
    logging.getLogger("pymeasure").setLevel(logging.WARNING)
    table: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # 1. rows/s, emit('results') through the Workers
        csv_s = _run(Worker, Results(StreamProcedure(rows=args.rows), str(tmp / "rows.csv")))
        h5_s = _run(HDF5Worker, HDF5Results(StreamProcedure(rows=args.rows), tmp / "rows.h5"))
        assert open_run(tmp / "rows.h5").n_rows == args.rows
        table += [
            ("rows/s, PyMeasure CSV Results/Worker", f"{args.rows / csv_s:,.0f}"),
            ("rows/s, HDF5Results/HDF5Worker", f"{args.rows / h5_s:,.0f}"),
            ("ratio HDF5 / CSV (goal >= 1)", f"{csv_s / h5_s:.2f}"),
        ]
        # 2. values/s, emit('batch results')
        batch_rows = 10 * args.rows
        h5b_s = _run(HDF5Worker, HDF5Results(StreamProcedure(rows=batch_rows, batches=10), tmp / "batch.h5"))
        assert open_run(tmp / "batch.h5").n_rows == batch_rows
        csvb_s = _run(Worker, Results(StreamProcedure(rows=args.rows, batches=10), str(tmp / "batch.csv")))
        table += [
            ("values/s, batch emits, CSV", f"{5 * args.rows / csvb_s:,.0f}"),
            ("values/s, batch emits, HDF5 (goal >= 1e7)", f"{5 * batch_rows / h5b_s:,.0f}"),
        ]
        # 3. memory over a long run of single-row appends
        rss_start = rss_mb()
        marks = {args.memory_rows // 10: "10 %", args.memory_rows // 2: "50 %", args.memory_rows - 1: "end"}
        rss = {}
        t0 = time.perf_counter()
        with RunWriter.create(tmp / "memory.h5", columns=COLUMNS) as writer:
            row = dict.fromkeys(COLUMNS, 1.0)
            for i in range(args.memory_rows):
                row["Time (s)"] = i * 1e-6
                writer.append_row(row)
                if i in marks:
                    rss[marks[i]] = rss_mb()
        mem_s = time.perf_counter() - t0
        rss_end = rss_mb()
        assert open_run(tmp / "memory.h5").n_rows == args.memory_rows
        table += [
            (f"RunWriter.append_row rows/s ({args.memory_rows:,} rows)", f"{args.memory_rows / mem_s:,.0f}"),
            (
                "RSS MB at start / 10 % / 50 % / end / closed",
                f"{rss_start:.0f} / {rss['10 %']:.0f} / {rss['50 %']:.0f} / {rss['end']:.0f} / {rss_end:.0f}",
            ),
            ("file MB, 1e6 rows x 5 float64", f"{os.path.getsize(tmp / 'memory.h5') / 1e6:.1f}"),
        ]
    width = max(len(name) for name, _ in table)
    for name, value in table:
        print(f"{name:<{width}}  {value:>16}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
