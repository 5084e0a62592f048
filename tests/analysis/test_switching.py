"""Threshold-switching extraction on synthetic I-V sweeps with known Vth, Vhold and R_on."""

import math

import numpy as np
import pytest

from procedures.library import switching as sw
from tspcm_lab.analysis.synthetic import staircase, ts_iv

STEP = 0.01
R_S = 1e4


def test_branches_follow_voltage_direction_and_polarity():
    v, _ = staircase(1.0, 0.1, bipolar=True)
    br = sw.split_branches(v)
    assert [(b.direction, b.polarity) for b in br] == [(1, 1), (-1, 1), (1, -1), (-1, -1)]
    # the turning point belongs to both branches
    assert br[0].stop - 1 == br[1].start
    assert v[br[0].stop - 1] == pytest.approx(1.0)


def test_series_resistance_correction():
    assert sw.device_voltage([1.0, 2.0], [1e-4, 2e-4], 1e3) == pytest.approx([0.9, 1.8])
    with pytest.raises(ValueError, match="series_resistance_ohm"):
        sw.device_voltage([1.0], [1e-4], -5)


@pytest.mark.parametrize("criterion", sw.CRITERIA)
def test_vth_vhold_per_cycle_within_one_step(criterion):
    rng = np.random.default_rng(1)
    truths = 1.1 + 0.03 * rng.standard_normal(8)
    holds = 0.6 + 0.02 * rng.standard_normal(8)
    vs, is_, cs = [], [], []
    for c, (vth, vh) in enumerate(zip(truths, holds)):
        v, _ = staircase(2.0, STEP)
        vs.append(v)
        is_.append(ts_iv(v, vth_V=vth, vhold_V=vh, r_series_ohm=R_S, noise=0.01, floor_A=1e-12, rng=rng))
        cs.append(np.full(v.size, c))
    res = sw.analyze_sweep(
        np.concatenate(vs), np.concatenate(is_), np.concatenate(cs), series_resistance_ohm=R_S, criterion=criterion
    )
    assert [r.cycle for r in res] == list(range(8))
    for r, vth, vh in zip(res, truths, holds):
        assert abs(r.vth_V - vth) <= STEP
        assert abs(r.vhold_V - vh) <= STEP
        assert r.hold_below_threshold
        assert r.on_off_ratio > 1e4
    stats = sw.summarize([r.vth_V for r in res])
    assert stats.n == 8
    assert stats.mean == pytest.approx(truths.mean(), abs=STEP)
    assert stats.cv == pytest.approx(truths.std(ddof=1) / truths.mean(), rel=0.3)


def test_without_series_correction_vhold_is_off_by_the_resistor_drop():
    v, c = staircase(2.0, STEP)
    i = ts_iv(v, vhold_V=0.6, r_series_ohm=R_S, i_hold_A=1e-5)
    raw = sw.analyze_sweep(v, i, c)[0]
    corrected = sw.analyze_sweep(v, i, c, series_resistance_ohm=R_S)[0]
    assert abs(corrected.vhold_V - 0.6) <= STEP
    assert raw.vhold_V - 0.6 > 5 * STEP  # I_hold * R_s = 0.1 V


def test_on_resistance_and_fitted_hold_voltage_noise_free():
    v, c = staircase(2.0, STEP)
    i = ts_iv(v, vhold_V=0.6, r_on_ohm=500, r_series_ohm=R_S, compliance_A=1e-4)
    r = sw.analyze_sweep(v, i, c, series_resistance_ohm=R_S)[0]
    assert r.r_on_ohm == pytest.approx(500, rel=1e-3)
    assert r.vhold_fit_V == pytest.approx(0.6, abs=1e-4)
    assert r.ion_A == pytest.approx(1e-4, rel=1e-6)  # compliance
    assert r.ioff_A == pytest.approx(1.1 / (1e9 + R_S), rel=1e-2)


def test_stacked_cell_reports_both_events():
    v, c = staircase(2.5, STEP)
    # TS fires at 1.1 V into ~1 uA through a 1 MOhm amorphous PCM; the PCM switches when 1 V sits on it
    i = ts_iv(v, vth_V=1.1, r_pcm_ohm=1e6, v_pcm_th_V=1.0, i_hold_A=1e-7, r_series_ohm=R_S)
    r = sw.analyze_sweep(v, i, c, series_resistance_ohm=R_S)[0]
    assert len(r.up_events) == 2
    ts, pcm = r.up_events
    assert abs(ts.voltage_V - 1.1) <= STEP
    expected_pcm = 0.6 + 1.0 * (1e6 + 500) / 1e6  # Vhold + V_pcm_th + I*R_on on the device
    assert abs(pcm.voltage_V - expected_pcm) <= 2 * STEP
    assert ts.current_after_A < 2e-6 < pcm.current_after_A


