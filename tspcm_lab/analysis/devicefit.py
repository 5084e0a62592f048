"""Direct extraction of device parameters from run files: the inverse of the simulated bench.

Each run is analysed by its procedure's registered analysis (tspcm_lab.analysis.runs); the features that
measure a model parameter directly are mapped onto it (docs/fitting.md lists the mapping):

==============  ==========================================  ======================================
procedure       feature(s)                                   device parameter
==============  ==========================================  ======================================
iv-sweep        vth_median_V (per cell)                      ts.vth_v, ts.vth_d2d_rel (>= 2 cells)
iv-sweep        vhold_mean_V                                 ts.vhold_v
iv-sweep        r_on_held_ohm (held segments' slope) minus    ts.r_on_ohm
                pcm.r_cryst_ohm; none: the least ohmic slope
                after the first cycle, an upper bound
delay-recovery  td0_s, v0_V (+ v0_stderr_V)                  ts.t_d0_s, ts.v0_delay_v
delay-recovery  recovery_tau_s (+ recovery_tau_stderr_s,      ts.tau_recovery_s
                recovery_tau_grid_stderr_s: the grid's part)
retention       nu_state<k> (+ 95 % interval) of RESET-side  pcm.nu_drift
                states (R(1 s) >= 100 x pcm.r_cryst_ohm)
==============  ==========================================  ======================================

pulse-train, endurance (threshold window) and threshold-vs-weight measure curves that depend on several
model parameters at once: no parameter is set from them directly, and their features (NeuroSim A, window,
threshold slope) are recorded in the device file's header. The delay law and nu are then refitted
model-in-the-loop (tspcm_lab.analysis.modelfit, step 2 of fit_runs), which removes the analyses' bias, and the
PCM's SET/RESET kinetics (pcm.k_cryst_max_per_s, pcm.jmak_n, pcm.r_th_k_per_w) are fitted there to the
pulse-train runs' SET and RESET pulse counts; endurance and threshold-vs-weight runs set nothing yet.

Intervals are 95 %: over cells, mean +- t(n-1) s / sqrt(n) (several cells); within one cell, the
analysis' own standard error (x 1.96) or the spread over cycles. tau_recovery's interval also carries the
pulse-interval grid's resolution, which cells on the same grid share (_recovery_tau). A parameter with no standard error in its
analysis and a single run gets no interval (said so in the file).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: procedures whose runs the direct extraction reads (parameters or recorded features)
USED = ("iv-sweep", "delay-recovery", "retention", "pulse-train", "endurance", "threshold-vs-weight")
#: RESET-side retention states: R(1 s) at least this many times pcm.r_cryst_ohm, where the amorphous part
#: carries (almost) all the resistance and the measured drift exponent is the model's nu
RESET_SIDE_FACTOR = 100.0


class FitError(ValueError):
    """The runs cannot give a device file; the message names what is missing."""


@dataclass
class Fitted:
    """One fitted parameter: value (SI), 95 % interval (or None), the runs it came from, how."""

    name: str
    value: float
    unit: str
    interval: tuple[float, float] | None
    runs: list[str]
    method: str
    n_cells: int = 1
    spread: float | None = None  #: sample sigma of the per-cell values (>= 2 cells)
    bound: str = ""  #: "upper": the measurement can only exceed the parameter (the interval is the bound's)
    per_cell: dict | None = None  #: cell label -> that cell's value
    correlations: dict | None = None  #: other parameter -> correlation of the two estimates (model-in-the-loop)
    identified: bool = (
        True  #: False: the value reproduces the runs, but they do not measure it (basis "not identified")
    )


@dataclass
class FitResult:
    params: dict[str, Fitted] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)  #: measured, not a parameter (for the header)
    not_identified: list[str] = field(default_factory=list)  #: "name: why"
    runs: list[str] = field(default_factory=list)  #: "id (procedure, cell)"
    loop: list = field(default_factory=list)  #: modelfit.CellFit of each cell and loop
    notes: list[str] = field(default_factory=list)  #: what the user should know of the runs (read_setting_notes)


@dataclass
class _Run:
    id: str
    cell: str
    procedure: str
    features: dict
    arrays: dict
    step_V: float | None = None  #: an iv-sweep's voltage step: the resolution of its Vth and Vhold
    values: dict = field(default_factory=dict)  #: the procedure parameters recorded in the run file
    loop: dict | None = None  #: model-in-the-loop features {name: (value, sigma)} (modelfit.LOOPS procedures)


def run_id(run) -> str:
    """A run's id in a device file: its file name and start time (the file can be found from both)."""
    start = str(run.attrs.get("start_time", ""))
    return f"{run.path.name}@{start}" if start else run.path.name


