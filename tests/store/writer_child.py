"""A run writer in its own process, driven line by line over stdin/stdout by the SWMR tests.

usage: writer_child.py PATH grow|crash
  grow:  3 times: append 100 rows, flush, print "flushed N", wait for a line on stdin; then close.
  crash: append 250 rows, flush, print "flushed 250", append 50 rows that stay buffered, print
         "buffered", then wait on stdin (the test kills it with SIGKILL).
"""

import sys

import numpy as np

from tspcm_lab.store import RunWriter

path, mode = sys.argv[1], sys.argv[2]
writer = RunWriter.create(
    path,
    parameters={"amplitude": (1.5, "V")},
    columns=["Time (s)", "Current (A)"],
    seed=7,
    title=mode,
    flush_interval_s=None,
)  # flushes only when told: no wall-clock dependence


def rows(start, n):
    t = np.arange(start, start + n) * 1e-6
    writer.append_columns({"Time (s)": t, "Current (A)": 1e-3 * np.sin(t * 1e5)})


if mode == "grow":
    for k in range(3):
        rows(100 * k, 100)
        writer.flush()
        print(f"flushed {writer.rows}", flush=True)
        sys.stdin.readline()
    writer.close()
elif mode == "crash":
    rows(0, 250)
    writer.log("WARNING", "about to be killed")
    writer.flush()
    print("flushed 250", flush=True)
    for i in range(50):
        writer.append_row({"Time (s)": 1.0 + i, "Current (A)": 0.0})
    print("buffered", flush=True)
    sys.stdin.readline()
