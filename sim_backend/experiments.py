"""Model-level experiments on :class:`~sim_backend.model.CellArray`: the stimuli a device engineer would
apply, without instruments. Used by ``python -m sim_backend.demo``, the model's tests and the
benchmarks; procedures do the same through the instruments.

Series resistances are those of the default bench: the SMU path (1 kOhm series resistor + 50 Ohm sense)
and the AWG path (50 Ohm output + 50 Ohm sense).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim_backend.model import CellArray
from sim_backend.waveform import Waveform

R_SMU_OHM = 1050.0
R_AWG_OHM = 100.0
FIRE_CURRENT_A = 20e-6


def ramp_iv(m: CellArray, v_max=2.0, step_v=0.01, ilimit_a=30e-6, step_s=1e-3, cells=None):
    """Quasi-static 0 -> v_max -> 0 staircase through the SMU path; returns (levels_v, current_a per cell),
    each reading the mean over the second half of its step."""
    up = np.arange(0, v_max + step_v / 2, step_v)
    levels = np.concatenate([up, up[::-1]])
    starts = np.arange(levels.size) * step_s
    windows = np.stack([starts + step_s / 2, starts + step_s], axis=1)
    r = m.apply(Waveform.staircase(levels, step_s), cells, r_series_ohm=R_SMU_OHM, ilimit_a=ilimit_a, windows_s=windows)
    return levels, r.window_current_a


def firing_threshold_v(m: CellArray, cells=None, step_v=0.01, ilimit_a=20e-6) -> np.ndarray:
    """The up-ramp voltage where each cell's current first reaches the firing level (compliance-limited)."""
    levels, current = ramp_iv(m, step_v=step_v, ilimit_a=ilimit_a, cells=cells)
    n = levels.size // 2
    reached = current[:, :n] >= 0.95 * ilimit_a
    return np.where(reached.any(axis=1), levels[:n][np.argmax(reached, axis=1)], np.nan)


def set_pulse(amplitude_v=2.0, width_s=1e-6, period_s=3e-6, count=1) -> Waveform:
    return Waveform.pulses(amplitude_v, width_s, period_s, count=count, rise_s=10e-9, fall_s=10e-9)


def reset_pulse(amplitude_v=2.5, width_s=50e-9) -> Waveform:
    return Waveform.pulses(amplitude_v, width_s, 1e-6, rise_s=5e-9, fall_s=2e-9)


def spike_train(amplitude_v=1.7, count=10, width_s=100e-9, period_s=2e-6) -> Waveform:
    return Waveform.pulses(amplitude_v, width_s, period_s, count=count, rise_s=10e-9, fall_s=10e-9)


def potentiation(m: CellArray, pulses=40, wave: Waveform | None = None, cells=None) -> np.ndarray:
    """Conductance (S) before and after each of ``pulses`` identical SET pulses: shape (pulses + 1, cells)."""
    wave = wave or set_pulse()
    g = [m.pcm_conductance_s(cells)]
    for _ in range(pulses):
        m.apply(wave, cells, r_series_ohm=R_AWG_OHM)
        m.idle(1e-3)
        g.append(m.pcm_conductance_s(cells))
    return np.array(g)


def neurosim(p, a, g_min, g_max, p_max):
    """NeuroSim's potentiation form G(P) = B (1 - exp(-P/A)) + Gmin, B = (Gmax - Gmin)/(1 - exp(-Pmax/A))."""
    b = (g_max - g_min) / (1 - np.exp(-p_max / a))
    return b * (1 - np.exp(-p / a)) + g_min


def fit_neurosim(pulses: np.ndarray, g: np.ndarray) -> tuple[float, float, float, float]:
    """(A, Gmin, Gmax, R^2) of the NeuroSim potentiation fit."""
    from scipy.optimize import curve_fit

    p_max = float(pulses[-1])
    (a, g_min, g_max), _ = curve_fit(
        lambda p, a, lo, hi: neurosim(p, a, lo, hi, p_max), pulses, g, p0=(p_max / 5, g[0], g[-1]),
        bounds=([1e-3, 0, 0], [1e4, 1, 1]),
    )
    resid = g - neurosim(pulses, a, g_min, g_max, p_max)
    return float(a), float(g_min), float(g_max), float(1 - resid.var() / g.var())


def firing_probability(m: CellArray, amplitude_v: float, spikes=40, cells=None) -> np.ndarray:
    r = m.apply(spike_train(amplitude_v, count=spikes), cells, r_series_ohm=R_AWG_OHM, fire_current_a=FIRE_CURRENT_A)
    return r.fires / spikes


