"""Child of test_jit_equality: a short model script whose every output goes to one .npz file.

Run it under ``TSPCM_NO_JIT=1`` and without: the parent compares the two files. It covers the stepper's
branches a procedure meets: a DC I-V staircase through the SMU path under compliance (1 cell), a spike
train on a 2x2 array with samples (the firing cascade, heating, melt-quench), a RESET pulse, idle time
(analytic drift and recovery), current sourcing with a voltage limit, and reads with noise.
"""

import sys

import numpy as np

from sim_backend import experiments as ex
from sim_backend.jit import DISABLED
from sim_backend.model import CellArray
from sim_backend.waveform import Waveform

out: dict[str, np.ndarray] = {}
one = CellArray(shape=1, seed=7)
levels, i_iv = ex.staircase_iv(one, v_max=2.0, step_v=0.05)
out["iv_current_a"] = i_iv
r = one.apply(ex.reset_pulse(), r_series_ohm=ex.R_AWG_OHM, c_node_f=ex.C_PROBE_F)
out["reset_peak_k"], out["reset_steps"] = r.peak_temperature_k, r.steps
one.idle(10.0)
r = one.apply(
    Waveform.dc(1e-6, 1e-3), source="current", vlimit_v=2.0, r_series_ohm=ex.R_SMU_OHM, windows_s=[[5e-4, 1e-3]]
)
out["isource_v"], out["isource_i"] = r.window_source_v, r.window_current_a
out["g_one_s"] = one.pcm_conductance_s(noise=True)

arr = CellArray(shape=(2, 2), seed=3)
arr.set_state(u=0.6)
train = ex.spike_train(1.8, count=5)
r = arr.apply(
    train, r_series_ohm=ex.R_AWG_OHM, c_node_f=ex.C_PROBE_F, sample_times_s=np.linspace(0, train.duration_s, 400)
)
out["train_samples_a"], out["train_fires"], out["train_steps"] = r.sample_current_a, r.fires, r.steps
out["train_peak_k"] = r.peak_temperature_k
arr.idle(1.0)
out["g_arr_s"] = arr.pcm_conductance_s()
out["vth_arr_v"] = arr.cell_threshold_v()
out["state"] = np.concatenate([one.S.ravel(), arr.S.ravel()])
out["rng"] = np.concatenate([one.rng, arr.rng]).astype(np.float64)
out["compiled"] = np.array([not DISABLED])
np.savez(sys.argv[1], **out)