def test_bipolar_sweep_gives_signed_thresholds():
    v, c = staircase(2.0, STEP, cycles=2, bipolar=True)
    i = ts_iv(v, r_series_ohm=R_S)
    res = sw.analyze_sweep(v, i, c, series_resistance_ohm=R_S)
    assert [(r.cycle, r.polarity) for r in res] == [(0, 1), (0, -1), (1, 1), (1, -1)]
    for r in res:
        assert abs(abs(r.vth_V) - 1.1) <= STEP and np.sign(r.vth_V) == r.polarity
    # cycles are also detected when no labels are given
    assert [(r.cycle, r.polarity) for r in sw.analyze_sweep(v, i, series_resistance_ohm=R_S)] == [
        (0, 1),
        (0, -1),
        (1, 1),
        (1, -1),
    ]


def test_no_switching_gives_nan_not_a_number_from_noise():
    v, c = staircase(0.8, STEP)
    i = ts_iv(v, vth_V=1.1, noise=0.05, floor_A=1e-12)  # never reaches threshold
    r = sw.analyze_sweep(v, i, c)[0]
    assert math.isnan(r.vth_V) and math.isnan(r.vhold_V)
    assert not r.hold_below_threshold


def test_bad_criterion_is_named():
    with pytest.raises(ValueError, match="criterion"):
        sw.analyze_cycle([0, 1], [0, 1], criterion="best")


def test_cycle_to_cycle_and_device_to_device():
    rng = np.random.default_rng(3)
    dev_means = 1.1 + 0.1 * rng.standard_normal(20)
    values = np.concatenate([m + 0.02 * rng.standard_normal(50) for m in dev_means])
    device = np.repeat(np.arange(20), 50)
    var = sw.variability(values, device)
    assert var.n_devices == 20 and var.n_values == 1000
    assert var.c2c_sigma == pytest.approx(0.02, rel=0.1)
    assert var.d2d_sigma == pytest.approx(dev_means.std(ddof=1), rel=0.05)
    assert var.c2c_cv == pytest.approx(var.c2c_sigma / values.mean())


def _stack_sweep(held_until_A, rng, cycles=4, r_s=1000.0, comp=1e-4, vhold=0.55, vh=0.5, r_on=8500.0):
    """A TS + PCM stack under a 0 -> 2 -> 0 V staircase: the first cycle fires onto a switched amorphous part
    that holds vh (V_dev = vhold + vh + I r_on) up to ``held_until_A`` (0: never), then conducts ohmically through
    a residual amorphous part (1.5 kOhm, then 1 kOhm in the later cycles); 0.3 uA current noise."""
    vs, is_, cs = [], [], []
    for c in range(cycles):
        v, _ = staircase(2.0, STEP)
        i = np.full(v.size, 1e-9)
        on, held = False, c == 0 and held_until_A > 0
        r_am = 1500.0 if c == 0 else 1000.0
        for k in range(v.size):
            up = k <= np.argmax(v)
            if up and v[k] >= 1.3:
                on = True
            if held:
                x = (v[k] - vhold - vh) / (r_on + r_s)
                if x > held_until_A or not up:
                    held = False
            if not held:
                x = (v[k] - vhold) / (r_on + r_am + r_s)
            if on and x > 2.5e-6:
                i[k] = min(x, comp)
            elif not up:
                on = False
        vs.append(v)
        is_.append(i + 3e-7 * rng.standard_normal(v.size) * (i > 1e-6))
        cs.append(np.full(v.size, c))
    return np.concatenate(vs), np.concatenate(is_), np.concatenate(cs)


def test_held_segments_give_the_on_resistance_without_the_amorphous_part():
    """Where the switched amorphous part holds its voltage the slope is R_on + R_cryst (8500 Ohm here); the ohmic
    branch's slope (10 kOhm) carries the residual amorphous part too. A sweep without held segments gives None."""
    v, i, c = _stack_sweep(70e-6, np.random.default_rng(2))
    fit = sw.held_on_state_fit(v, i, c, vhold_V=0.55, series_resistance_ohm=1000.0, compliance_A=1e-4)
    assert fit is not None and fit.slope_ohm == pytest.approx(8500.0, rel=0.03)
    assert fit.intercept_V == pytest.approx(1.05, abs=0.03) and fit.n_segments == 1
    ohmic = sw.analyze_sweep(v, i, c, series_resistance_ohm=1000.0, compliance_A=1e-4)
    assert ohmic[-1].r_on_ohm == pytest.approx(9500.0, rel=0.02)
    v, i, c = _stack_sweep(0.0, np.random.default_rng(2))
    assert sw.held_on_state_fit(v, i, c, vhold_V=0.55, series_resistance_ohm=1000.0, compliance_A=1e-4) is None