def _t95(n: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.975, n - 1))


def _mean_interval(values) -> tuple[float, tuple[float, float] | None, float | None]:
    """(mean, 95 % interval of the mean, sample sigma) over per-cell values; no interval for one."""
    v = np.asarray(values, dtype=float)
    m = float(v.mean())
    if v.size < 2:
        return m, None, None
    s = float(v.std(ddof=1))
    h = _t95(v.size) * s / math.sqrt(v.size)
    return m, (m - h, m + h), s


def _cycle_interval(x) -> float | None:
    """Half-width of the 95 % interval of the mean of per-cycle values (one cell)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return None
    h = _t95(x.size) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return h


def _with_resolution(halfwidth, runs) -> float | None:
    """An iv-sweep reads Vth and Vhold on its voltage staircase: a systematic error of up to one step, the
    same sign on every cell, added in quadrature to a statistical half-width."""
    step = _step(runs)
    return halfwidth if step is None else math.hypot(halfwidth or 0.0, step)


def _step(runs) -> float | None:
    steps = [r.step_V for r in runs if r.step_V is not None and math.isfinite(r.step_V)]
    return max(steps) if steps else None


def load_runs(
    paths: Sequence[str | Path], cells: Sequence[str] | None = None, r_cryst_ohm: float = 500.0
) -> list[_Run]:
    """Open and analyse each run; refuse (FitError) a run the extraction cannot use."""
    from tspcm_lab.analysis.modelfit import LOOPS
    from tspcm_lab.analysis.registry import get_analysis
    from tspcm_lab.store import open_run

    if cells is not None and len(cells) != len(paths):
        raise FitError(f"--cells gives {len(cells)} label(s) for {len(paths)} run(s): one label per run")
    out = []
    for i, p in enumerate(paths):
        try:
            run = open_run(p)
        except Exception as exc:  # not a run file, unreadable
            raise FitError(f"{p}: not a readable run file ({exc})") from None
        if run.procedure not in USED:
            raise FitError(
                f"{p}: a {run.procedure or 'unknown'} run; the fit uses runs of "
                f"{', '.join(USED)} (remove it or run one of those)"
            )
        loop = LOOPS.get(run.procedure)
        try:
            analysis = get_analysis(run.procedure)(run)
        except Exception as exc:
            if loop is None or loop.uses_analysis:
                raise FitError(f"{p}: its {run.procedure} analysis failed: {exc}") from None
            analysis = None  # the loop's features read the columns and say what is missing
        feats = {f.name: f.value for f in analysis.features} if analysis is not None else {}
        arrays = dict(analysis.arrays) if analysis is not None else {}
        cell = cells[i] if cells is not None else run_id(run)
        step = run.parameters.get("step_V")
        step = float(step.value) if step is not None and isinstance(step.value, (int, float)) else None
        lf = loop.features(run, analysis, RESET_SIDE_FACTOR * r_cryst_ohm) if loop is not None else None
        out.append(_Run(run_id(run), cell, run.procedure, feats, arrays, step, dict(run.parameter_values), lf))
    return out


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def _per_cell(runs: list[_Run], key: str) -> dict[str, list[float]]:
    cells: dict[str, list[float]] = {}
    for r in runs:
        v = r.features.get(key)
        if _finite(v):
            cells.setdefault(r.cell, []).append(float(v))
    return cells


def _across_cells(name, unit, runs, key, method, *, one_cell_halfwidth=None, transform=lambda v: v, resolution=None):
    """Fitted from per-cell means of feature ``key`` (cells from several runs each averaged)."""
    cells = _per_cell(runs, key)
    used = [r.id for r in runs if _finite(r.features.get(key))]
    per_cell = [transform(float(np.mean(v))) for v in cells.values()]
    m, interval, spread = _mean_interval(per_cell)
    if interval is not None and resolution:
        h = math.hypot((interval[1] - interval[0]) / 2, resolution)
        interval = (m - h, m + h)
        method += f"; the sweep's step {resolution:g} {unit} added in quadrature"
    if interval is None and one_cell_halfwidth is not None and math.isfinite(one_cell_halfwidth):
        interval = (m - one_cell_halfwidth, m + one_cell_halfwidth)
        method += "; one cell: interval from its cycles' spread (and the sweep's step) or the fit's standard error x 1.96; the device-to-device spread is not in it"
    elif interval is not None:
        method += f"; mean over {len(per_cell)} cells, interval mean +- t s/sqrt(n)"
    return Fitted(name, m, unit, interval, used, method, len(per_cell), spread, per_cell=dict(zip(cells, per_cell)))


def _recovery_tau(dr: list[_Run]) -> Fitted:
    """ts.tau_recovery_s from the delay-recovery runs' probe crossings. Its error has two parts: the statistical
    one (the crossings' scatter about the line: the least-squares standard error, or the cells' spread) and the
    pulse-interval grid's resolution (each crossing uniform in the grid step it is interpolated in: the firing
    probability falls from ~1 to ~0 within one step, and the interpolation's place in it is not the truth's).
    The grid's part is the same on every cell measured on the same grid, so it does not average out over cells:
    it is added in quadrature to the over-cells t interval at its rms over the runs, not divided by sqrt(n)."""
    used = [r for r in dr if _finite(r.features.get("recovery_tau_s"))]
    grid = [
        r.features["recovery_tau_grid_stderr_s"] for r in used if _finite(r.features.get("recovery_tau_grid_stderr_s"))
    ]
    g95 = 1.96 * math.sqrt(float(np.mean(np.square(grid)))) if grid else None
    method = "delay-recovery recovery_tau_s: threshold recovery after turn-off, from the probes' 1/2 crossings"
    one = [r for r in used if _finite(r.features.get("recovery_tau_stderr_s"))]
    hw = None
    if len(one) == 1:  # one run: its least-squares standard error and the grid's, in quadrature
        g = one[0].features.get("recovery_tau_grid_stderr_s")
        hw = 1.96 * math.hypot(one[0].features["recovery_tau_stderr_s"], g if _finite(g) else 0.0)
    f = _across_cells("ts.tau_recovery_s", "s", used, "recovery_tau_s", method, one_cell_halfwidth=hw)
    if f.n_cells >= 2 and f.interval is not None and g95 is not None:
        h = math.hypot((f.interval[1] - f.interval[0]) / 2, g95)
        f.interval = (f.value - h, f.value + h)
        f.method += (
            f"; the pulse-interval grid's resolution (each crossing uniform in its grid step, propagated: "
            f"1.96 x {g95 / 1.96:.3g} s, rms over the runs, shared by cells on the same grid) added in quadrature"
        )
    elif f.n_cells == 1 and grid:
        f.method += "; the one-cell interval includes the pulse-interval grid's resolution"
    return f


def _later_r_on(r: _Run) -> np.ndarray:
    """An iv-sweep's per-cycle ohmic on-branch slopes (Ohm) after the first cycle (its DC SET)."""
    return np.asarray(r.arrays.get("r_on_ohm", ([], ""))[0], float)[1:]