def oscillation_frequency_hz(m: CellArray, v_drive=2.5, r_series_ohm=1e6, c_cell_f=10e-12, duration_s=20e-6, cells=None):
    """Relaxation-oscillator frequency under a constant drive with a capacitance across the cell."""
    r = m.apply(Waveform.dc(v_drive, duration_s), cells, r_series_ohm=r_series_ohm, c_cell_f=c_cell_f, fire_current_a=1e-6)
    return r.fires / duration_s


@dataclass
class Training:
    spikes_to_criterion: np.ndarray  # per cell; -1 where the criterion was not reached
    fires_per_train: list[np.ndarray]
    conductance_s: list[np.ndarray]


def train_to_criterion(m: CellArray, cells=None, amplitude_v=1.7, spikes=10, criterion=0.8, max_trains=60) -> Training:
    """Spike trains to the selected cells until each fires on >= criterion of a train's spikes.

    Cells that reached the criterion get no more trains (their count is kept), as a learning loop would."""
    idx = m.cells(cells)
    done = np.full(idx.size, -1)
    fires, cond = [], []
    used = 0
    for _ in range(max_trains):
        active = idx[done < 0]
        if active.size == 0:
            break
        r = m.apply(spike_train(amplitude_v, spikes), active, r_series_ohm=R_AWG_OHM, fire_current_a=FIRE_CURRENT_A)
        used += spikes
        f = np.zeros(idx.size, int)
        f[done < 0] = r.fires
        fires.append(f)
        cond.append(m.pcm_conductance_s(idx))
        reached = np.zeros(idx.size, bool)
        reached[done < 0] = r.fires >= criterion * spikes
        done[reached] = used
    return Training(done, fires, cond)


def calibrate_spike_amplitude(m: CellArray, cells=None, start_v=1.6, stop_v=2.6, step_v=0.01, spikes=20, min_fires=2) -> float:
    """The lowest amplitude (V, to ``step_v``) at which a train of ``spikes`` makes every selected cell
    fire at least ``min_fires`` times: "near threshold" for this device, found the way an experimenter
    would, coarse (5 steps at a time) then fine (the few firings on the way barely change the state).
    NaN if none up to ``stop_v``."""
    idx = m.cells(cells)

    def fires_enough(amp: float) -> bool:
        r = m.apply(spike_train(amp, spikes), idx, r_series_ohm=R_AWG_OHM, fire_current_a=FIRE_CURRENT_A)
        return bool(np.all(r.fires >= min_fires))

    coarse = 5 * step_v
    below = start_v - coarse
    for amp in np.arange(start_v, stop_v + step_v / 2, coarse):
        if fires_enough(float(amp)):
            for fine in np.arange(below + step_v, amp - step_v / 2, step_v):
                if fires_enough(float(fine)):
                    return float(round(fine, 6))
            return float(round(amp, 6))
        below = float(amp)
    return float("nan")


def forget(m: CellArray, cells=None, amplitude_v=2.3) -> None:
    """A partial RESET (forgetting), then a second of rest."""
    m.apply(reset_pulse(amplitude_v), cells, r_series_ohm=R_AWG_OHM)
    m.idle(1.0)


def savings(first: np.ndarray, retrain: np.ndarray) -> np.ndarray:
    """(N_first - N_retrain) / N_first per cell."""
    first = np.asarray(first, float)
    return (first - np.asarray(retrain, float)) / first


def drift_nu(m: CellArray, cells=None, t_start_s=1.0, t_stop_s=1e4, points=9, reads=5) -> np.ndarray:
    """Fitted drift exponent of the read resistance over log-spaced idle times (noisy reads averaged)."""
    times = np.logspace(np.log10(t_start_s), np.log10(t_stop_s), points)
    t0 = m.t_s
    r = []
    for t in times:
        m.idle(t0 + t - m.t_s)
        r.append(1 / np.mean([m.pcm_conductance_s(cells, noise=True) for _ in range(reads)], axis=0))
    r = np.array(r)
    return np.polyfit(np.log(times), np.log(r), 1)[0]


def learn_pattern(m: CellArray, pattern: np.ndarray, **train_kwargs) -> dict:
    """Train the cells where ``pattern`` is 1, forget, retrain: epochs, maps and savings."""
    targets = np.argwhere(np.asarray(pattern) > 0)
    first = train_to_criterion(m, targets, **train_kwargs)
    map_trained = m.pcm_conductance_s().reshape(m.shape)
    forget(m, targets)
    map_forgot = m.pcm_conductance_s().reshape(m.shape)
    retrain = train_to_criterion(m, targets, **train_kwargs)
    return {
        "first": first, "retrain": retrain,
        "map_trained_s": map_trained, "map_forgot_s": map_forgot, "map_retrained_s": m.pcm_conductance_s().reshape(m.shape),
        "savings": savings(first.spikes_to_criterion.max(), retrain.spikes_to_criterion.max()),
    }
