"""The scope front end's low-pass, compiled in sim_backend.bench so that no procedure run imports
scipy.signal (~1 s): it must equal scipy's lfilter of the same first-order filter to the last bit."""

import numpy as np
import pytest
from scipy.signal import lfilter

from sim_backend.bench import SCOPE_BANDWIDTH_HZ, scope_bandwidth


@pytest.mark.parametrize("dt_s", [2e-11, 1e-9, 1e-7])
def test_scope_bandwidth_equals_scipy_lfilter_bit_for_bit(dt_s):
    rng = np.random.default_rng(7)
    step = np.r_[np.zeros(300), np.full(700, 3e-4)]
    for current in (rng.standard_normal(20000) * 1e-3, np.abs(rng.standard_cauchy(5000)) * 1e-6, step):
        alpha = 1.0 - np.exp(-2 * np.pi * SCOPE_BANDWIDTH_HZ * dt_s)
        expected, _ = lfilter([alpha], [1.0, alpha - 1.0], current, zi=[(1.0 - alpha) * current[0]])
        np.testing.assert_array_equal(scope_bandwidth(current, dt_s), expected)


def test_scope_bandwidth_smears_a_step_over_its_time_constant():
    dt_s = 1e-10
    out = scope_bandwidth(np.r_[np.zeros(10), np.ones(1000)], dt_s)
    tau_samples = 1 / (2 * np.pi * SCOPE_BANDWIDTH_HZ * dt_s)
    assert out[0] == 0 and out[10] < 0.1
    assert out[10 + int(round(tau_samples))] == pytest.approx(1 - np.exp(-1), abs=0.05)
    assert scope_bandwidth(np.array([1.0]), dt_s).tolist() == [1.0]
