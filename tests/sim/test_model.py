"""The device model's physics, as the device-model issue asks it to show (sim_backend.model).

Every check drives the model through voltage waveforms and series resistances, as the bench does, and
looks at currents and the PCM's own conductance; nothing is set by hand except initial states.
"""

import numpy as np
import pytest
from scipy.optimize import curve_fit
from scipy.stats import spearmanr

from sim_backend.model import CellArray, ModelError
from sim_backend.params import DeviceParams, ParameterError
from sim_backend.waveform import Waveform, WaveformError

R_SMU = 1050.0  # SMU path of the default bench (1 kOhm series resistor + 50 Ohm sense)
R_AWG = 100.0  # AWG path (50 Ohm output + 50 Ohm sense)


def cell(seed=1, u=None, **overrides):
    params = DeviceParams.load().replace(**overrides) if overrides else DeviceParams.load()
    m = CellArray(params, seed=seed)
    if u is not None:
        m.state.u[:] = u
    return m


def ramp_iv(m, v_max=2.0, step_v=0.01, ilimit_a=30e-6, step_s=1e-3):
    up = np.arange(0, v_max + step_v / 2, step_v)
    levels = np.concatenate([up, up[::-1]])
    starts = np.arange(levels.size) * step_s
    windows = np.stack([starts + step_s / 2, starts + step_s], axis=1)
    r = m.apply(Waveform.staircase(levels, step_s), r_series_ohm=R_SMU, ilimit_a=ilimit_a, windows_s=windows)
    return levels, r.window_current_a[0]


# 1. threshold switching -----------------------------------------------------------------------------
def test_quasi_static_ramp_switches_with_hysteresis_and_is_volatile():
    m = cell(u=0.4)
    g_before = m.pcm_conductance_s()[0]
    levels, current = ramp_iv(m)
    n = levels.size // 2
    keep = levels >= 0.05  # the 0 V points carry no current to take a logarithm of
    up_i, down_i = current[:n][keep[:n]], current[n:][keep[n:]]
    up_v, down_v = levels[:n][keep[:n]], levels[n:][keep[n:]]
    jump = int(np.argmax(np.diff(np.log10(np.abs(up_i) + 1e-15))))
    vth = up_v[jump + 1]
    assert np.log10(up_i[jump + 1] / up_i[jump]) >= 2.0, "at least two decades at the cell threshold"
    assert up_i[jump] < 1e-6, "off current below threshold"
    drop = int(np.argmax(-np.diff(np.log10(np.abs(down_i) + 1e-15))))
    vhold = down_v[drop]
    assert vhold < vth - 0.1, f"turn-off on the way down ({vhold} V) below the threshold ({vth} V)"
    # volatile: a later low-voltage read finds the TS off again
    r = m.apply(Waveform.dc(0.2, 1e-3), r_series_ohm=R_SMU)
    assert not m.state.ts_on[0] and r.mean_current_a[0] < 1e-9
    # the sweep stayed below the SET regime: the PCM is unchanged
    assert m.pcm_conductance_s()[0] == pytest.approx(g_before, rel=1e-6)


# 2. synaptic plasticity ------------------------------------------------------------------------------
def neurosim(p, a, g_min, g_max, p_max=40):
    b = (g_max - g_min) / (1 - np.exp(-p_max / a))
    return b * (1 - np.exp(-p / a)) + g_min


def test_identical_set_pulses_potentiate_with_saturation_and_fit_neurosim():
    m = cell(seed=4)
    g = [m.pcm_conductance_s()[0]]
    for _ in range(40):
        m.apply(Waveform.pulses(2.0, 500e-9, 2e-6, count=1, rise_s=10e-9, fall_s=10e-9), r_series_ohm=R_AWG)
        m.idle(1e-3)
        g.append(m.pcm_conductance_s()[0])
    g = np.array(g)
    pulses = np.arange(g.size)
    assert g[-1] / g[0] >= 10, "Gmax/Gmin >= 10"
    assert spearmanr(pulses, g).statistic > 0.9, "rises, on average monotonically"
    first, last = g[10] - g[0], g[-1] - g[-11]
    assert last < 0.3 * first, "saturates: the last 10 pulses add far less than the first 10"
    (a, g_min, g_max), _ = curve_fit(neurosim, pulses, g, p0=(8, g[0], g[-1]), bounds=([0.1, 0, 0], [400, 1, 1]))
    assert 0.5 < a < 40
    resid = g - neurosim(pulses, a, g_min, g_max)
    assert 1 - resid.var() / g.var() > 0.9, "NeuroSim form fits"


