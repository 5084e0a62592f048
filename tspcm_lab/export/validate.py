"""The exported subcircuit in ngspice against the Python model (sim_backend.model.CellArray), same waveforms.

Three experiments, each on the bench circuit of both (source, path resistance, top-electrode capacitance):

- ``iv``: a triangular voltage sweep through a load resistor; both I-V curves are analysed by the project's
  own switching analysis (procedures.library.switching.analyze_cycle): threshold and hold voltage;
- ``set``: trains of SET pulses from the device's initial (RESET) state; the PCM conductance after each;
- ``reset``: one RESET pulse after the last train; the factor by which it lowers the conductance.

The compact model is deterministic; the Python reference runs with every spread and noise set to zero and
averages over seeds (what remains random there is the Poisson switching delay, which the compact model takes
at its mean). Targets (issue 16): threshold and hold within 5 %, conductance curve within 10 %, RESET factor
within 20 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim_backend.model import CellArray
from sim_backend.params import DeviceParams
from sim_backend.waveform import Waveform
from tspcm_lab.export import ngspice
from tspcm_lab.export.device import ExportDevice
from tspcm_lab.export.equations import NOISE_OFF
from tspcm_lab.export.spice import subcircuit

TARGETS = {"vth": 0.05, "vhold": 0.05, "set_curve": 0.10, "reset_factor": 0.20}


@dataclass
class Train:
    """A SET pulse train from the device's initial (RESET) state."""

    name: str
    amplitude_v: float
    width_s: float
    period_s: float
    count: int


@dataclass
class Setup:
    """The waveforms (defaults: the simulated bench's paths and the procedures' pulses)."""

    iv_peak_v: float = 2.4
    iv_ramp_s: float = 1e-3  #: each way
    iv_points: int = 200  #: readings per branch (window means, as an SMU reads)
    iv_r_load_ohm: float = 10e3
    c_node_f: float = 0.2e-12  #: the simulated bench's probe capacitance
    pulse_r_ohm: float = 100.0  #: the AWG path
    edge_s: float = 8.4e-9  #: the pulse generator's fastest edge
    #: procedures/common.py's SET pulse (barely above the RESET cell's threshold: slow, gradual), and the
    #: pulse-train procedure's default (500 ns: the cell SETs fully within ~10 pulses); RESET after the second
    trains: tuple = (Train("set_100ns", 1.8, 100e-9, 1e-6, 20), Train("set_500ns", 1.75, 500e-9, 1.5e-6, 12))
    reset_v: float = 2.5
    reset_width_s: float = 100e-9
    seeds: tuple = (1, 2, 3, 4, 5, 6, 7, 8)


@dataclass
class Comparison:
    setup: Setup
    ngspice_version: str
    iv: dict = field(default_factory=dict)  #: {"python": (v, i), "ngspice": (v, i)} device V, I per reading
    vth: dict = field(default_factory=dict)  #: {"python": mean, "python_sd": .., "ngspice": ..}
    vhold: dict = field(default_factory=dict)
    set_g: dict = field(default_factory=dict)  #: train name -> {"python": (seeds, pulses), "ngspice": (pulses,)}
    reset_factor: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)  #: name -> relative error (ngspice vs the Python mean)
    attempts: dict = field(default_factory=dict)  #: experiment -> ngspice step limit and method that ran

    def passed(self) -> dict:
        return {k: bool(v <= TARGETS[k.split(":")[0]]) for k, v in self.errors.items()}


def reference_params(dev: ExportDevice) -> DeviceParams:
    return dev.params.replace(**{n.replace(".", "__"): 0.0 for n in NOISE_OFF})


def iv_waveform(s: Setup) -> Waveform:
    return Waveform(np.array([0.0, s.iv_ramp_s, 2 * s.iv_ramp_s]), np.array([0.0, s.iv_peak_v, 0.0]))


def iv_windows(s: Setup) -> np.ndarray:
    edges = np.linspace(0.0, 2 * s.iv_ramp_s, 2 * s.iv_points + 1)
    return np.column_stack([edges[:-1], edges[1:]])


def _window_means(t, y, windows) -> np.ndarray:
    """Time averages of the piecewise-linear (t, y) over each window (as the model's window means)."""
    out = np.empty(len(windows))
    for k, (a, b) in enumerate(windows):
        inner = (t > a) & (t < b)
        tt = np.concatenate([[a], t[inner], [b]])
        yy = np.interp(tt, t, y)
        out[k] = np.trapezoid(yy, tt) / (b - a)
    return out


def _analyse_iv(v_app, i, r_s):
    from procedures.library.switching import analyze_cycle

    res = [r for r in analyze_cycle(v_app, i, series_resistance_ohm=r_s) if r.polarity > 0]
    if not res:
        return np.nan, np.nan
    return float(res[0].vth_V), float(res[0].vhold_V)


def python_iv(params: DeviceParams, s: Setup, seed: int):
    cell = CellArray(params, seed=seed)
    wave, win = iv_waveform(s), iv_windows(s)
    r = cell.apply(wave, r_series_ohm=s.iv_r_load_ohm, c_node_f=s.c_node_f, windows_s=win)
    v_app = wave.value_at(win.mean(axis=1))
    return v_app, r.window_current_a[0]


