"""Model-level experiments on :class:`~sim_backend.model.CellArray`: the stimuli a device engineer would
apply, without instruments. Used by ``python -m sim_backend.demo``, ``docs/model.md``'s figures, the
model's tests and the benchmarks; procedures do the same through the instruments.

Series resistances are those of the default bench: the SMU path (1 kOhm series resistor + 50 Ohm sense)
and the AWG path (50 Ohm output + 50 Ohm sense); the probe puts 0.2 pF on the top electrode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim_backend.model import CellArray
from sim_backend.waveform import Waveform

R_SMU_OHM = 1050.0
R_AWG_OHM = 100.0
C_PROBE_F = 0.2e-12
SPIKE_WIDTH_S = 200e-9  # long enough for a RESET-side cell's switching delay (the divider keeps its overdrive small)


# --- DC ------------------------------------------------------------------------------------------------
def staircase_iv(m: CellArray, v_max=2.2, step_v=0.02, ilimit_a=10e-6, step_s=1e-3, cells=None, c_probe_f=C_PROBE_F):
    """0 -> v_max -> 0 staircase through the SMU path, each reading the mean over the second half of its
    step: (levels_v, current_a per cell)."""
    up = np.arange(0, v_max + step_v / 2, step_v)
    levels = np.concatenate([up, up[::-1]])
    starts = np.arange(levels.size) * step_s
    windows = np.stack([starts + step_s / 2, starts + step_s], axis=1)
    r = m.apply(
        Waveform.staircase(levels, step_s),
        cells,
        r_series_ohm=R_SMU_OHM,
        ilimit_a=ilimit_a,
        windows_s=windows,
        c_node_f=c_probe_f,
    )
    return levels, r.window_current_a


@dataclass
class Switching:
    """What a staircase shows: the switching voltage (largest step up in log current), its size, the
    turn-off voltage going down (largest step down), and how many steps of more than 10x there were."""

    vth_v: float
    jump_ratio: float
    current_below_a: float
    turn_off_v: float
    big_steps: int


def switching_from_staircase(levels: np.ndarray, current: np.ndarray, v_min: float = 0.1) -> Switching:
    """Switching and turn-off voltages of one up/down staircase (``current`` for one cell)."""
    n = levels.size // 2
    up_v, up_i = levels[:n], np.abs(current[:n]) + 1e-15
    dn_v, dn_i = levels[n:], np.abs(current[n:]) + 1e-15
    ok_up = (up_v[1:] >= v_min) & (up_v[:-1] >= v_min)
    ok_dn = (dn_v[1:] >= v_min) & (dn_v[:-1] >= v_min)
    rise = np.where(ok_up, np.diff(np.log10(up_i)), -np.inf)
    fall = np.where(ok_dn, -np.diff(np.log10(dn_i)), -np.inf)
    j, k = int(np.argmax(rise)), int(np.argmax(fall))
    return Switching(
        float(up_v[j + 1]), float(up_i[j + 1] / up_i[j]), float(up_i[j]), float(dn_v[k]), int(np.sum(rise > 1.0))
    )


def ramp_threshold_v(m: CellArray, v_max=2.2, duration_s=1.0, segments=1, ilimit_a=10e-6, points=4000, cells=None):
    """Firing voltage on a slow linear 0 -> v_max ramp (the source voltage where the current first reaches
    half the compliance), resolved to v_max/points; ``segments`` splits the ramp into that many knots."""
    t = np.linspace(0, duration_s, segments + 1)
    ramp = Waveform(t, np.linspace(0, v_max, segments + 1))
    edges = np.linspace(0, duration_s, points + 1)
    r = m.apply(
        ramp,
        cells,
        r_series_ohm=R_SMU_OHM,
        ilimit_a=ilimit_a,
        c_node_f=C_PROBE_F,
        windows_s=np.stack([edges[:-1], edges[1:]], axis=1),
    )
    reached = r.window_current_a >= 0.5 * ilimit_a
    first = np.argmax(reached, axis=1)
    return np.where(reached.any(axis=1), (first + 0.5) / points * v_max, np.nan)


# --- pulses --------------------------------------------------------------------------------------------
def set_pulse(amplitude_v=1.8, width_s=500e-9, period_s=2e-6, count=1) -> Waveform:
    return Waveform.pulses(amplitude_v, width_s, period_s, count=count, rise_s=10e-9, fall_s=10e-9)


def reset_pulse(amplitude_v=2.6, width_s=100e-9, fall_s=2e-9) -> Waveform:
    return Waveform.pulses(amplitude_v, width_s, width_s + fall_s + 1e-6, rise_s=5e-9, fall_s=fall_s)


def spike_train(amplitude_v=1.7, count=10, width_s=SPIKE_WIDTH_S, period_s=2e-6) -> Waveform:
    return Waveform.pulses(amplitude_v, width_s, period_s, count=count, rise_s=10e-9, fall_s=10e-9)


def pulse(m: CellArray, wave: Waveform, cells=None, rest_s: float = 1e-3):
    """One waveform through the AWG path, then a rest; the response."""
    r = m.apply(wave, cells, r_series_ohm=R_AWG_OHM, c_node_f=C_PROBE_F)
    m.idle(rest_s)
    return r


def potentiation(m: CellArray, pulses=30, wave: Waveform | None = None, cells=None) -> np.ndarray:
    """Conductance (S) before and after each of ``pulses`` identical SET pulses: shape (pulses + 1, cells)."""
    wave = wave or set_pulse()
    g = [m.pcm_conductance_s(cells)]
    for _ in range(pulses):
        pulse(m, wave, cells)
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
        lambda p, a, lo, hi: neurosim(p, a, lo, hi, p_max),
        pulses,
        g,
        p0=(p_max / 5, g[0], g[-1]),
        bounds=([1e-3, 0, 0], [1e4, 1, 1]),
    )
    resid = g - neurosim(pulses, a, g_min, g_max, p_max)
    return float(a), float(g_min), float(g_max), float(1 - resid.var() / g.var())


# --- firing --------------------------------------------------------------------------------------------
def firing_probability(m: CellArray, amplitude_v: float, spikes=40, cells=None, width_s=SPIKE_WIDTH_S) -> np.ndarray:
    r = m.apply(
        spike_train(amplitude_v, count=spikes, width_s=width_s), cells, r_series_ohm=R_AWG_OHM, c_node_f=C_PROBE_F
    )
    return r.fires / spikes


def oscillation_frequency_hz(m: CellArray, v_drive=4.0, r_series_ohm=20e6, duration_s=4e-3, cells=None):
    """Relaxation-oscillator frequency (firings per second) under a constant drive through ``r_series_ohm``;
    the capacitance that charges is the TS's own (``ts.c_ts_f``), through the PCM."""
    r = m.apply(Waveform.dc(v_drive, duration_s), cells, r_series_ohm=r_series_ohm, c_node_f=C_PROBE_F)
    return r.fires / duration_s