def _bound_r_on(usable: list[_Run], r_cryst_ohm: float) -> Fitted:
    """ts.r_on_ohm as an upper bound: the least per-cycle ohmic on-branch slope after the first cycle (R_on +
    R_PCM >= R_on + r_cryst: a PCM still crystallizing over the cycles only adds) minus pcm.r_cryst_ohm."""
    ron = [_later_r_on(r) for r in usable]
    for r, per in zip(usable, ron):
        per = per[np.isfinite(per)]
        r.features["r_on_least_ohm"] = float(per.min()) if per.size else r.features.get("r_on_mean_ohm")
    hw = _cycle_interval(np.concatenate(ron)[-3:]) if len(usable) == 1 else None
    f = _across_cells(
        "ts.r_on_ohm",
        "Ohm",
        usable,
        "r_on_least_ohm",
        f"iv-sweep per-cycle r_on_ohm (the on branch's slope: the switch in series with the "
        f"PCM), least over the cycles after the first (a PCM not yet fully crystalline only "
        f"adds: an upper bound), minus pcm.r_cryst_ohm = {r_cryst_ohm:g} Ohm",
        one_cell_halfwidth=hw,
        transform=lambda v: v - r_cryst_ohm,
    )
    f.bound = "upper"
    f.method += (
        "; an upper bound: the PCM's residual amorphous part after the DC SET adds to the slope, and no "
        "sweep showed a held segment (r_on_held_ohm) that leaves it out (the interval is the bound's)"
    )
    return f


