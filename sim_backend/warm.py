"""Compile every kernel of the device model once, into numba's on-disk cache (``sim_backend/__pycache__``).

``.ci/setup`` runs ``python -m sim_backend.warm`` after installing, so that no test and no first
``tspcm`` command pays the compilation (tens of seconds on 2 cores) in its hot path. Each kernel is called
with the argument types the model uses: one cell (serial) and 64 cells (``prange``), voltage and current
sourcing, idle time, reads and thresholds, and the scope's low-pass. A cache that is already warm loads
in about a second. Prints what it did; exit code 0.
"""

from __future__ import annotations

import sys
import time

import numpy as np


def warm() -> float:
    """Run each compiled kernel once; returns the seconds it took (compilation, or loading the cache)."""
    start = time.perf_counter()
    from sim_backend.bench import scope_bandwidth
    from sim_backend.experiments import C_PROBE_F
    from sim_backend.model import PARALLEL_MIN_CELLS, CellArray
    from sim_backend.waveform import Waveform

    for shape in (1, (8, PARALLEL_MIN_CELLS // 8)):  # serial and parallel runners
        m = CellArray(shape=shape, seed=1)
        m.apply(Waveform.dc(0.2, 1e-4), r_series_ohm=1050.0, ilimit_a=1e-4, c_node_f=C_PROBE_F)
        m.apply(
            Waveform.staircase([0.0, 0.5], 1e-4),
            r_series_ohm=1050.0,
            windows_s=[[5e-5, 1e-4]],
            sample_times_s=[5e-5],
            c_node_f=C_PROBE_F,
        )
        m.apply(Waveform.dc(1e-6, 1e-4), source="current", vlimit_v=2.0, c_node_f=C_PROBE_F)
        m.idle(1.0)
        m.pcm_conductance_s(noise=True)
        m.cell_threshold_v()
    scope_bandwidth(np.zeros(4), 1e-9)
    return time.perf_counter() - start


def main() -> int:
    from sim_backend.jit import DISABLED

    if DISABLED:
        print("sim_backend.warm: TSPCM_NO_JIT is set: nothing to compile")
        return 0
    print(f"sim_backend.warm: numba kernels compiled or loaded from the cache in {warm():.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
