"""Device-model speed and memory (the device-model issue's benchmark). Not a test: prints ratios.

1. Cell-pulses per second for a 64x64 array receiving a train of spikes (resolved finely enough that
   switching and heating are right: the same adaptive stepping as every other call), against the same
   model stepping one cell at a time in a Python loop, both measured in this run. The per-cell loop is
   timed on a sample of cells and scaled to the array (it is linear in the number of cells).
2. Wall time of a full 4x4 train / forget / retrain pattern run (sim_backend.experiments.learn_pattern).
3. Memory of the state of a 256x256 array (bytes held by the state arrays), and of a 256x256 apply.

Run: python benchmarks/bench_model.py [--spikes 1000] [--sample-cells 8]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from sim_backend import experiments as ex
from sim_backend.model import CellArray
from sim_backend.params import DeviceParams


def state_bytes(m: CellArray) -> int:
    return sum(v.nbytes for v in vars(m.state).values() if isinstance(v, np.ndarray))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spikes", type=int, default=1000)
    ap.add_argument("--sample-cells", type=int, default=8)
    args = ap.parse_args()
    params = DeviceParams.load()
    train = ex.spike_train(1.75, count=args.spikes)

    arr = CellArray(params, shape=(64, 64), seed=1)
    arr.state.u[:] = 0.9
    t0 = time.perf_counter()
    r = arr.apply(train, r_series_ohm=ex.R_AWG_OHM)
    t_vec = time.perf_counter() - t0
    rate_vec = arr.n * args.spikes / t_vec

    loop = CellArray(params, shape=(64, 64), seed=1)
    loop.state.u[:] = 0.9
    t0 = time.perf_counter()
    for i in range(args.sample_cells):
        loop.apply(train, [i], r_series_ohm=ex.R_AWG_OHM)
    t_loop = (time.perf_counter() - t0) / args.sample_cells * arr.n
    rate_loop = arr.n * args.spikes / t_loop

    print(f"64x64 array, {args.spikes} spikes of 1.75 V x 100 ns ({r.steps} adaptive steps, {int(r.fires.sum())} firings)")
    print(f"  vectorized            {t_vec:8.2f} s   {rate_vec:12.3g} cell-pulses/s")
    print(f"  per-cell Python loop  {t_loop:8.2f} s   {rate_loop:12.3g} cell-pulses/s  (timed on {args.sample_cells} cells, scaled)")
    print(f"  ratio vectorized / loop: {rate_vec / rate_loop:.0f}x   (goal >= 100x)")

    pattern = np.array([[1, 0, 0, 1], [0, 1, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1]])
    small = CellArray(params, shape=(4, 4), seed=11)
    t0 = time.perf_counter()
    amp = ex.calibrate_spike_amplitude(small, np.argwhere(pattern > 0))
    t_cal = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = ex.learn_pattern(small, pattern, amplitude_v=amp)
    t_pat = time.perf_counter() - t0
    print(f"4x4 pattern at {amp:.2f} V: train + forget + retrain {t_pat:.2f} s wall (goal < 1 s), plus "
          f"{t_cal:.2f} s to calibrate the amplitude; spikes to criterion "
          f"{res['first'].spikes_to_criterion.max()} then {res['retrain'].spikes_to_criterion.max()}")

    big = CellArray(params, shape=(256, 256), seed=2)
    print(f"256x256 state: {state_bytes(big) / 1e6:.1f} MB (goal < 100 MB)")
    tracemalloc.start()
    big.apply(ex.spike_train(1.75, count=2), r_series_ohm=ex.R_AWG_OHM)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"256x256 two-spike apply: peak extra memory {peak / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