def _held_r_on(usable: list[_Run], held: list[_Run], r_cryst_ohm: float) -> Fitted:
    """ts.r_on_ohm measured: the slope of the on branch's held segments (r_on_held_ohm: the PCM's residual
    amorphous part switched on, holding its voltage, so the slope is R_on + the PCM's crystalline part only)
    minus pcm.r_cryst_ohm. Cells whose sweeps show none (their first SET left no amorphous part to switch, or
    went straight to the compliance) give only the ohmic upper bound: named in the method, not averaged in."""
    from procedures.library.switching import HELD_SLOPE_SYSTEMATIC_REL as SYS

    cells: dict[str, list[tuple[float, float]]] = {}
    for r in held:
        cells.setdefault(r.cell, []).append((r.features["r_on_held_ohm"], r.features.get("r_on_held_stderr_ohm")))

    per_cell, se_cell = {}, {}
    for cell, xs in cells.items():  # a cell's runs: inverse-variance mean; each slope's standard error with
        # the method's systematic part (relative, measured: docs/scripts/held_on_state.py) in quadrature
        xs = [(x, math.hypot(s, SYS * x) if _finite(s) else math.nan) for x, s in xs]
        w = np.array([1.0 / s**2 if _finite(s) and s > 0 else 0.0 for _, s in xs])
        v = np.array([x for x, _ in xs])
        if w.sum() > 0:
            per_cell[cell] = float((w * v).sum() / w.sum()) - r_cryst_ohm
            se_cell[cell] = float(1.0 / math.sqrt(w.sum()))
        else:
            per_cell[cell] = float(v.mean()) - r_cryst_ohm
            se_cell[cell] = math.nan
    m, between, spread = _mean_interval(list(per_cell.values()))
    own = [1.96 * s for s in se_cell.values() if math.isfinite(s)]
    h_own = math.sqrt(sum(h * h for h in own)) / len(own) if own else math.nan
    h_between = (between[1] - m) if between is not None else 0.0
    h = max(h_own if math.isfinite(h_own) else 0.0, h_between)
    interval = (m - h, m + h) if h > 0 else None
    method = (
        "iv-sweep r_on_held_ohm: the slope of the on branch's held segments (where the PCM's residual amorphous "
        "part is switched on and holds its own voltage, the line lies that voltage above the hold line and its "
        "slope is R_on + the PCM's crystalline part, the amorphous part left out: "
        "procedures.library.switching.held_on_state_fit), minus pcm.r_cryst_ohm = "
        f"{r_cryst_ohm:g} Ohm; "
        + (
            f"mean over {len(per_cell)} cells, 95 % interval the larger of t s/sqrt(n) = {h_between:.3g} Ohm and "
            f"the cells' own (1.96 x the slope's standard error, with {100 * SYS:g} % of the slope for the method in "
            f"quadrature) combined, sqrt(sum h^2)/n = {h_own:.3g} Ohm"
            if len(per_cell) > 1
            else f"one cell: 95 % interval 1.96 x the slope's standard error, with {100 * SYS:g} % of the slope for "
            f"the method in quadrature ({h_own:.3g} Ohm); the "
            "device-to-device spread is not in it"
        )
    )
    bound_only = sorted({r.cell for r in usable} - set(per_cell))
    if bound_only:
        least = {
            r.cell: float(np.nanmin(x)) - r_cryst_ohm
            for r in usable
            if r.cell in bound_only and np.isfinite(x := _later_r_on(r)).any()
        }
        method += (
            f"; cell(s) {', '.join(bound_only)} showed no held segment (their ohmic slopes give only the upper "
            f"bound{'s' if len(least) > 1 else ''} {', '.join(f'{v:.4g}' for v in least.values()) or '-'} Ohm)"
        )
    used = [r.id for r in held]
    return Fitted("ts.r_on_ohm", m, "Ohm", interval, used, method, len(per_cell), spread, per_cell=per_cell)