@dataclass
class Training:
    spikes_to_criterion: np.ndarray  # per cell; -1 where the criterion was not reached
    fires_per_train: list[np.ndarray]
    conductance_s: list[np.ndarray]


def train_to_criterion(
    m: CellArray, cells=None, amplitude_v=1.7, spikes=10, criterion=0.8, max_trains=60, width_s=SPIKE_WIDTH_S
) -> Training:
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
        r = m.apply(spike_train(amplitude_v, spikes, width_s), active, r_series_ohm=R_AWG_OHM, c_node_f=C_PROBE_F)
        used += spikes
        f = np.zeros(idx.size, int)
        f[done < 0] = r.fires
        fires.append(f)
        cond.append(m.pcm_conductance_s(idx))
        reached = np.zeros(idx.size, bool)
        reached[done < 0] = r.fires >= criterion * spikes
        done[reached] = used
    return Training(done, fires, cond)


def calibrate_spike_amplitude(
    m: CellArray, cells=None, start_v=1.4, stop_v=2.4, step_v=0.01, spikes=20, min_fires=2, width_s=SPIKE_WIDTH_S
) -> float:
    """The lowest amplitude (V, to ``step_v``) at which a train of ``spikes`` makes every selected cell
    fire at least ``min_fires`` times: "near threshold" for this device, found the way an experimenter
    would, coarse (5 steps at a time) then fine. NaN if none up to ``stop_v``."""
    idx = m.cells(cells)

    def fires_enough(amp: float) -> bool:
        r = m.apply(spike_train(amp, spikes, width_s), idx, r_series_ohm=R_AWG_OHM, c_node_f=C_PROBE_F)
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
    m.apply(reset_pulse(amplitude_v), cells, r_series_ohm=R_AWG_OHM, c_node_f=C_PROBE_F)
    m.idle(1.0)


def savings(first, retrain) -> np.ndarray:
    """(N_first - N_retrain) / N_first per cell."""
    first = np.asarray(first, float)
    return (first - np.asarray(retrain, float)) / first


# --- retention -----------------------------------------------------------------------------------------
def drift_nu(m: CellArray, cells=None, t_start_s=1.0, t_stop_s=1e4, points=9, reads=5) -> np.ndarray:
    """Fitted drift exponent of the read resistance over log-spaced idle times (noisy reads averaged)."""
    times = np.logspace(np.log10(t_start_s), np.log10(t_stop_s), points)
    t0 = m.t_s
    r = []
    for t in times:
        m.idle(t0 + t - m.t_s)
        r.append(1 / np.mean([m.pcm_conductance_s(cells, noise=True) for _ in range(reads)], axis=0))
    return np.polyfit(np.log(times), np.log(np.array(r)), 1)[0]


def learn_pattern(m: CellArray, pattern: np.ndarray, forget_v=2.3, **train_kwargs) -> dict:
    """Train the cells where ``pattern`` is 1, forget, retrain: spikes, maps and savings."""
    targets = np.argwhere(np.asarray(pattern) > 0)
    first = train_to_criterion(m, targets, **train_kwargs)
    map_trained = m.pcm_conductance_s().reshape(m.shape)
    forget(m, targets, forget_v)
    map_forgot = m.pcm_conductance_s().reshape(m.shape)
    retrain = train_to_criterion(m, targets, **train_kwargs)
    return {
        "first": first,
        "retrain": retrain,
        "map_trained_s": map_trained,
        "map_forgot_s": map_forgot,
        "map_retrained_s": m.pcm_conductance_s().reshape(m.shape),
        "savings": savings(first.spikes_to_criterion.max(), retrain.spikes_to_criterion.max()),
    }
