"""The device model's physics, as the device-model issue asks it to show (sim_backend.model).

Every check drives the model through voltage waveforms and series resistances, as the bench does, and
looks at currents and the PCM's own conductance; nothing is set by hand except initial states.
"""

import numpy as np
import pytest
from scipy.stats import spearmanr

from sim_backend.model import CellArray, ModelError
from sim_backend.params import DeviceParams, ParameterError
from sim_backend.waveform import Waveform, WaveformError

from sim_backend import experiments as ex

R_AWG = ex.R_AWG_OHM


def cell(seed=1, u=None, **overrides):
    params = DeviceParams.load().replace(**overrides) if overrides else DeviceParams.load()
    m = CellArray(params, seed=seed)
    if u is not None:
        m.state.u[:] = u
    return m


# 1. threshold switching -----------------------------------------------------------------------------
def test_quasi_static_ramp_switches_with_hysteresis_and_is_volatile():
    m = cell(u=0.4)
    g_before = m.pcm_conductance_s()[0]
    levels, current = ex.ramp_iv(m)
    current = current[0]
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
    r = m.apply(Waveform.dc(0.2, 1e-3), r_series_ohm=ex.R_SMU_OHM)
    assert not m.state.ts_on[0] and r.mean_current_a[0] < 1e-9
    # the sweep stayed below the SET regime: the PCM is unchanged
    assert m.pcm_conductance_s()[0] == pytest.approx(g_before, rel=1e-6)


# 2. synaptic plasticity ------------------------------------------------------------------------------
def test_identical_set_pulses_potentiate_with_saturation_and_fit_neurosim():
    m = cell(seed=4)
    g = ex.potentiation(m, pulses=40)[:, 0]
    pulses = np.arange(g.size)
    assert g[-1] / g[0] >= 10, "Gmax/Gmin >= 10"
    assert spearmanr(pulses, g).statistic > 0.9, "rises, on average monotonically"
    first, last = g[10] - g[0], g[-1] - g[-11]
    assert last < 0.3 * first, "saturates: the last 10 pulses add far less than the first 10"
    a, _, _, r2 = ex.fit_neurosim(pulses, g)
    assert 0.5 < a < 40, "finite A"
    assert r2 > 0.9, "NeuroSim form fits"


def test_reset_pulse_depresses_abruptly_and_amplitude_ladder_grades_it():
    m = cell(seed=5, u=0.05)
    g0 = m.pcm_conductance_s()[0]
    m.apply(ex.reset_pulse(2.8), r_series_ohm=R_AWG)
    m.idle(1e-3)
    assert g0 / m.pcm_conductance_s()[0] >= 5
    after = []
    for amp in (2.2, 2.25, 2.3, 2.35, 2.4):
        m.reset()
        m.state.u[:] = 0.05
        m.apply(ex.reset_pulse(amp), r_series_ohm=R_AWG)
        m.idle(1e-3)
        after.append(m.pcm_conductance_s()[0])
    assert np.all(np.diff(after) < 0), f"graded depression with amplitude: {after}"
    assert after[0] < 0.9 * g0


# 3. intrinsic plasticity -------------------------------------------------------------------------------
def test_cell_threshold_falls_as_conductance_rises():
    states = [0.97, 0.95, 0.92, 0.88, 0.84, 0.8]  # the amorphous-rich half, where the PCM sets it
    g, vth = [], []
    for u in states:
        m = cell(seed=6, u=u)
        g.append(m.pcm_conductance_s()[0])
        vth.append(ex.firing_threshold_v(m)[0])
    assert np.all(np.diff(g) > 0)
    assert np.all(np.diff(vth) < 0), f"threshold falls monotonically with conductance: {vth}"


def test_firing_probability_under_a_fixed_train_rises_with_conductance():
    probs = []
    for u in (1.0, 0.97, 0.94, 0.9):
        m = cell(seed=7, u=u, pcm__heat_coupling=0.0)  # hold the state fixed while counting
        probs.append(ex.firing_probability(m, 1.75)[0])
    assert probs[0] < probs[-1]
    assert np.all(np.diff(probs) >= 0), f"firing probability vs conductance: {probs}"


def test_oscillation_frequency_with_a_cell_capacitance_follows_the_pcm_state():
    freqs = []
    for u in (0.97, 0.94, 0.9, 0.85):
        m = cell(seed=8, u=u)
        freqs.append(ex.oscillation_frequency_hz(m)[0])
    assert min(freqs) > 1e5, "it oscillates"
    assert np.all(np.diff(freqs) < 0), f"frequency monotonic in the PCM state: {freqs}"


# 4. positive feedback and savings ---------------------------------------------------------------------------
def test_repeated_spike_trains_raise_firing_and_conductance_and_retraining_saves():
    m = cell(seed=9)
    amplitude = ex.calibrate_spike_amplitude(m)
    first = ex.train_to_criterion(m, amplitude_v=amplitude)
    assert first.spikes_to_criterion[0] > 0
    fires = [f[0] for f in first.fires_per_train]
    g = [c[0] for c in first.conductance_s]
    assert fires[-1] > fires[0] and g[-1] > g[0], "firing and conductance rise together"
    ex.forget(m)
    assert m.pcm_conductance_s()[0] < g[-1], "forgetting lowers the conductance"
    retrain = ex.train_to_criterion(m, amplitude_v=amplitude)
    n1, n2 = first.spikes_to_criterion[0], retrain.spikes_to_criterion[0]
    assert 0 < n2 < n1, f"savings: first {n1}, retrain {n2}"


def test_without_heating_from_firing_there_is_no_acceleration():
    m = cell(seed=9, pcm__heat_coupling=0.0)
    g0 = m.pcm_conductance_s()[0]
    amplitude = ex.calibrate_spike_amplitude(m)
    training = ex.train_to_criterion(m, amplitude_v=amplitude, max_trains=15)
    assert training.spikes_to_criterion[0] == -1
    fires = [f[0] for f in training.fires_per_train]
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
    nu = ex.drift_nu(m)[0]
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
    m = CellArray(DeviceParams.load(), shape=(10,), seed=14)
    m.state.u[:] = 0.3
    vth = []
    for _ in range(100):  # each pulse fires every TS and each turn-off starts a new cycle: 1000 draws
        m.apply(Waveform.pulses(1.6, 50e-9, 200e-9, rise_s=5e-9, fall_s=5e-9), r_series_ohm=R_AWG)
        vth.append(m.state.vth_cycle_v.copy())
    vth = np.array(vth)  # (cycle, device)
    assert np.unique(vth).size > 990, "a new threshold every cycle"
    rel = (vth / vth.mean(axis=0) - 1).std()  # cycle-to-cycle, each device around its own mean
    assert rel == pytest.approx(m.params["ts.vth_c2c_rel"], rel=0.2)


# 7. arrays --------------------------------------------------------------------------------------------
def test_pulses_to_a_subset_of_a_4x4_array_change_only_those_cells():
    m = CellArray(DeviceParams.load(), shape=(4, 4), seed=15)
    before = m.pcm_conductance_s()
    chosen = [(0, 1), (2, 3), (3, 0)]
    ex.potentiation(m, pulses=3, cells=chosen)
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
