"""Drift exponent, endurance window, delay versus overdrive and recovery on synthetic records."""

import math

import numpy as np
import pytest

from tspcm_lab.analysis import drift
from tspcm_lab.analysis.synthetic import delay_record, drift_record, recovery_record


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nu_within_10_percent_with_ci(seed):
    rng = np.random.default_rng(seed)
    t = np.logspace(0, 4, 30)
    state = np.repeat(["amorphous", "intermediate", "crystalline"], t.size)
    r = np.concatenate(
        [
            drift_record(0.1, 1e6, t, 0.02, rng),
            drift_record(0.05, 1e5, t, 0.02, rng),
            drift_record(0.0, 1e4, t, 0.02, rng),
        ]
    )
    out = drift.drift_per_state(state, np.tile(t, 3), r)
    assert out["amorphous"].nu == pytest.approx(0.1, rel=0.1)
    assert out["intermediate"].nu == pytest.approx(0.05, rel=0.1)
    assert abs(out["crystalline"].nu) < 0.005
    for d, nu in ((out["amorphous"], 0.1), (out["intermediate"], 0.05)):
        assert d.nu_ci_low < nu < d.nu_ci_high
        assert d.r0_ohm == pytest.approx({0.1: 1e6, 0.05: 1e5}[nu], rel=0.05)


def test_endurance_window():
    cycles = np.logspace(0, 6, 25)
    r_low = np.full(cycles.size, 1e4)
    r_high = 1e6 * (cycles / cycles[0]) ** -0.2  # window shrinks 0.2 decades per decade
    e = drift.endurance_window(cycles, r_low, r_high, min_window=10)
    assert e.first_window == pytest.approx(100)
    assert e.window_slope == pytest.approx(-0.2)
    assert 1e5 <= e.failure_cycle <= 1e5 * 10**0.25  # 100 * c^-0.2 reaches 10 at c = 1e5
    assert math.isnan(drift.endurance_window(cycles, r_low, r_low * 100).failure_cycle)
    with pytest.raises(ValueError, match="min_window"):
        drift.endurance_window(cycles, r_low, r_high, min_window=0.5)


def test_delay_versus_overdrive():
    v = np.linspace(1.2, 2.0, 12)
    td = delay_record(v, td0_s=1e-6, v0_V=0.1, vth_V=1.1, noise_fraction=0.05)
    d = drift.delay_vs_overdrive(v, td, vth_V=1.1)
    assert d.v0_V == pytest.approx(0.1, rel=0.1)
    assert d.td0_s == pytest.approx(1e-6, rel=0.2)
    assert d.v0_stderr_V < 0.01


@pytest.mark.parametrize("y0,y_inf", [(0.1, 0.9), (1.4, 1.1)])  # probability recovering / threshold relaxing
def test_recovery_tau(y0, y_inf):
    t = np.logspace(-8, -4, 24)
    y = recovery_record(t, 1e-6, y0, y_inf, noise=0.02 * abs(y_inf - y0), rng=np.random.default_rng(4))
    rec = drift.recovery_time(t, y)
    assert rec.tau_s == pytest.approx(1e-6, rel=0.15)
    assert rec.y_inf == pytest.approx(y_inf, abs=0.05 * abs(y_inf - y0))
    # the model-free 1 - 1/e point of a pure exponential sits at tau
    assert rec.t_recover_s == pytest.approx(1e-6, rel=0.3)
    with pytest.raises(ValueError, match="at least 4"):
        drift.recovery_time([1e-6, 2e-6], [0, 1])