def extract(runs: list[_Run], r_cryst_ohm: float, loop: bool = False) -> FitResult:
    """Direct extraction from analysed runs; FitError when nothing is identifiable (``loop``: nor by the
    model-in-the-loop fit that follows, which alone fits pulse-train runs: fit_runs refuses after it)."""
    res = FitResult(runs=[f"{r.id} ({r.procedure}, cell {r.cell})" for r in runs])
    by = {p: [r for r in runs if r.procedure == p] for p in USED}

    # ---- iv-sweep: threshold, hold, on-resistance
    iv = by["iv-sweep"]
    if iv:
        usable = [r for r in iv if _finite(r.features.get("vth_median_V"))]
        if not usable:
            raise FitError(
                "iv-sweep runs: no threshold found in any cycle (no switching step >= "
                "min_jump_decades): sweep further or raise the compliance"
            )
        # one cell's interval: the median threshold's spread over the cycles after the first (which SETs)
        vth_cycles = [np.asarray(r.arrays.get("vth_V_jump", ([], ""))[0], float)[1:] for r in usable]
        hw = _with_resolution(_cycle_interval(np.concatenate(vth_cycles)), usable) if len(usable) == 1 else None
        f = _across_cells(
            "ts.vth_v",
            "V",
            usable,
            "vth_median_V",
            "iv-sweep vth_median_V: median threshold over cycles (largest log-current step); the "
            "first cycle SETs a RESET cell, the later ones see the switch alone",
            one_cell_halfwidth=hw,
            resolution=_step(usable),
        )
        res.params[f.name] = f
        if f.n_cells >= 2 and f.spread is not None:
            from scipy import stats

            n, s = f.n_cells, f.spread
            lo = s * math.sqrt((n - 1) / stats.chi2.ppf(0.975, n - 1)) / f.value
            hi = s * math.sqrt((n - 1) / stats.chi2.ppf(0.025, n - 1)) / f.value
            res.params["ts.vth_d2d_rel"] = Fitted(
                "ts.vth_d2d_rel",
                s / f.value,
                "1",
                (lo, min(hi, 0.5)),
                f.runs,
                f"sample sigma / mean of the {n} cells' median thresholds, chi-square interval",
                n,
                None,
            )
        else:
            res.not_identified.append(
                "ts.vth_d2d_rel: one cell; the device-to-device spread needs iv-sweeps "
                "of two or more cells (--cells labels the runs' cells)"
            )
        hw = _cycle_interval(
            np.concatenate([np.asarray(r.arrays.get("vhold_V_jump", ([], ""))[0], float) for r in usable])
        )
        hw = _with_resolution(hw, usable) if len(usable) == 1 else None
        res.params["ts.vhold_v"] = _across_cells(
            "ts.vhold_v",
            "V",
            usable,
            "vhold_mean_V",
            "iv-sweep vhold_mean_V: hold voltage where the down branch leaves the on state",
            one_cell_halfwidth=hw,
            resolution=_step(usable),
        )
        held = [r for r in usable if _finite(r.features.get("r_on_held_ohm"))]
        if held:
            f = _held_r_on(usable, held, r_cryst_ohm)
            for r in iv:  # measured, not bounded: the loop's iv-sweep feature (the bound) is not needed
                r.loop = None
        else:
            f = _bound_r_on(usable, r_cryst_ohm)
        if not f.value > 0:
            raise FitError(
                f"iv-sweep runs: the on-branch resistance {f.value + r_cryst_ohm:g} Ohm is not above "
                f"pcm.r_cryst_ohm = {r_cryst_ohm:g} Ohm: check series_resistance_ohm of the runs or "
                f"give the cell's own r_cryst_ohm with --base"
            )
        res.params[f.name] = f
    else:
        res.not_identified.append("ts.vth_v, ts.vhold_v, ts.r_on_ohm: no iv-sweep run")

    # ---- delay-recovery: delay law and recovery
    dr = by["delay-recovery"]
    if dr:
        if not any(_finite(r.features.get("td0_s")) for r in dr):
            res.not_identified.append(
                "ts.t_d0_s, ts.v0_delay_v: the delay-recovery runs measured fewer than "
                "two delays (raise the pulse amplitudes above threshold)"
            )
        else:
            hw = None
            one = [r for r in dr if _finite(r.features.get("v0_stderr_V"))]
            if len(one) == 1:
                hw = 1.96 * one[0].features["v0_stderr_V"]
            res.params["ts.v0_delay_v"] = _across_cells(
                "ts.v0_delay_v",
                "V",
                dr,
                "v0_V",
                "delay-recovery v0_V: mean delay t_d = t_d0 exp(-(V - Vth)/V0), exponential-delay likelihood",
                one_cell_halfwidth=hw,
            )
            # t_d0 is positive and spread on a log scale: averaged in log over cells
            cells = _per_cell(dr, "td0_s")
            logs = [float(np.mean(np.log(v))) for v in cells.values()]
            m, interval, _ = _mean_interval(logs)
            res.params["ts.t_d0_s"] = Fitted(
                "ts.t_d0_s",
                math.exp(m),
                "s",
                None if interval is None else (math.exp(interval[0]), math.exp(interval[1])),
                [r.id for r in dr if _finite(r.features.get("td0_s"))],
                "delay-recovery td0_s: the delay law's value at the run's measured threshold"
                + (
                    "; geometric mean over cells, interval from the log spread"
                    if interval
                    else "; one cell: the analysis gives no standard error, so no interval (measure two or more cells)"
                ),
                len(logs),
                per_cell={c: math.exp(v) for c, v in zip(cells, logs)},
            )
        if not any(_finite(r.features.get("recovery_tau_s")) for r in dr):
            res.not_identified.append("ts.tau_recovery_s: the delay-recovery runs have no recovery rows")
        else:
            res.params["ts.tau_recovery_s"] = _recovery_tau(dr)
    else:
        res.not_identified.append("ts.t_d0_s, ts.v0_delay_v, ts.tau_recovery_s: no delay-recovery run")

    # ---- retention: drift exponent of RESET-side states, inverse-variance weighted
    ret = by["retention"]
    if ret:
        nus, hws, used = [], [], []
        for r in ret:
            for k, v in r.features.items():
                mt = re.fullmatch(r"nu_(state.+)", k)
                if not mt or not _finite(v):
                    continue
                s = mt.group(1)
                r0, lo, hi = (
                    r.features.get(f"r0_ohm_{s}"),
                    r.features.get(f"nu_ci_low_{s}"),
                    r.features.get(f"nu_ci_high_{s}"),
                )
                if not (_finite(r0) and r0 >= RESET_SIDE_FACTOR * r_cryst_ohm and _finite(lo) and _finite(hi)):
                    continue
                # measured nu_eff = nu R_a / (R_a + R_c): corrected for the crystalline series part
                nus.append(float(v) * r0 / (r0 - r_cryst_ohm))
                hws.append(max((hi - lo) / 2, 1e-12))
                if r.id not in used:
                    used.append(r.id)
        if not nus:
            res.not_identified.append(
                f"pcm.nu_drift: no retention state on the RESET side (R(1 s) >= {RESET_SIDE_FACTOR:g} x "
                f"pcm.r_cryst_ohm = {RESET_SIDE_FACTOR * r_cryst_ohm:g} Ohm), where the measured drift is the "
                f"amorphous phase's own: program lower conductances"
            )
        else:
            w = 1 / np.square(hws)
            m = float(np.sum(w * nus) / np.sum(w))
            hw = float(1 / math.sqrt(np.sum(w)))
            if len(nus) > 1:  # states that disagree beyond their intervals widen it (Birge ratio)
                chi2 = float(np.sum(w * np.square(np.asarray(nus) - m))) / (len(nus) - 1)
                hw *= max(1.0, math.sqrt(chi2))
            res.params["pcm.nu_drift"] = Fitted(
                "pcm.nu_drift",
                m,
                "1",
                (max(m - hw, 0.0), m + hw),
                used,
                f"retention nu per state (log R against log t) x R/(R - pcm.r_cryst_ohm), inverse-variance mean of {len(nus)} RESET-side "
                f"state(s) (R(1 s) >= {RESET_SIDE_FACTOR:g} x pcm.r_cryst_ohm), 95 % interval widened by the "
                f"states' disagreement",
                len(used),
            )
    # ---- curve features: recorded, no parameter set directly
    for r in by["pulse-train"]:
        for k in ("p_a_pulses", "d_a_pulses", "p_gmin_S", "p_gmax_S"):
            if _finite(r.features.get(k)):
                res.features.append(f"{r.id}: pulse-train {k} = {r.features[k]:.4g}")
    for r in by["endurance"]:
        for k in ("window_first", "window_last", "failure_cycle"):
            if _finite(r.features.get(k)):
                res.features.append(f"{r.id}: endurance {k} = {r.features[k]:.4g}")
    for r in by["threshold-vs-weight"]:
        for k in ("threshold_slope_V_per_decade", "threshold_spearman_rho"):
            if _finite(r.features.get(k)):
                res.features.append(f"{r.id}: threshold-vs-weight {k} = {r.features[k]:.4g}")
    if by["pulse-train"]:
        res.not_identified.append(
            "pcm.tau_cryst_ref_s, pcm.theta_head (pulse-train runs): their SET pulses crystallize at the kinetic "
            "ceiling (pcm.k_cryst_max_per_s) from a full RESET, so neither shows in the curve (docs/fitting.md: "
            "measured); pcm.t_melt_k, pcm.t_full_melt_k are held at their values (the RESET amplitude fixes "
            "(t_melt_k - ambient) / r_th_k_per_w, so r_th_k_per_w is fitted for the given t_melt_k)"
        )
    if any(by[p] for p in ("endurance", "threshold-vs-weight")):
        res.not_identified.append(
            "endurance, threshold-vs-weight runs: curves of several parameters at once, which the fit does not "
            "use yet (docs/fitting.md); their features are listed in the device file's header"
        )
    if not res.params and not (loop and any(r.procedure == "pulse-train" for r in runs)):
        raise FitError(
            "nothing identifiable in these runs: "
            + "; ".join(res.not_identified)
            + ". Direct extraction needs an iv-sweep, a delay-recovery or a retention run "
            "(RESET-side states); the model-in-the-loop fit (not --direct-only) also a pulse-train run."
        )
    return res


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def render(res: FitResult, command: str = "", base: str | Path | None = None) -> str:
    """The device file's text (sim_backend.params format; extra keys interval, n_cells, spread). The
    entries of a ``base`` device file that the fit does not set are copied with their own provenance."""
    base_entries = {}
    if base is not None:
        from sim_backend.params import _read

        values, prov = _read(Path(base), require_all=False)
        base_entries = {n: (v, prov[n]) for n, v in values.items() if n not in res.params}
    lines = [
        "# Device file written by `tspcm fit` (direct extraction from run files, then a model-in-the-loop fit",
        "# of what the analyses read with a bias or not at all; docs/fitting.md).",
        '# Every value: basis = "fitted", source = the runs it came from and how; interval = 95 %; a value the',
        '# runs reproduce but do not measure (not identified, header below): basis = "not identified", no interval.',
        "# Parameters not listed keep the defaults of data/device_params.toml.",
    ]
    if command:
        lines.append(f"# command: {command}")
    lines.append("# runs:")
    lines += [f"#   {r}" for r in res.runs]
    if res.not_identified:
        lines.append("# not identified by these runs:")
        lines += [f"#   {t}" for t in res.not_identified]
    if res.features:
        lines.append("# measured curve features (no parameter set from them):")
        lines += [f"#   {t}" for t in res.features]
    for section in ("ts", "pcm"):
        items = [f for n, f in res.params.items() if n.startswith(section + ".")]
        kept = {n: e for n, e in base_entries.items() if n.startswith(section + ".")}
        if not items and not kept:
            continue
        lines += ["", f"[{section}]"]
        for n, (v, prov) in kept.items():
            lines.append(
                f"{n.split('.', 1)[1]} = {{ value = {v!r}, unit = {_toml_str(prov['unit'])}, "
                f"basis = {_toml_str(prov['basis'])}, source = {_toml_str(prov['source'])} }}"
            )
        for f in items:
            parts = [
                f"value = {f.value!r}",
                f"unit = {_toml_str(f.unit)}",
                'basis = "fitted"' if f.identified else 'basis = "not identified"',
                f"source = {_toml_str(f.method + '; runs: ' + ', '.join(f.runs))}",
            ]
            if not f.identified:
                parts.append('interval = "none: not identified by these runs (header)"')
            elif f.interval is not None:
                parts.append(f"interval = [{f.interval[0]!r}, {f.interval[1]!r}]")
            else:
                parts.append('interval = "none: the analysis gives no standard error for one run"')
            parts.append(f"n_cells = {f.n_cells}")
            if f.bound:
                parts.append(f"bound = {_toml_str(f.bound)}")
            if f.spread is not None:
                parts.append(f"spread = {f.spread!r}")
            if f.correlations:
                parts.append(
                    "correlations = { "
                    + ", ".join(f"{_toml_str(k)} = {v:.4f}" for k, v in f.correlations.items())
                    + " }"
                )
            lines.append(f"{f.name.split('.', 1)[1]} = {{ {', '.join(parts)} }}")
    return "\n".join(lines) + "\n"


