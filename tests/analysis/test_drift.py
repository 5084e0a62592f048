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


#: the delay-recovery procedure's default pulse intervals, scaled for a 400 ns recovery (tests/procedures/test_fit.py)
PROBE_GRID_S = np.array([40e-9, 70e-9, 100e-9, 150e-9, 200e-9, 300e-9, 400e-9, 600e-9, 800e-9, 1.1e-6, 1.6e-6, 3.2e-6])


def step_probes(tau_s, v_start_fraction, fractions=(0.6, 0.75, 0.9), grid=PROBE_GRID_S * 4 / 3):
    """Probe records of a switch whose threshold recovers as 1 - (1 - v_start) exp(-t/tau) and fires whenever the
    probe is above it: the firing probability falls from 1 to 0 within one step of the pulse-interval grid."""
    f, t, p = [], [], []
    for lv in fractions:
        crossing = tau_s * math.log((1 - v_start_fraction) / (1 - lv))
        f += [lv] * grid.size
        t += list(grid)
        p += [1.0 if g < crossing else 0.0 for g in grid]
    return f, t, p


@pytest.mark.parametrize("tau_s", [3e-7, 4e-7, 5e-7])
@pytest.mark.parametrize("v_start_fraction", [0.3, 0.4, 0.5])
def test_probe_crossings_carry_the_grids_resolution_into_taus_error(tau_s, v_start_fraction):
    """Each probe's crossing is interpolated inside the grid step where the probability jumps; where it lands is
    not the truth (tau 400 ns, V_start 0.4 Vth: 354 ns, the least-squares standard error 0.6 %, 20 of them off,
    as an outside try's two cells found). The grid's part of the error, each crossing uniform in its step,
    covers it at 95 % on every case here; the least squares' alone does not on all."""
    r = drift.recovery_from_probes(*step_probes(tau_s, v_start_fraction))
    assert len(r.crossing_grid_stderr_s) == 3 and all(g > 0 for g in r.crossing_grid_stderr_s)
    total = math.hypot(r.tau_stderr_s, r.tau_grid_stderr_s)
    assert abs(r.tau_s - tau_s) <= 1.96 * total, (r.tau_s, r.tau_stderr_s, r.tau_grid_stderr_s)
    assert r.tau_grid_stderr_s < 0.25 * tau_s  # a resolution, not an absurd width


def test_least_squares_alone_misses_taus_grid_error():
    r = drift.recovery_from_probes(*step_probes(4e-7, 0.4))
    assert abs(r.tau_s - 4e-7) > 10 * r.tau_stderr_s  # the case the grid's part is for
    # a grid ten times finer: the crossings' brackets and their error shrink with it
    fine = drift.recovery_from_probes(*step_probes(4e-7, 0.4, grid=np.geomspace(40e-9, 4e-6, 120)))
    assert fine.tau_grid_stderr_s < 0.2 * r.tau_grid_stderr_s and abs(fine.tau_s - 4e-7) < 0.03 * 4e-7