def test_reset_pulse_depresses_abruptly_and_amplitude_ladder_grades_it():
    m = cell(seed=5, u=0.05)
    g0 = m.pcm_conductance_s()[0]
    m.apply(Waveform.pulses(2.8, 50e-9, 1e-6, rise_s=5e-9, fall_s=2e-9), r_series_ohm=R_AWG)
    m.idle(1e-3)
    assert g0 / m.pcm_conductance_s()[0] >= 5
    after = []
    for amp in (2.2, 2.25, 2.3, 2.35, 2.4):
        m.reset()
        m.state.u[:] = 0.05
        m.apply(Waveform.pulses(amp, 50e-9, 1e-6, rise_s=5e-9, fall_s=2e-9), r_series_ohm=R_AWG)
        m.idle(1e-3)
        after.append(m.pcm_conductance_s()[0])
    assert np.all(np.diff(after) < 0), f"graded depression with amplitude: {after}"
    assert after[0] < 0.9 * g0


# 3. intrinsic plasticity -------------------------------------------------------------------------------
def measured_threshold(m):
    levels, current = ramp_iv(m, step_v=0.01, ilimit_a=20e-6)
    n = levels.size // 2
    return levels[:n][np.argmax(current[:n] >= 19e-6)]  # the firing current, at 20 uA compliance


def test_cell_threshold_falls_as_conductance_rises():
    states = [0.97, 0.95, 0.92, 0.88, 0.84, 0.8]  # the amorphous-rich half, where the PCM sets it
    g, vth = [], []
    for u in states:
        m = cell(seed=6, u=u)
        g.append(m.pcm_conductance_s()[0])
        vth.append(measured_threshold(m))
    assert np.all(np.diff(g) > 0)
    assert np.all(np.diff(vth) < 0), f"threshold falls monotonically with conductance: {vth}"


def firing_probability(m, amplitude=2.0, n=40):
    r = m.apply(Waveform.pulses(amplitude, 100e-9, 2e-6, count=n, rise_s=10e-9, fall_s=10e-9), r_series_ohm=R_AWG)
    return r.fires[0] / n


def test_firing_probability_under_a_fixed_train_rises_with_conductance():
    probs = []
    for u in (1.0, 0.97, 0.94, 0.9):
        m = cell(seed=7, u=u, pcm__heat_coupling=0.0)  # hold the state fixed while counting
        probs.append(firing_probability(m, amplitude=1.75))
    assert probs[0] < probs[-1]
    assert np.all(np.diff(probs) >= 0), f"firing probability vs conductance: {probs}"


def test_oscillation_frequency_with_a_cell_capacitance_follows_the_pcm_state():
    freqs = []
    for u in (0.985, 0.97, 0.94, 0.9):
        m = cell(seed=8, u=u)
        r = m.apply(Waveform.dc(2.5, 40e-6), r_series_ohm=1e6, c_cell_f=2e-12, fire_current_a=1e-6)
        freqs.append(r.fires[0] / 40e-6)
    assert min(freqs) > 1e5, "it oscillates"
    assert np.all(np.diff(freqs) < 0), f"frequency monotonic in the PCM state: {freqs}"


# 4. positive feedback and savings ---------------------------------------------------------------------------
def train_to_criterion(m, amplitude=1.7, spikes=10, criterion=0.8, max_trains=60):
    """Spike trains until the cell fires on >= criterion of a train's spikes; returns spikes used."""
    used = 0
    history = []
    for _ in range(max_trains):
        r = m.apply(Waveform.pulses(amplitude, 100e-9, 2e-6, count=spikes, rise_s=10e-9, fall_s=10e-9), r_series_ohm=R_AWG)
        used += spikes
        history.append((r.fires[0], m.pcm_conductance_s()[0]))
        if r.fires[0] >= criterion * spikes:
            return used, history
    return None, history