def _clip(res: FitResult) -> None:
    """Intervals within each parameter's allowed range (a t interval over two cells can reach below 0)."""
    from sim_backend.params import SCHEMA

    for f in res.params.values():
        if f.interval is not None:
            spec = SCHEMA[f.name]
            lo = max(f.interval[0], spec.low)
            f.interval = (lo if lo > 0 or not spec.low_open else f.value * 1e-3, min(f.interval[1], spec.high))


def write_device_file(res: FitResult, path: str | Path, base: str | Path | None = None, command: str = "") -> Path:
    """Write the device file only once it loads (ranges and consistency, on top of ``base``); FitError else."""
    from sim_backend.params import DeviceParams, ParameterError

    path = Path(path)
    _clip(res)
    text = render(res, command, base)
    fd, tmp = tempfile.mkstemp(suffix=".toml", dir=path.parent if path.parent.exists() else None)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        try:
            DeviceParams.load(tmp)
        except ParameterError as exc:
            raise FitError(f"the fitted values are not a valid device: {exc}") from None
        if not path.parent.exists():
            raise FitError(f"cannot write {path}: folder {path.parent} does not exist")
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path


def fit_runs(
    paths,
    cells=None,
    base=None,
    *,
    loop: bool = True,
    workers: int = 1,
    scheduler: str | None = None,
    max_evaluations: int = 20,
) -> FitResult:
    """Analyse ``paths``, extract directly, then (``loop``) fit the parameters of modelfit.LOOPS model-in-the-loop
    (``workers`` processes, or the Dask ``scheduler``); ``base`` is a device file of values known otherwise
    (its pcm.r_cryst_ohm is used by the extraction; the loop's simulated cells start from it)."""
    from sim_backend.params import DeviceParams, ParameterError, _read
    from tspcm_lab.analysis.modelfit import LoopError, loop_fit

    if not paths:
        raise FitError("no run files given")
    try:
        defaults = DeviceParams.load(base)
        base_values = _read(Path(base), require_all=False)[0] if base is not None else {}
    except ParameterError as exc:
        raise FitError(f"--base: {exc}") from None
    r_cryst = defaults["pcm.r_cryst_ohm"]
    runs = load_runs(paths, cells, r_cryst)
    res = extract(runs, r_cryst, loop)
    if loop:
        try:
            res.loop = loop_fit(
                res,
                runs,
                dict(defaults.values),
                workers=workers,
                scheduler=scheduler,
                max_evaluations=max_evaluations,
                r_cryst_ohm=r_cryst,
                base_values=base_values,
            )
        except LoopError as exc:
            raise FitError(str(exc)) from None
        if not res.params:
            raise FitError("nothing identifiable in these runs: " + "; ".join(res.not_identified))
    res.notes = read_setting_notes(res, runs)
    return res