def ngspice_iv(sub: str, s: Setup):
    wave, win = iv_waveform(s), iv_windows(s)
    tr = ngspice.run_bench(
        sub, wave.times_s, wave.volts_v, r_series_ohm=s.iv_r_load_ohm, c_node_f=s.c_node_f, max_step_s=s.iv_ramp_s / 2e4
    )
    v_app = wave.value_at(win.mean(axis=1))
    return v_app, _window_means(tr.t_s, tr.source_current_a, win), tr.attempt


def pulse_waveform(amplitude_v: float, width_s: float, period_s: float, s: Setup, count: int = 1) -> Waveform:
    return Waveform.pulses(amplitude_v, width_s, period_s, count=count, rise_s=s.edge_s, fall_s=s.edge_s)


def python_train(params: DeviceParams, s: Setup, train: Train, seed: int, reset: bool):
    """Conductance (S) after each pulse of ``train``; then, with ``reset``, after one RESET pulse."""
    cell = CellArray(params, seed=seed)
    g = []
    one = pulse_waveform(train.amplitude_v, train.width_s, train.period_s, s)
    for _ in range(train.count):
        cell.apply(one, r_series_ohm=s.pulse_r_ohm, c_node_f=s.c_node_f)
        g.append(cell.pcm_conductance_s()[0])
    if not reset:
        return np.array(g), None
    cell.apply(
        pulse_waveform(s.reset_v, s.reset_width_s, train.period_s, s), r_series_ohm=s.pulse_r_ohm, c_node_f=s.c_node_f
    )
    return np.array(g), float(cell.pcm_conductance_s()[0])


def ngspice_train(sub: str, s: Setup, train: Train, reset: bool):
    wave = pulse_waveform(train.amplitude_v, train.width_s, train.period_s, s, count=train.count)
    if reset:
        wave = wave.then(pulse_waveform(s.reset_v, s.reset_width_s, train.period_s, s))
    tr = ngspice.run_bench(
        sub, wave.times_s, wave.volts_v, r_series_ohm=s.pulse_r_ohm, c_node_f=s.c_node_f, max_step_s=s.edge_s / 40
    )
    ends = train.period_s * np.arange(1, train.count + (2 if reset else 1))
    g = np.interp(ends * (1 - 1e-9), tr.t_s, tr.states["g"])
    return (g[:-1], float(g[-1]), tr) if reset else (g, None, tr)


def compare(dev: ExportDevice, setup: Setup | None = None) -> Comparison:
    s = setup or Setup()
    sub = subcircuit(dev)
    params = reference_params(dev)
    cmp = Comparison(setup=s, ngspice_version=ngspice.ngspice_version())
    # I-V: threshold and hold
    py = [python_iv(params, s, seed) for seed in s.seeds]
    feats = np.array([_analyse_iv(v, i, s.iv_r_load_ohm) for v, i in py])
    v_ng, i_ng, attempt = ngspice_iv(sub, s)
    cmp.attempts["iv"] = attempt
    vth_ng, vhold_ng = _analyse_iv(v_ng, i_ng, s.iv_r_load_ohm)
    cmp.iv = {
        "python": (py[0][0] - py[0][1] * s.iv_r_load_ohm, py[0][1]),
        "ngspice": (v_ng - i_ng * s.iv_r_load_ohm, i_ng),
    }
    cmp.vth = {"python": float(feats[:, 0].mean()), "python_sd": float(feats[:, 0].std(ddof=1)), "ngspice": vth_ng}
    cmp.vhold = {"python": float(feats[:, 1].mean()), "python_sd": float(feats[:, 1].std(ddof=1)), "ngspice": vhold_ng}
    cmp.errors["vth"] = abs(vth_ng / cmp.vth["python"] - 1)
    cmp.errors["vhold"] = abs(vhold_ng / cmp.vhold["python"] - 1)
    # SET trains; the RESET after the last
    for k, train in enumerate(s.trains):
        reset = k == len(s.trains) - 1
        runs = [python_train(params, s, train, seed, reset) for seed in s.seeds]
        g_py = np.array([r[0] for r in runs])
        g_ng, g_reset_ng, tr = ngspice_train(sub, s, train, reset)
        cmp.attempts[train.name] = tr.attempt
        cmp.set_g[train.name] = {"python": g_py, "ngspice": g_ng}
        cmp.errors[f"set_curve:{train.name}"] = float(np.max(np.abs(g_ng / g_py.mean(axis=0) - 1)))
        if reset:
            g_reset_py = np.array([r[1] for r in runs])
            f_py = g_py[:, -1] / g_reset_py
            cmp.reset_factor = {
                "train": train.name,
                "python": float(f_py.mean()),
                "python_sd": float(f_py.std(ddof=1)),
                "ngspice": float(g_ng[-1] / g_reset_ng),
                "g_after_python": float(g_reset_py.mean()),
                "g_after_ngspice": float(g_reset_ng),
            }
            cmp.errors["reset_factor"] = abs(cmp.reset_factor["ngspice"] / cmp.reset_factor["python"] - 1)
    return cmp
