"""Synthetic measurements with known parameters, for checking the extractors (tests, benchmarks, docs).

These are idealised curves with the textbook shape of each measurement, not the device model of
``sim_backend``: they exist so that an extractor's answer can be compared with the number put in.
Units as everywhere: V, A, Ohm, S, s.
"""

from __future__ import annotations

import math

import numpy as np

from tspcm_lab.analysis.plasticity import DEPRESSION, POTENTIATION, neurosim_conductance


def staircase(v_max_V: float, step_V: float, cycles: int = 1, bipolar: bool = False):
    """Applied voltages and cycle labels of a 0 -> v_max -> 0 (-> -v_max -> 0) staircase, repeated."""
    n = int(round(v_max_V / step_V))
    up = np.arange(0, n + 1) * step_V
    one = np.concatenate([up, up[-2::-1]])
    if bipolar:
        one = np.concatenate([one, -one[1:]])
    v = np.concatenate([one if c == 0 else one[1:] for c in range(cycles)])
    labels = np.concatenate([np.full(one.size if c == 0 else one.size - 1, c) for c in range(cycles)])
    return v, labels


def ts_iv(
    voltage_V,
    *,
    vth_V: float = 1.1,
    vhold_V: float = 0.6,
    r_off_ohm: float = 1e9,
    r_on_ohm: float = 500.0,
    r_series_ohm: float = 1e4,
    compliance_A: float = 1e-4,
    i_hold_A: float = 2e-6,
    r_pcm_ohm: float = 0.0,
    v_pcm_th_V: float = math.inf,
    r_pcm_on_ohm: float = 1e3,
    i_pcm_hold_A: float = 1e-5,
    noise: float = 0.0,
    floor_A: float = 0.0,
    rng: np.random.Generator | None = None,
):
    """Current (A) of a threshold switch (optionally on an amorphous PCM in series) for applied ``voltage_V``.

    Off: I = V / (R_off + R_pcm + R_s). The TS fires when its share V*R_off/(R_off+R_pcm+R_s) reaches Vth;
    on, V_TS = Vhold + I*R_on, so I = (V - Vhold)/(R_s + R_on + R_pcm), clamped at the compliance; it turns
    off when I < I_hold. The amorphous PCM switches when I*R_pcm reaches its own threshold (then it is
    R_pcm_on until I < I_pcm_hold). ``noise`` is a relative Gaussian sigma on the current, ``floor_A`` an
    additive Gaussian sigma.
    """
    rng = rng or np.random.default_rng(0)
    v_all = np.asarray(voltage_V, dtype=float)
    out = np.empty_like(v_all)
    ts_on = pcm_on = False
    for k, v in enumerate(v_all):
        s = 1.0 if v >= 0 else -1.0
        mag = abs(v)
        r_pcm = r_pcm_on_ohm if pcm_on else r_pcm_ohm
        if not ts_on and mag * r_off_ohm / (r_off_ohm + r_pcm + r_series_ohm) >= vth_V:
            ts_on = True
        i = 0.0
        for _ in range(3):  # settle TS and PCM states for this step
            r_pcm = r_pcm_on_ohm if pcm_on else r_pcm_ohm
            if ts_on:
                i = min(max(mag - vhold_V, 0.0) / (r_series_ohm + r_on_ohm + r_pcm), compliance_A)
                if not pcm_on and r_pcm_ohm > 0 and i * r_pcm_ohm >= v_pcm_th_V:
                    pcm_on = True
                    continue
                if pcm_on and i < i_pcm_hold_A:
                    pcm_on = False
                    continue
                if i < i_hold_A:
                    ts_on = False
            if not ts_on:
                i = mag / (r_off_ohm + r_pcm_ohm + r_series_ohm)
            break
        out[k] = s * i
    if noise:
        out = out * (1 + noise * rng.standard_normal(out.size))
    if floor_A:
        out = out + floor_A * rng.standard_normal(out.size)
    return out


def pulse_train(
    *,
    a_p: float = 20.0,
    a_d: float = 12.0,
    g_min_S: float = 1e-5,
    g_max_S: float = 1e-4,
    pulses: int = 64,
    cycles: int = 3,
    noise_fraction: float = 0.0,
    rng: np.random.Generator | None = None,
):
    """Columns (pulse, cycle, phase, conductance_S) of ``cycles`` potentiation+depression cycles.

    Each phase has ``pulses`` + 1 reads (P = 0 .. pulses, counted per phase) on the NeuroSim curves;
    ``noise_fraction`` is a Gaussian read-noise sigma as a fraction of the range Gmax - Gmin.
    """
    rng = rng or np.random.default_rng(0)
    p = np.arange(pulses + 1, dtype=float)
    cols = {"pulse": [], "cycle": [], "phase": [], "g": []}
    for c in range(cycles):
        for phase, a in ((POTENTIATION, a_p), (DEPRESSION, a_d)):
            g = neurosim_conductance(p, a, g_min_S, g_max_S, float(pulses), phase)
            g = g + noise_fraction * (g_max_S - g_min_S) * rng.standard_normal(p.size)
            cols["pulse"].append(p)
            cols["cycle"].append(np.full(p.size, c))
            cols["phase"].append(np.full(p.size, phase))
            cols["g"].append(g)
    return tuple(np.concatenate(cols[k]) for k in ("pulse", "cycle", "phase", "g"))


def drift_record(nu: float, r0_ohm: float, t_s, noise_fraction: float = 0.0, rng=None):
    """R(t) = R0 (t / 1 s)^nu times lognormal noise of relative sigma ``noise_fraction``."""
    rng = rng or np.random.default_rng(0)
    t = np.asarray(t_s, dtype=float)
    return r0_ohm * t**nu * np.exp(noise_fraction * rng.standard_normal(t.size))


def delay_record(voltage_V, td0_s: float, v0_V: float, vth_V: float, noise_fraction: float = 0.0, rng=None):
    """t_d = t_d0 exp(-(V - Vth)/V0) times lognormal noise."""
    rng = rng or np.random.default_rng(0)
    v = np.asarray(voltage_V, dtype=float)
    return td0_s * np.exp(-(v - vth_V) / v0_V) * np.exp(noise_fraction * rng.standard_normal(v.size))


def recovery_record(interval_s, tau_s: float, y0: float, y_inf: float, noise: float = 0.0, rng=None):
    """y(dt) = y_inf + (y0 - y_inf) exp(-dt/tau) plus Gaussian noise of sigma ``noise``."""
    rng = rng or np.random.default_rng(0)
    t = np.asarray(interval_s, dtype=float)
    return y_inf + (y0 - y_inf) * np.exp(-t / tau_s) + noise * rng.standard_normal(t.size)