def test_repeated_spike_trains_raise_firing_and_conductance_and_retraining_saves():
    m = cell(seed=9)
    first, history = train_to_criterion(m)
    assert first is not None
    fires = [h[0] for h in history]
    g = [h[1] for h in history]
    assert fires[-1] > fires[0] and g[-1] > g[0], "firing and conductance rise together"
    # forget: a partial RESET
    m.apply(Waveform.pulses(2.5, 50e-9, 1e-6, rise_s=5e-9, fall_s=2e-9), r_series_ohm=R_AWG)
    m.idle(1.0)
    assert m.pcm_conductance_s()[0] < 0.7 * g[-1]
    retrain, _ = train_to_criterion(m)
    assert retrain is not None and retrain < first, f"savings: first {first}, retrain {retrain}"


def test_without_heating_from_firing_there_is_no_acceleration():
    m = cell(seed=9, pcm__heat_coupling=0.0)
    g0 = m.pcm_conductance_s()[0]
    used, history = train_to_criterion(m, max_trains=15)
    assert used is None
    fires = [h[0] for h in history]
    assert np.mean(fires[-5:]) <= np.mean(fires[:5]) + 1
    assert m.pcm_conductance_s()[0] == pytest.approx(g0, rel=1e-9)


# 5. volatility and drift ------------------------------------------------------------------------------
def test_threshold_recovers_after_firing_with_the_configured_time():
    m = cell(seed=10, u=0.3)
    tau = m.params["ts.tau_recovery_s"]
    m.apply(Waveform.pulses(1.6, 200e-9, 1e-6, rise_s=5e-9, fall_s=5e-9), r_series_ohm=R_AWG)
    # TS turned off on the falling edge; measure the recovering threshold at several delays
    delays = np.array([0.25, 0.5, 1.0, 2.0]) * tau
    vth_full = m.state.vth_cycle_v[0]
    vhold = m.params["ts.vhold_v"]
    t_prev = 0.0
    deficits = []
    for d in delays:
        m.idle(d - t_prev)
        t_prev = d
        deficits.append(vth_full - m.ts_threshold_v()[0])
    fitted_tau = -np.polyfit(delays, np.log(deficits), 1)[0] ** -1
    assert fitted_tau == pytest.approx(tau, rel=0.2)
    assert deficits[0] < vth_full - vhold  # it started recovering from the hold voltage


def test_amorphous_state_drifts_with_the_configured_nu_and_crystalline_barely():
    m = cell(seed=11, u=1.0)  # fully amorphous, just melt-quenched (t_quench = 0)
    times = np.logspace(0, 4, 9)
    r_amorph = []
    t_prev = 0.0
    for t in times:
        m.idle(t - t_prev)
        t_prev = t
        r_amorph.append(1 / np.mean([m.pcm_conductance_s(noise=True)[0] for _ in range(5)]))
    nu = np.polyfit(np.log(times), np.log(r_amorph), 1)[0]
    assert nu == pytest.approx(m.params["pcm.nu_drift"], rel=0.2)
    c = cell(seed=11, u=0.02)
    g0 = c.pcm_conductance_s()[0]
    c.idle(1e4)
    assert c.pcm_conductance_s()[0] == pytest.approx(g0, rel=0.01)


# 6. reproducibility and spread ----------------------------------------------------------------------------
def test_same_seed_same_results_and_spreads_match_configuration():
    def run(seed):
        m = cell(seed=seed, u=0.6)
        r = m.apply(Waveform.pulses(1.8, 200e-9, 1e-6, count=5), r_series_ohm=R_AWG, sample_times_s=np.linspace(0, 5e-6, 50))
        return r.sample_current_a, m.state.u.copy(), m.pcm_conductance_s(noise=True)

    a, b = run(3), run(3)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(run(4)[1], a[1]) or not np.array_equal(run(4)[2], a[2])

    params = DeviceParams.load()
    big = CellArray(params, shape=(40, 40), seed=12)
    d2d = np.std(big.state.vth_device_v) / np.mean(big.state.vth_device_v)
    assert d2d == pytest.approx(params["ts.vth_d2d_rel"], rel=0.2)