#: the procedures' parameter for the TS on-resistance a conductance read subtracts (procedures.library.read)
READ_TS_ON_KEY = "read_ts_on_resistance_ohm"


def read_setting_notes(res: FitResult, runs: Sequence[_Run]) -> list[str]:
    """One note per value of ``read_ts_on_resistance_ohm`` the runs read with that lies outside the fitted
    ts.r_on_ohm's interval. A conductance read takes the TS's on-resistance off the on branch's slope
    (G = 1 / (R - R_series - R_on,TS)); with R_on,TS off by dR, a read of G gives 1 / (1/G + dR): too low and
    never above 1/dR when the switch is more resistive than assumed, too high (then NaN) when less. The loop
    re-runs each run with its recorded setting, so what it fits is not biased by it; the runs' own reads (and
    new runs with the same setting) are. Nothing when ts.r_on_ohm is not identified or only bounded."""
    from tspcm_lab.si import format_si

    fitted = res.params.get("ts.r_on_ohm")
    if fitted is None or not fitted.identified or fitted.bound:
        return []
    lo, hi = fitted.interval if fitted.interval else (fitted.value, fitted.value)
    off: dict[float, list[_Run]] = {}
    for r in runs:
        value = r.values.get(READ_TS_ON_KEY)
        if isinstance(value, (int, float)) and math.isfinite(value) and not lo <= value <= hi:
            off.setdefault(float(value), []).append(r)
    consequence = (
        "The model-in-the-loop fit re-ran them with the setting they recorded, so its parameters are not biased "
        "by it; the runs' own reads are."
        if res.loop
        else "The direct extraction takes their reads as they are (without --direct-only the fit re-runs them "
        "with the setting they recorded)."
    )
    notes = []
    for value, which in sorted(off.items()):
        d_r = fitted.value - value
        procedures = ", ".join(sorted({r.procedure for r in which}))
        # a read of G is 1/(1/G + dR): off by -G dR/(1 + G dR), at a few conductances for scale
        scale = ", ".join(
            f"{100.0 * -g * d_r / (1.0 + g * d_r):+.2g} % at {format_si(g, 'S', 3, ascii=True)}"
            for g in (1e-6, 1e-5, 1e-4)
            if 1.0 + g * d_r > 0
        )
        if d_r > 0:
            effect = (
                f"each read counted {format_si(d_r, 'Ohm', 3, ascii=True)} of the switch as PCM: a conductance G "
                f"read as 1/(1/G + {format_si(d_r, 'Ohm', 3, ascii=True)}) ({scale}), never above "
                f"{format_si(1.0 / d_r, 'S', 3, ascii=True)}"
            )
        else:
            effect = (
                f"each read took {format_si(-d_r, 'Ohm', 3, ascii=True)} of the PCM's resistance for the switch's: "
                f"conductances read too high ({scale}), and those above {format_si(-1.0 / d_r, 'S', 3, ascii=True)} "
                f"as NaN"
            )
        notes.append(
            f"{len(which)} run(s) ({procedures}) read the PCM with {READ_TS_ON_KEY} = "
            f"{format_si(value, 'Ohm', 4, ascii=True)}, outside the fitted ts.r_on_ohm "
            f"{format_si(fitted.value, 'Ohm', 4, ascii=True)} [{format_si(lo, 'Ohm', 4, ascii=True)}, "
            f"{format_si(hi, 'Ohm', 4, ascii=True)}]: {effect}. {consequence} For new runs of this device: --set "
            f"{READ_TS_ON_KEY}={fitted.value:.4g}"
        )
    return notes