def test_cycle_to_cycle_threshold_spread_through_repeated_switching():
    m = cell(seed=14, u=0.3)
    vth = []
    for _ in range(1000):  # each pulse fires the TS and its turn-off starts a new cycle
        m.apply(Waveform.pulses(1.6, 50e-9, 200e-9, rise_s=5e-9, fall_s=5e-9), r_series_ohm=R_AWG)
        vth.append(m.state.vth_cycle_v[0])
    vth = np.array(vth)
    assert np.unique(vth).size > 990, "a new threshold every cycle"
    rel = np.std(vth) / np.mean(vth)
    assert rel == pytest.approx(m.params["ts.vth_c2c_rel"], rel=0.2)


# 7. arrays --------------------------------------------------------------------------------------------
def test_pulses_to_a_subset_of_a_4x4_array_change_only_those_cells():
    m = CellArray(DeviceParams.load(), shape=(4, 4), seed=15)
    before = m.pcm_conductance_s()
    chosen = [(0, 1), (2, 3), (3, 0)]
    for _ in range(10):
        m.apply(Waveform.pulses(2.1, 100e-9, 1e-6, rise_s=10e-9, fall_s=10e-9), chosen, r_series_ohm=R_AWG)
    after = m.pcm_conductance_s()
    idx = np.ravel_multi_index(tuple(np.array(chosen).T), (4, 4))
    others = np.setdiff1d(np.arange(16), idx)
    assert np.all(after[idx] > 2 * before[idx])
    np.testing.assert_allclose(after[others], before[others], rtol=1e-9)


# bad input ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda: Waveform.dc(1.0, 0.0), "duration_s"),
        (lambda: Waveform.dc(1.0, -1e-3), "duration_s"),
        (lambda: Waveform.dc(float("nan"), 1e-3), "finite"),
        (lambda: Waveform.pulses(float("inf"), 1e-7, 1e-6), "finite"),
        (lambda: Waveform.pulses(1.0, 0.0, 1e-6), "width_s"),
        (lambda: Waveform.pulses(1.0, 1e-7, 1e-6, count=0), "count"),
    ],
)
def test_bad_waveforms_are_refused_with_the_parameter_named(make, fragment):
    with pytest.raises(WaveformError, match=fragment):
        make()


def test_bad_device_parameters_are_refused_with_name_and_range(tmp_path):
    with pytest.raises(ParameterError, match=r"ts.vhold_v.*must be below ts.vth_v"):
        DeviceParams.load().replace(ts__vhold_v=1.5)
    with pytest.raises(ParameterError, match=r"pcm.t_melt_k.*above the crystallization peak"):
        DeviceParams.load().replace(pcm__t_melt_k=650.0)
    with pytest.raises(ParameterError, match=r"'pcm.nu_drift' = 2 1 is outside the allowed range \[0, 0.5\]"):
        DeviceParams.load().replace(pcm__nu_drift=2.0)
    bad = tmp_path / "dev.toml"
    bad.write_text("[ts]\nvth_volts = 1.0\n")
    with pytest.raises(ParameterError, match="unknown device parameter 'ts.vth_volts'"):
        DeviceParams.load(bad)
    bad.write_text('[ts]\nvth_v = { value = 1.0, unit = "mV" }\n')
    with pytest.raises(ParameterError, match="must be given in 'V'"):
        DeviceParams.load(bad)
    m = CellArray(seed=0)
    with pytest.raises(ModelError, match="r_series_ohm"):
        m.apply(Waveform.dc(1.0, 1e-3), r_series_ohm=0)
    with pytest.raises(ModelError, match="cell indices"):
        m.apply(Waveform.dc(1.0, 1e-3), [3])
    with pytest.raises(ModelError, match="duration_s"):
        m.idle(-1.0)
