"""Model-in-the-loop fit: the runs' procedures, with the parameters recorded in each run file, re-run on the
simulated bench, and the device parameters fitted so that the simulated runs' features match the measured
ones (scipy.optimize.least_squares, in log parameters). Step 2 of ``tspcm fit`` (docs/fitting.md).

Why: an analysis is an estimator with its own bias on a given cell (the delay law read from delays near the
pulse path's charging time; the drift exponent read from a few decades of time), and some parameters show
only through a whole procedure. Fitting through the same procedure on the model removes the estimator's
bias by construction: the simulated run goes through the same analysis.

Each cell is fitted on its own (the loop's cell is the cell's direct extraction, with the device-to-device
draws switched off), each group of parameters against the features of one procedure (`LOOPS`):

==============  ===================================  ============================================
procedure       parameters                           features (noise: their own standard error)
==============  ===================================  ============================================
iv-sweep        ts.r_on_ohm (first: the others use   ln of the least per-cycle on-branch slope
                it; only where no sweep's held       after the first cycle (scatter, >= 2 %)
                segments measure it directly)
delay-recovery  ts.t_d0_s, ts.v0_delay_v             ln of the mean delay at each overdrive (1/sqrt(n))
retention       pcm.nu_drift                         the analysis' nu of each RESET-side state
pulse-train     pcm.k_cryst_max_per_s, pcm.jmak_n,   the SET pulses to reach 3 uS, from 3 to 30 and
                pcm.r_th_k_per_w                     from 30 to 300 uS, and the depression pulse whose
                                                     read falls below 30 uS, each the mean over the
                                                     cycles (their scatter / sqrt(cycles))
==============  ===================================  ============================================

The simulated runs use seeds of their own (never the run's: the model's noise is independent of the
measurement's, so each feature's noise is counted twice), and each cell's fit its own (a simulation noise shared by
the cells' fits would pull them alike and not show in their spread). The covariance of one cell is Gauss-Newton,
(J^T J)^-1, scaled up by chi2/dof when the features disagree more than their noise, with J by central differences
over +-``COV_STEP`` in ln(parameter), each side the mean of ``COV_REPLICAS`` simulated cells: a simulated run's
features jump with a parameter by about their own noise, so the optimizer's 10 % forward difference on one seed
measures slopes of noise (intervals several times too narrow). Over the cells, the value is the mean and the 95 %
interval the larger of t s/sqrt(n) over the cells and the cells' own intervals combined (sqrt(sum h_i^2)/n). A
parameter is identified when that combination of the cells' own intervals lies within a factor
``IDENTIFIED_FACTOR``; else the file keeps the value, which reproduces the runs, with basis "not identified", no
interval, and the reason: its correlated partner and the run that would separate them. Before fitting, a
parameter whose interval at the start spans more than a factor ``UNIDENTIFIED_FACTOR`` against the features' noise
alone (not scaled by the start's chi2/dof, which says how far the start is: docs/fitting.md, "The delay law's
verdicts"), or correlated beyond ``UNIDENTIFIED_RHO``, is not fitted at all. Simulations run in a process pool
(``workers``) or on a Dask scheduler (``scheduler``).
"""

from __future__ import annotations

import math
import tempfile
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: before fitting: a parameter whose 95 % interval at the start, against the features' noise alone, spans more
#: than this factor (either side), or is correlated beyond UNIDENTIFIED_RHO with another, is not fitted at all
#: (hopeless: saves the evaluations)
UNIDENTIFIED_FACTOR = 10.0
UNIDENTIFIED_RHO = 0.995
#: after fitting: a parameter is identified by the runs when the 95 % interval of its value that the cells' fits
#: give (their covariances below, combined over the cells: what the runs determine, before the cells' spread)
#: lies within this factor either side of the value
IDENTIFIED_FACTOR = 2.5
#: the covariance's Jacobian: central differences of +-COV_STEP in ln(parameter), each side the median of
#: COV_REPLICAS simulated cells (the fit's seeds and others). A simulated run's features jump with a parameter by about
#: their own noise (a pulse that fires or not shifts the cell's later random draws: measured on the
#: delay-recovery features, jumps of 0.5 in ln delay between 5 % steps of t_d0), so a 10 % forward difference
#: on one seed gives slopes of noise and intervals far too narrow; over +-0.5 and three cells a slope's noise is
#: ~0.2 of a unit slope
COV_STEP = 0.5
COV_REPLICAS = 3
#: log step of the finite-difference Jacobian (10 %): larger than the features' jitter under a parameter change
LOG_STEP = 0.1
#: simulation seeds (far from the small seeds users give their own runs)
SEED0 = 7919
#: a feature the simulated run did not give (e.g. no delay at that overdrive): this residual, in sigmas
MISSING = 10.0
#: parameters the model draws per cell (device-to-device spread): a loop's cell uses its own value of these
PER_CELL = ("ts.vth_v",)
#: seeds tried for a simulated run that misses a feature at the start
SEED_TRIES = 3


class LoopError(ValueError):
    """The model-in-the-loop fit cannot give a parameter; the message names what is missing."""


class SimulatedRunFailed(RuntimeError):
    """A simulated run ended other than completed with the recorded parameters, e.g. its calibration found no
    spike amplitude on that simulated cell: what the procedure does on the device file's cells, which
    ``tspcm fit --check`` reports as a prediction (the measured runs completed, the simulated ones did not)."""


@dataclass(frozen=True)
class Loop:
    """Which parameters a procedure's runs fit in the loop, from which features, run how."""

    params: tuple[str, ...]
    features: Callable  #: (run, its RunAnalysis, r_min_ohm) -> {name: (value, sigma)}
    overrides: dict = field(default_factory=dict)  #: procedure parameters changed in the loop (parts not fitted)
    needs: str = ""  #: what a run must have measured (the refusal's text)
    bounds: dict = field(default_factory=dict)  #: name -> (low, high) where the schema's is open at 0
    stage: int = 2  #: stage 1 is fitted first: the later stages' model cells use its values
    separate: str = "more runs of this procedure"  #: what run would separate parameters it cannot tell apart
    #: the features need the procedure's analysis; False: read from the columns (an analysis that fails on a run,
    #: e.g. the NeuroSim fit of a curve below the read's floor, then leaves the features to say what is missing)
    uses_analysis: bool = True


def on_resistance_features(run, analysis, r_min_ohm: float = 0.0) -> dict:
    """ln of the least per-cycle on-branch resistance after the first cycle (the switch in series with a PCM
    that keeps crystallizing over the cycles: the analysis reads R_on + R_PCM), noise the scatter of ln R over
    the last three cycles, at least 2 %."""
    r = np.asarray(analysis.arrays.get("r_on_ohm", ([], ""))[0], float)[1:]
    r = r[np.isfinite(r) & (r > 0)]
    if r.size < 2:
        return {}
    return {"ln_r_on_least_ohm": (math.log(float(r.min())), max(0.02, float(np.std(np.log(r[-3:]), ddof=1))))}


def delay_features(run, analysis, r_min_ohm: float = 0.0) -> dict:
    """ln of the mean delay at each overdrive (pulses that did not fire within the pulse counted as censored
    at the pulse width: the exponential's maximum-likelihood mean), noise 1/sqrt(fired)."""
    c = run.columns
    od, d = np.asarray(c.get("Overdrive (V)", []), float), np.asarray(c.get("Delay (s)", []), float)
    iv = np.asarray(c.get("Interval (s)", np.full(od.shape, np.nan)), float)
    rows = np.isfinite(od) & ~np.isfinite(iv)
    width = float(run.parameter_values.get("delay_width_s", 1e-6))
    out = {}
    for v in np.unique(np.round(od[rows], 6)):
        sel = rows & (np.abs(od - v) < 5e-7)
        fired = d[sel][np.isfinite(d[sel]) & (d[sel] > 0)]
        censored = int(np.count_nonzero(sel)) - fired.size
        if fired.size < 3:
            continue
        mean = (float(fired.sum()) + censored * width) / fired.size
        out[f"ln_delay_at_{v:g}V"] = (math.log(mean), 1.0 / math.sqrt(fired.size))
    return out


def drift_features(run, analysis, r_min_ohm: float = 0.0) -> dict:
    """nu of each state with R(1 s) >= r_min_ohm (the RESET side), noise its interval / 3.92."""
    feats = {f.name: f.value for f in analysis.features}
    out = {}
    for k, v in feats.items():
        if not k.startswith("nu_state"):
            continue
        s = k[len("nu_") :]
        lo, hi, r0 = feats.get(f"nu_ci_low_{s}"), feats.get(f"nu_ci_high_{s}"), feats.get(f"r0_ohm_{s}")
        if all(x is not None and math.isfinite(x) for x in (v, lo, hi, r0)) and r0 >= r_min_ohm and hi > lo:
            out[k] = (float(v), (hi - lo) / 3.92)
    return out


#: pulse-train: the conductance levels whose first crossing during a SET train is a feature. The read resolves
#: ~0.7 uS to ~1 mS (below: NaN; at the crystalline end, ~2 mS on the default cell, the PCM is a small part of the
#: on-branch resistance and the read scatters by 5-10 %), so the levels lie within it and below the SET plateau
SET_LEVELS_S = (3e-6, 30e-6, 300e-6)
#: pulse-train: a depression pulse whose read is below this (or below the read's floor) has RESET the cell
RESET_LEVEL_S = 30e-6
#: pulse-train: the least scatter of a feature between cycles (the programming's cycle-to-cycle draws), measured on
#: the default cell (6 runs of 4 cycles): the SET onset (pulses to 3 uS) scattered by ~1 pulse (5.4-8.4 in one
#: run), the rise between levels by ~0.1 pulse (1.1-1.4 pulses from 3 to 30 uS); the RESET pulse is a whole count
PULSE_SCATTER = {"onset": 1.0, "rise": 0.1, "reset": 0.5}


def _set_crossing(pulse: np.ndarray, g: np.ndarray, level: float) -> float | None:
    """The (fractional) pulse count at which a SET train's reads first reach ``level``: interpolated in ln G
    from the read before, or half a pulse before the first read above when the read before was below the read's
    floor (NaN). None when no read reaches it, or the first read (before any pulse) already does."""
    hit = np.flatnonzero(np.isfinite(g) & (g >= level))
    if hit.size == 0 or hit[0] == 0:
        return None
    i = int(hit[0])
    if np.isfinite(g[i - 1]) and g[i - 1] > 0:
        f = math.log(level / g[i - 1]) / math.log(g[i] / g[i - 1])
        return float(pulse[i - 1] + f * (pulse[i] - pulse[i - 1]))
    return float(pulse[i] - 0.5 * (pulse[i] - pulse[i - 1]))


def pulse_train_features(run, analysis, r_min_ohm: float = 0.0) -> dict:
    """The SET/RESET kinetics a pulse-train run shows within the read's range, per cycle: the SET onset (the
    pulse count at which G first reaches the lowest of SET_LEVELS_S), the rise (pulses from each level to the
    next: the JMAK curve's steepness), and, in cycles whose depression starts at or above the highest level, the
    depression pulse count whose read falls below RESET_LEVEL_S (a NaN read: below the read's floor). Each is
    the mean over the cycles that gave it, noise the cycles' scatter (at least PULSE_SCATTER) / sqrt(cycles).
    The first cycle starts from the run's initial RESET, the others from the depression's, as in the simulated
    run: the cycles are pooled as they come."""
    c = run.columns
    need = ("Cycle", "Phase", "Pulse", "Conductance (S)")
    if any(k not in c for k in need):
        return {}
    cyc, ph, pulse, g = (np.asarray(c[k], float) for k in need)
    per: dict[tuple[str, str], list[float]] = {}
    names = [f"{x * 1e6:g}uS" for x in SET_LEVELS_S]
    for cy in np.unique(cyc[np.isfinite(cyc)]):
        sel = (cyc == cy) & (ph > 0)
        order = np.argsort(pulse[sel], kind="stable")
        p, gg = pulse[sel][order], g[sel][order]
        x = [_set_crossing(p, gg, level) for level in SET_LEVELS_S]
        if x[0] is not None:
            per.setdefault((f"set_pulses_to_{names[0]}", "onset"), []).append(x[0])
        for i in range(1, len(x)):
            if x[i - 1] is not None and x[i] is not None:
                per.setdefault((f"set_pulses_{names[i - 1]}_to_{names[i]}", "rise"), []).append(x[i] - x[i - 1])
        sel = (cyc == cy) & (ph < 0)
        order = np.argsort(pulse[sel], kind="stable")
        p, gg = pulse[sel][order], g[sel][order]
        if p.size < 2 or p[0] != 0 or not (np.isfinite(gg[0]) and gg[0] >= SET_LEVELS_S[-1]):
            continue
        low = np.flatnonzero(~(np.isfinite(gg) & (gg >= RESET_LEVEL_S)))
        if low.size:
            per.setdefault((f"reset_pulses_below_{RESET_LEVEL_S * 1e6:g}uS", "reset"), []).append(float(p[low[0]]))
    out = {}
    for (k, kind), xs in per.items():
        s = max(PULSE_SCATTER[kind], float(np.std(xs, ddof=1)) if len(xs) > 1 else 0.0)
        out[k] = (float(np.mean(xs)), s / math.sqrt(len(xs)))
    return out


LOOPS = {
    "iv-sweep": Loop(("ts.r_on_ohm",), on_resistance_features, {}, "two or more cycles with an on branch", stage=1),
    "delay-recovery": Loop(
        ("ts.t_d0_s", "ts.v0_delay_v"),
        delay_features,
        {"measure_recovery": False},
        "delays at two or more overdrives, three or more fired pulses each",
        separate="a delay-recovery run with more overdrives whose delays stay well above the cell's charging "
        "time (lower overdrives, a longer delay_width_s) and more repeats per overdrive",
    ),
    "retention": Loop(
        ("pcm.nu_drift",),
        drift_features,
        {},
        "RESET-side states (R(1 s) >= 100 x pcm.r_cryst_ohm)",
        {"pcm.nu_drift": (1e-3, 0.5)},
    ),
    "pulse-train": Loop(
        ("pcm.k_cryst_max_per_s", "pcm.jmak_n", "pcm.r_th_k_per_w"),
        pulse_train_features,
        {},
        "a SET train whose reads rise from below 3 uS (or the read's floor) through 30 and 300 uS, and a "
        "depression train that RESETs the cell below 30 uS (start from a full RESET: initial_reset; more "
        "potentiation_pulses, or a higher set_amplitude_V, if G stays below the read's floor)",
        {"pcm.r_th_k_per_w": (1e5, 1e8)},
        separate="pulse-train runs with more cycles, of more cells (the SET onset's cycle-to-cycle scatter limits "
        "how well the crystallization rate and the JMAK exponent are told apart; docs/fitting.md)",
        uses_analysis=False,
    ),
}


# --------------------------------------------------------------------------------------- one simulated run
def _device_text(values: dict) -> str:
    sections: dict[str, list[str]] = {}
    for name, v in values.items():
        sec, key = name.split(".", 1)
        sections.setdefault(sec, []).append(f"{key} = {float(v)!r}")
    return "".join(f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items())


def simulate(job: tuple) -> tuple[dict, dict]:
    """(procedure, parameter values, device values, seed, loop features?) -> (analysis features, loop
    features): one run on a fresh simulated bench, in a temporary folder. Module level: pool workers call it."""
    from tspcm_lab import runner
    from tspcm_lab.analysis.registry import get_analysis
    from tspcm_lab.plugins import load_procedure
    from tspcm_lab.store import open_run

    procedure, values, device, seed, r_min = job
    cls = load_procedure(procedure)
    with tempfile.TemporaryDirectory(prefix="tspcm_fit_") as d:
        dev = Path(d) / "device.toml"
        dev.write_text(_device_text(device))
        # the model's RuntimeWarnings (a trial cell over-heated: the optimizer exploring a large pcm.r_th_k_per_w)
        # say nothing about the user's cells; the simulated run's own log keeps them
        with (
            warnings.catch_warnings(),
            runner.BenchSession.open("sim", seed=seed, sim_options=f"device={dev}") as session,
        ):
            warnings.simplefilter("ignore", RuntimeWarning)
            proc = runner.build_procedure(cls, values, session)
            runner.validate(proc)
            outcome = runner.execute(proc, session, Path(d) / "run.h5", seed=seed)
        if outcome.status != "completed":
            raise SimulatedRunFailed(f"simulated {procedure} run {outcome.status}: {outcome.message}")
        run = open_run(outcome.path)
        loop = LOOPS.get(procedure)
        try:
            analysis = get_analysis(procedure)(run)
        except Exception:
            if loop is None or loop.uses_analysis:
                raise
            analysis = None  # e.g. a simulated pulse-train whose reads stay below the floor: the features say so
        feats = {f.name: f.value for f in analysis.features} if analysis is not None else {}
        lf = {}
        if loop is not None:
            lf = loop.features(run, analysis, r_min)
        return feats, lf


# --------------------------------------------------------------------------------------- where runs are run
class Evaluator:
    """Runs simulate() jobs: serially here, in a process pool, or on a Dask scheduler."""

    def __init__(self, workers: int = 1, scheduler: str | None = None):
        self.workers, self.scheduler = max(1, int(workers)), scheduler
        self._pool = self._client = None
        self.runs = 0

    def __enter__(self):
        if self.scheduler:
            from distributed import Client

            try:
                self._client = Client(self.scheduler, set_as_default=False, timeout=20)
            except Exception as exc:  # noqa: BLE001 - the user's address: named in the message
                raise LoopError(f"--scheduler {self.scheduler}: cannot connect ({exc})") from None
        elif self.workers > 1:
            from concurrent.futures import ProcessPoolExecutor

            from tspcm_lab.isolated import _context

            # fork when this process has no other thread (fast: the model's compiled kernels come along), else
            # a fork server; every worker starts now, from this thread, before the fits' threads exist
            self._pool = ProcessPoolExecutor(self.workers, mp_context=_context())
            list(self._pool.map(abs, range(self.workers)))
        return self

    def __exit__(self, *exc):
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
        if self._client is not None:
            self._client.close()

    @property
    def parallel(self) -> int:
        if self._client is not None:
            return max(1, len(self._client.scheduler_info().get("workers", {})))
        return self.workers if self._pool is not None else 1

    def map(self, jobs: list) -> list:
        """simulate() of each job, in order; a job that raised comes back as its exception."""
        self.runs += len(jobs)
        if self._client is not None:
            futures = self._client.map(simulate, jobs, pure=False)
            return [f.exception() or f.result() for f in futures]
        if self._pool is not None:
            futures = [self._pool.submit(simulate, j) for j in jobs]
            return [f.exception() or f.result() for f in futures]
        out = []
        for j in jobs:
            try:
                out.append(simulate(j))
            except Exception as exc:  # noqa: BLE001 - one failed run: the caller names it
                out.append(exc)
        return out


# --------------------------------------------------------------------------------------- one cell, one loop
@dataclass
class CellFit:
    cell: str
    procedure: str
    values: dict  #: name -> fitted value
    halfwidth_log: dict  #: name -> 95 % half-width of ln(value)
    correlations: dict  #: (a, b) -> rho
    unidentified: dict  #: name -> why
    chi2: float
    dof: int
    evaluations: int
    runs: list
    dropped: list = field(default_factory=list)  #: features the simulated cell did not measure (left out)
    #: name -> the screen's 95 % half-width of ln(value) at the start, against the features' noise alone (a
    #: parameter beyond ln UNIDENTIFIED_FACTOR is not fitted)
    screen_halfwidth_log: dict = field(default_factory=dict)
    #: chi2/dof of the features at the start, in the screen's noise (how far the start lies from this cell's
    #: values; the screen does not scale its half-widths by it, docs/fitting.md)
    start_chi2_dof: float = math.nan


def _bounds(loop: Loop, name: str) -> tuple[float, float]:
    from sim_backend.params import SCHEMA

    if name in loop.bounds:
        return loop.bounds[name]
    s = SCHEMA[name]
    return max(s.low, 1e-30), s.high


def fit_cell(
    cell: str,
    procedure: str,
    runs: list,
    device: dict,
    start: dict,
    ev: Evaluator,
    max_evaluations: int = 20,
    r_min_ohm: float = 0.0,
    seed0: int = SEED0,
) -> CellFit:
    """Fit LOOPS[procedure].params of one cell to its runs' loop features. ``runs``: objects with
    ``values`` (recorded procedure parameters), ``loop`` ({name: (value, sigma)}) and ``id``; ``device``:
    the cell's other parameters; ``start``: the starting values (its direct extraction, else the defaults).
    Raises LoopError when a run has too few features or the fit does not converge. ``seed0``: the cell's own
    simulation seeds (each cell its own: a noise shared by the cells' fits would not show in their spread)."""
    from scipy.optimize import least_squares

    loop = LOOPS[procedure]
    names_all = list(loop.params)
    keys = [(i, k) for i, r in enumerate(runs) for k in sorted(r.loop)]
    y = np.array([runs[i].loop[k][0] for i, k in keys])
    sig = np.array([runs[i].loop[k][1] for i, k in keys]) * math.sqrt(2.0)  # measurement + simulation noise
    if len(keys) < len(names_all):
        raise LoopError(
            f"cell {cell}: too few measurements to identify {', '.join(names_all)}: its {procedure} "
            f"run(s) give {len(keys)} feature(s) ({', '.join(k for _, k in keys) or 'none'}); they need "
            f"{loop.needs}"
        )
    jobs_for = [({**r.values, **loop.overrides}) for r in runs]
    cache: dict = {}
    seeds = [seed0 + i for i in range(len(runs))]

    def point(names, x):
        return {**device, **{n: start[n] * math.exp(v) for n, v in zip(names, x)}}

    def evaluate(names, xs):
        todo = [x for x in xs if tuple(np.round(x, 12)) not in cache]
        jobs = [(procedure, jobs_for[i], point(names, x), seeds[i], r_min_ohm) for x in todo for i in range(len(runs))]
        got = ev.map(jobs) if jobs else []
        for n, x in enumerate(todo):
            r = np.full(len(keys), MISSING)
            for j, (i, k) in enumerate(keys):
                res = got[n * len(runs) + i]
                if isinstance(res, Exception):
                    raise LoopError(
                        f"cell {cell}: the simulated {procedure} run with the recorded parameters of "
                        f"{runs[i].id} failed: {' '.join(str(res).split())}"
                    )
                v = res[1].get(k)
                if v is not None and math.isfinite(v[0]):
                    r[j] = (v[0] - y[j]) / sig[j]
            cache[tuple(np.round(x, 12))] = r
        return [cache[tuple(np.round(x, 12))] for x in xs]

    def jacobian(names, x, lo, hi):
        steps = [LOG_STEP if x[j] + LOG_STEP <= hi[j] else -LOG_STEP for j in range(len(names))]
        pts = [x] + [x + steps[j] * np.eye(len(names))[j] for j in range(len(names))]
        r = evaluate(names, pts)
        return np.column_stack([(r[j + 1] - r[0]) / steps[j] for j in range(len(names))])

    def analyse(J, r, names, fitted=True):
        # chi2 over the features the simulated runs gave (MISSING is the optimizer's penalty, not a scatter).
        # At the fit's solution a chi2/dof > 1 says the features scatter more than their noise: the covariance is
        # scaled up by it. Before fitting (``fitted`` False: the screen) it is not: there chi2 measures how far
        # the start lies from the cell's values, not how well the runs determine a parameter. Measured (slow-high
        # round-trip cell A): chi2/dof 11.7 at the start scaled the screen's t_d0 half-width from x2.2 to x15.6,
        # beyond x10, so t_d0 was not fitted; with R_on 0.1 % lower the same cell fitted it within x1.9
        # (docs/fitting.md, "Identified or not")
        got = r != MISSING
        chi2, dof = float(r[got] @ r[got]), int(np.count_nonzero(got)) - len(names)
        scale = max(1.0, chi2 / dof) if dof > 0 and fitted else 1.0
        cov = np.linalg.pinv(J.T @ J) * scale
        hw = 1.96 * np.sqrt(np.clip(np.diag(cov), 0, None))
        dead = np.linalg.norm(J, axis=0) < 1e-9
        hw[dead] = np.inf
        d = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
        rho = cov / np.outer(d, d)
        return hw, rho, chi2, dof

    def analyse_with_scatter(J, r, names, scatter, fitted=True):
        """:func:`analyse` with each feature's noise the larger of its assumed one and the simulated replicas'
        own scatter, both for the measurement and the simulation (a run-level draw, e.g. the procedure's
        measured threshold, moves all of a run's delays together: on one cell the replicas' ln delay at 0.3 V
        overdrive scattered by 1.5, not 0.22): J and r rescaled from units of ``sig`` to units of that noise."""
        noise = np.maximum(sig, math.sqrt(2.0) * scatter)
        return analyse(J * (sig / noise)[:, None], np.where(r == MISSING, MISSING, r * sig / noise), names, fitted)

    def sensitivity(names, x, lo, hi):
        """The covariance's Jacobian (COV_STEP, COV_REPLICAS): d(residual)/d ln(parameter), central differences
        within the bounds, each side the median over replica cells (the fit's own seeds, which gave every feature,
        and seeds of their own; a feature a replica did not measure is left out); and each feature's scatter over
        the replicas (1.4826 x the median absolute deviation from their side's median, pooled over the sides)."""
        sides = []
        for j in range(len(names)):
            e = np.eye(len(names))[j]
            up, down = min(COV_STEP, hi[j] - x[j]), min(COV_STEP, x[j] - lo[j])
            if up + down <= 0:
                up = down = 0.0
            sides.append((x + up * e, x - down * e, up + down))
        jobs = [
            (procedure, jobs_for[i], point(names, p), seeds[i] if k == 0 else seed0 + 10_000 * k + i, r_min_ohm)
            for plus, minus, _ in sides
            for p in (plus, minus)
            for k in range(COV_REPLICAS)
            for i in range(len(runs))
        ]
        got = ev.map(jobs)
        per = len(runs) * COV_REPLICAS
        mid, dev = [], []
        for n in range(2 * len(names)):
            v = np.full((COV_REPLICAS, len(keys)), np.nan)
            for k in range(COV_REPLICAS):
                for j, (i, key) in enumerate(keys):
                    res = got[n * per + k * len(runs) + i]
                    f = None if isinstance(res, Exception) else res[1].get(key)
                    if f is not None and math.isfinite(f[0]):
                        v[k, j] = f[0]
            # medians and median absolute deviations: robust to a replica whose run went another way (e.g. a
            # retention state that did not reach the RESET side: nu 0.014 beside 0.080 and 0.081)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                m = np.nanmedian(v, axis=0)
            mid.append(m)
            dev.append(np.abs(v - m))
        devs = np.concatenate(dev)  # (sides x replicas, features)
        scatter = np.zeros(len(keys))
        for j in range(len(keys)):
            d = devs[:, j][np.isfinite(devs[:, j]) & (devs[:, j] > 0)]  # the median's own zero left out
            scatter[j] = 1.4826 * float(np.median(d)) if d.size else 0.0
        cols = []
        for j, (_, _, width) in enumerate(sides):
            d = (mid[2 * j] - mid[2 * j + 1]) / sig / width if width > 0 else np.zeros(len(keys))
            cols.append(d)  # NaN: a feature no replica measured on one side
        return np.column_stack(cols), scatter

    names = list(names_all)
    unidentified: dict[str, str] = {}
    screened: dict[str, float] = {}
    start_fit = math.nan
    evaluations = 0
    # a simulated cell whose run misses a feature the measured run has (e.g. a programming step that did not
    # reach its target on this draw) is drawn again, with another seed
    x0 = np.zeros(len(names))
    for attempt in range(SEED_TRIES):
        r0 = evaluate(names, [x0])[0]
        short = {i for j, (i, _) in enumerate(keys) if r0[j] == MISSING}
        if not short or attempt == SEED_TRIES - 1:
            break
        for i in short:
            seeds[i] = seed0 + i + 1000 * (attempt + 1)
        cache.clear()
    # what the model's cell still does not measure is left out of the fit (named in the result)
    dropped = [f"{k} ({runs[i].id})" for j, (i, k) in enumerate(keys) if r0[j] == MISSING]
    if dropped and len(dropped) < len(keys):
        keep = [j for j in range(len(keys)) if r0[j] != MISSING]
        keys, y, sig = [keys[j] for j in keep], y[keep], sig[keep]
        cache.clear()
    while True:
        lo = np.array([math.log(_bounds(loop, n)[0] / start[n]) for n in names])
        hi = np.array([math.log(_bounds(loop, n)[1] / start[n]) for n in names])
        x0 = np.clip(np.zeros(len(names)), lo, hi)
        J0 = jacobian(names, x0, lo, hi)
        r0 = evaluate(names, [x0])[0]
        if np.all(r0 == MISSING):
            unidentified.update(
                {
                    n: f"the simulated {procedure} run(s) with the recorded parameters measured none "
                    f"of the features {', '.join(k for _, k in keys)} on the model of this cell"
                    for n in names
                }
            )
            names = []
            break
        hw, rho, chi2_start, dof_start = analyse(J0, r0, names, fitted=False)
        off_diag = np.abs(rho - np.diag(np.diag(rho)))
        if np.nanmax(hw) > math.log(UNIDENTIFIED_FACTOR) or np.nanmax(off_diag, initial=0.0) > UNIDENTIFIED_RHO:
            # the one-seed forward difference can make slopes of noise: confirmed with the covariance's own
            # Jacobian and noise (replicas) before a parameter is dropped
            Jr, scatter = sensitivity(names, x0, lo, hi)
            Jr = np.where(np.isfinite(Jr), Jr, J0)
            hw, rho, chi2_start, dof_start = analyse_with_scatter(Jr, r0, names, scatter, fitted=False)
        screened.update(zip(names, hw.tolist()))
        start_fit = chi2_start / dof_start if dof_start > 0 else math.nan
        # identifiability before fitting: drop the worst-determined parameter, one at a time
        worst = int(np.argmax(hw))
        if hw[worst] > math.log(UNIDENTIFIED_FACTOR) and len(names) >= 1:
            n = names[worst]
            unidentified[n] = (
                f"its runs' features change by less than their noise over a factor "
                f"{UNIDENTIFIED_FACTOR:g} of it (95 % half-width x{math.exp(min(hw[worst], 50)):.3g})"
            )
            names.pop(worst)
            if not names:
                break
            continue
        off = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names)) if abs(rho[i, j]) > UNIDENTIFIED_RHO]
        if off:
            i, j = off[0]
            n = names[j]
            unidentified[n] = f"correlated with {names[i]} (rho {rho[i, j]:+.3f}) in these runs"
            names.pop(j)
            continue
        break
    if not names:
        return CellFit(
            cell, procedure, {}, {}, {}, unidentified, math.nan, 0, 0, [r.id for r in runs], [], screened, start_fit
        )
    lo = np.array([math.log(_bounds(loop, n)[0] / start[n]) for n in names])
    hi = np.array([math.log(_bounds(loop, n)[1] / start[n]) for n in names])

    nfev = [0]

    def fun(x):
        nfev[0] += 1
        return evaluate(names, [x])[0]

    # solved in u = 1 + ln(value / start): least_squares' step tolerance xtol (|du| < xtol (xtol + |u|)) is then
    # about xtol in ln(value) near the start, 1 %, well inside the runs' noise
    sol = least_squares(
        lambda u: fun(u - 1.0),
        np.clip(np.zeros(len(names)), lo, hi) + 1.0,
        jac=lambda u: jacobian(names, u - 1.0, lo, hi),
        bounds=(lo + 1.0, hi + 1.0),
        method="trf",
        x_scale=1.0,
        xtol=1e-2,
        ftol=1e-3,
        gtol=1e-8,
        max_nfev=max_evaluations,
    )
    sol.x = sol.x - 1.0
    evaluations = nfev[0]
    if sol.status <= 0:
        raise LoopError(
            f"cell {cell}: the model-in-the-loop fit of {', '.join(names)} to its {procedure} run(s) "
            f"did not converge in {evaluations} evaluation(s) ({sol.message}); raise "
            f"--max-evaluations or check the runs' settings"
        )
    J, scatter = sensitivity(names, sol.x, lo, hi)
    r = evaluate(names, [sol.x])[0]
    if not np.isfinite(J).all():  # a feature the replicas did not measure at +-COV_STEP: the fit's own slope
        J = np.where(np.isfinite(J), J, jacobian(names, sol.x, lo, hi))
    hw, rho, chi2, dof = analyse_with_scatter(J, r, names, scatter)
    at_bound = [n for n, x, a, b in zip(names, sol.x, lo, hi) if x <= a + 1e-6 or x >= b - 1e-6]
    if at_bound:
        raise LoopError(
            f"cell {cell}: the model-in-the-loop fit of {', '.join(names)} to its {procedure} run(s) "
            f"did not converge: {', '.join(at_bound)} ran into the allowed range's end; the model "
            f"cannot reproduce these runs' features"
        )
    values = {n: start[n] * math.exp(x) for n, x in zip(names, sol.x)}
    corr = {(names[i], names[j]): float(rho[i, j]) for i in range(len(names)) for j in range(i + 1, len(names))}
    return CellFit(
        cell,
        procedure,
        values,
        dict(zip(names, hw.tolist())),
        corr,
        unidentified,
        chi2,
        dof,
        evaluations,
        [r.id for r in runs],
        dropped,
        screened,
        start_fit,
    )


# --------------------------------------------------------------------------------------- all cells
def loop_fit(
    res,
    runs: list,
    defaults: dict,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    max_evaluations: int = 20,
    r_cryst_ohm: float = 500.0,
    base_values: dict | None = None,
) -> list:
    """Replace (or add) in ``res`` (devicefit.FitResult, after direct extraction) the parameters of LOOPS
    fitted model-in-the-loop, per cell, combined over cells. ``runs``: devicefit._Run with ``values`` and
    ``loop``; ``defaults``: the device's values (data/device_params.toml and --base). Returns the CellFits."""
    for cell in dict.fromkeys(r.cell for r in runs):  # refused before any simulated run
        for procedure, loop in LOOPS.items():
            rs = [r for r in runs if r.cell == cell and r.procedure == procedure and r.loop is not None]
            keys = [k for r in rs for k in r.loop]
            if rs and len(keys) < len(loop.params):
                raise LoopError(
                    f"cell {cell}: too few measurements to identify {', '.join(loop.params)}: its "
                    f"{procedure} run(s) give {len(keys)} feature(s) ({', '.join(keys) or 'none'}); they "
                    f"need {loop.needs}"
                )
    fits = []
    for stage in sorted({loop.stage for loop in LOOPS.values()}):
        fits += _stage(res, runs, defaults, stage, workers, scheduler, max_evaluations, r_cryst_ohm, base_values)
    return fits


def _stage(res, runs, defaults, stage, workers, scheduler, max_evaluations, r_cryst_ohm, base_values) -> list:
    from tspcm_lab.analysis.devicefit import Fitted, _mean_interval

    cells = list(dict.fromkeys(r.cell for r in runs))
    tasks = []
    for cell in cells:
        mine = [r for r in runs if r.cell == cell]
        # the loop's cell: the fit so far on top of the defaults, no device-to-device draws; its own value of
        # what the model draws per cell (the threshold), the mean over cells of the rest (one value per device
        # in the model: a cell's own R_on, e.g., scatters with its PCM's residue, 4.6 and 7.0 kOhm for 5.5)
        device = {**(base_values or {}), "ts.vth_d2d_rel": 0.0, "pcm.r_d2d_rel": 0.0}
        for name, f in res.params.items():
            if name == "ts.vth_d2d_rel":
                continue
            per = f.per_cell.get(cell) if f.per_cell and name in PER_CELL else None
            device[name] = per if per is not None else f.value
        for procedure, loop in LOOPS.items():
            rs = [r for r in mine if r.procedure == procedure and r.loop is not None]
            if not rs or loop.stage != stage:
                continue
            start = {n: device.get(n, defaults[n]) for n in loop.params}
            dev = {k: v for k, v in device.items() if k not in loop.params}
            tasks.append((cell, procedure, rs, dev, start, SEED0 + 100_000 * cells.index(cell)))
    if not tasks:
        return []
    with Evaluator(workers, scheduler) as ev:
        if ev.parallel > 1 and len(tasks) > 1:
            with ThreadPoolExecutor(min(len(tasks), ev.parallel)) as tp:
                futures = [tp.submit(fit_cell, *t[:5], ev, max_evaluations, 100.0 * r_cryst_ohm, t[5]) for t in tasks]
                fits = [f.result() for f in futures]
        else:
            fits = [fit_cell(*t[:5], ev, max_evaluations, 100.0 * r_cryst_ohm, t[5]) for t in tasks]
    for procedure, loop in LOOPS.items():
        group = [f for f in fits if f.procedure == procedure]
        if not group or loop.stage != stage:
            continue
        for name in loop.params:
            got = [f for f in group if name in f.values]
            why = [f"cell {f.cell}: {f.unidentified[name]}" for f in group if name in f.unidentified]
            if not got:
                kept = "the direct extraction's value kept" if name in res.params else "default kept"
                res.not_identified.append(
                    f"{name}: not identified by the model-in-the-loop fit of the {procedure} "
                    f"runs ({'; '.join(why)}); {kept}"
                )
                continue
            logs = name != "pcm.nu_drift"  # scale parameters: averaged (and their intervals) in log
            per = [math.log(f.values[name]) if logs else f.values[name] for f in got]
            m, between, spread = _mean_interval(per)
            # the interval of the mean: the larger of the cells' spread (t s/sqrt(n)) and the cells' own fit
            # intervals combined (sqrt(sum h_i^2)/n: the mean is known no better than its cells' fits), in log
            own = [f.halfwidth_log[name] * (1.0 if logs else f.values[name]) for f in got]
            h_own = math.sqrt(sum(h * h for h in own)) / len(got)
            h_between = (between[1] - m) if between is not None else 0.0
            h = max(h_own, h_between)
            value = math.exp(m) if logs else m
            ids = [i for f in got for i in f.runs]
            corr = {}
            for f in got:
                for (a, b), rho in f.correlations.items():
                    if name in (a, b):
                        corr.setdefault(b if a == name else a, []).append(rho)
            evals = sum(f.evaluations for f in got)
            chi = ", ".join(f"{f.cell}: {f.chi2:.3g}/{f.dof}" for f in got)
            method = (
                f"model-in-the-loop: the {procedure} runs re-run on the simulated bench with their recorded "
                f"parameters (scipy least_squares on ln {name}, {evals} evaluations; chi2/dof {chi}); "
                f"features: {', '.join(_feature_names(runs, procedure))}"
            )
            unit = "" if logs else " (absolute)"
            method += (
                f"; {'mean over ' + str(len(got)) + ' cells' + (' in log' if logs else '') if len(got) > 1 else 'one cell'}"
                f", 95 % interval the larger of the cells' own fit intervals combined, sqrt(sum h^2)/n = "
                f"{h_own:.3g}{unit}, and t s/sqrt(n) over the cells = {h_between:.3g}{unit}"
                f" (each cell's: Gauss-Newton covariance, Jacobian over +-{COV_STEP:g} in ln of "
                f"{COV_REPLICAS} simulated cells, scaled by chi2/dof > 1)"
            )
            if logs:
                iv = (math.exp(m - h), math.exp(m + h))
            else:
                iv = (m - h, m + h)
            dropped = [f"cell {f.cell}: {', '.join(f.dropped)}" for f in got if f.dropped]
            if dropped:
                method += f"; features the simulated cell did not measure, left out: {'; '.join(dropped)}"
            h_rel = h_own if logs else h_own / abs(m)  # nu: averaged in linear, judged relative as the others
            identified = not why and h_rel <= math.log(IDENTIFIED_FACTOR)
            if not why and not identified:
                near = max(corr.items(), key=lambda kv: abs(float(np.mean(kv[1]))), default=None)
                text = (
                    f"the cells' fits give a 95 % interval x/{math.exp(min(h_rel, 50)):.3g} (combined over "
                    f"{len(got)} cell(s)), beyond x/{IDENTIFIED_FACTOR:g}"
                )
                if near is not None:
                    text += f"; correlation with {near[0]} {float(np.mean(near[1])):+.2f} (mean over the cells)"
                if near is not None and abs(float(np.mean(near[1]))) >= 0.5:
                    text += ": the runs fix a combination of the two better than each; to separate them: "
                else:
                    text += ": the runs' features change little with it; to identify it: "
                text += LOOPS[procedure].separate
                why = [f"{'all cells' if len(got) > 1 else 'cell ' + got[0].cell}: {text}"]
            if not identified:
                method = f"NOT IDENTIFIED ({'; '.join(why)}): a value that reproduces the runs; " + method
                res.not_identified.append(
                    f"{name}: not identified by the {procedure} runs (on {'; '.join(why)}); the file keeps the "
                    f'loop\'s value {value:.4g}, which reproduces these runs, with basis "not identified" and '
                    f"no interval"
                )
            old = res.params.get(name)
            if old is not None:
                method += f"; direct extraction gave {old.value:.4g}"
            fitted = Fitted(
                name,
                value,
                old.unit if old else _unit(name),
                iv if identified else None,
                ids,
                method,
                len(got),
                ((value * spread) if logs else spread) if spread is not None else None,
                identified=identified,
            )  # (no longer a bound: the loop's PCM adds too)
            fitted.correlations = {k: float(np.mean(v)) for k, v in corr.items()}
            fitted.per_cell = {f.cell: f.values[name] for f in got}
            res.params[name] = fitted
    return fits


def _feature_names(runs, procedure) -> list[str]:
    names: list[str] = []
    for r in runs:
        if r.procedure == procedure and r.loop:
            names += [k for k in r.loop if k not in names]
    return names


def _unit(name: str) -> str:
    from sim_backend.params import SCHEMA

    return SCHEMA[name].unit


# --------------------------------------------------------------------------------------- --check
@dataclass
class Check:
    procedure: str
    figure: str
    measured: float
    measured_sigma: float | None  #: sample sigma over the measured cells (>= 2): the device-to-device spread
    predicted: float
    predicted_sigma: float | None  #: sample sigma over the simulated cells (seeds)
    n_measured: int
    n_predicted: int
    #: the simulated runs did not reach the conditions the measured ones did (:data:`CONDITIONS`): the figure is
    #: compared at other conditions, what is said here; None when they did
    note: str | None = None
    #: simulated runs of the procedure that failed (e.g. its calibration found no amplitude on that simulated cell):
    #: their figures are missing from ``predicted``; the measured runs' did not fail (:attr:`within`)
    failed: int = 0
    #: "mean": measured/predicted are means over the cells with a value, judged by the cells' spread; "share": a
    #: yes/no figure (tspcm_lab.keyfigures.YES_NO), measured/predicted the share of the cells with "yes" (of
    #: n_measured, n_predicted), judged by the binomial interval of their difference (:attr:`interval`)
    kind: str = "mean"
    #: simulated runs of the procedure that completed (of them, n_predicted gave this figure a value); None: not said
    completed: int | None = None

    @property
    def interval(self) -> tuple[float, float] | None:
        """A share's 95 % interval of predicted - measured (:func:`share_difference_interval`); None for a mean
        or when either side has no cell."""
        if self.kind != "share" or not self.n_measured or not self.n_predicted:
            return None
        yes_measured, yes_predicted = self.yes_cells
        return share_difference_interval(yes_predicted, self.n_predicted, yes_measured, self.n_measured)

    @property
    def yes_cells(self) -> tuple[int, int]:
        """A share's cells that say yes: (measured, simulated), of n_measured and n_predicted (0 of 0 cells: its
        share is NaN)."""
        measured = round(self.measured * self.n_measured) if self.n_measured else 0
        predicted = round(self.predicted * self.n_predicted) if self.n_predicted else 0
        return measured, predicted

    @property
    def spread(self) -> float | None:
        """The cells' spread: the measured cells' sample sigma (device to device) when two or more cells were
        measured; with one measured cell (no spread of its own) the simulated cells' sigma, which carries the
        device file's own spreads and the figure's noise (e.g. binomial), not the lab's (:attr:`fallback`)."""
        return self.predicted_sigma if self.fallback else self.measured_sigma

    @property
    def fallback(self) -> bool:
        """True when :attr:`spread` is the simulated cells' (fewer than two measured cells); a share has none (its
        interval is binomial, from any number of cells)."""
        return self.kind == "mean" and not (self.n_measured >= 2 and self.measured_sigma is not None)

    @property
    def within(self) -> bool | None:
        """|predicted - measured| <= 2 spread; a spread of 0 (cells that all read the same) only admits the same
        value (not "within" by 0 <= 0 for any error: a figure that is 0 on every measured cell and 0.1 predicted
        is not within). A share: its :attr:`interval` holds 0. Not within when every simulated run failed where the
        measured cells gave a value; None (not compared) when a side has no value otherwise (e.g. no simulated first
        training reached the criterion: the share says so)."""
        s = self.spread
        done = self.n_predicted if self.completed is None else self.completed
        if self.failed and not done and math.isfinite(self.measured):
            return False  # every simulated run failed, where the measured cells gave a value
        if self.kind == "share":
            iv = self.interval
            return None if iv is None else iv[0] <= 0.0 <= iv[1]
        if s is None or not math.isfinite(self.predicted) or not math.isfinite(self.measured):
            return None
        if s == 0:
            return math.isclose(self.predicted, self.measured, rel_tol=1e-9, abs_tol=0.0)
        return abs(self.predicted - self.measured) <= 2.0 * s


def share_difference_interval(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """95 % interval of k1/n1 - k2/n2 from the two shares' Wilson score intervals (Newcombe's hybrid score
    interval, method 10 of Newcombe, Stat. Med. 17, 873 (1998)): good coverage down to a few cells and at shares of
    0 or 1, where the normal approximation (Wald) gives an interval of width 0. It contains 0 when the two shares
    are consistent with one proportion."""
    from scipy.stats import binomtest

    (l1, u1), (l2, u2) = (tuple(binomtest(k, n).proportion_ci(0.95, "wilson")) for k, n in ((k1, n1), (k2, n2)))
    p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    return d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2)


#: per procedure, a feature that says whether a run reached the conditions its key figures are read at (the
#: threshold-vs-weight thresholds: at the PCM states its program-and-verify loop reached). Measured: a fitted R_on
#: 8 % high leaves the simulated "resistive" cell unprogrammable by the procedure's default SET pulses (0 of 10
#: states) while the measured cells reached all; its thresholds are then read in the unprogrammed states
#: (docs/fitting.md, docs/scripts/held_out_trace.py). (A learning loop's condition, whether its first training
#: reached the criterion, is a key figure of its own, compared as a share: first_reached.)
CONDITIONS = {
    "threshold-vs-weight": ("states_reached", "PCM states reached by program-and-verify"),
}


def _condition_note(procedure: str, measured: list[dict], predicted: list[dict]) -> str | None:
    """A sentence when the simulated runs reached fewer of their conditions than the measured ones, else None."""
    if procedure not in CONDITIONS:
        return None
    feature, what = CONDITIONS[procedure]
    mv = [m[feature] for m in measured if math.isfinite(m.get(feature, math.nan))]
    pv = [p[feature] for p in predicted if math.isfinite(p.get(feature, math.nan))]
    if not mv or not pv or np.mean(pv) >= np.mean(mv):
        return None
    return (
        f"{procedure}: {what}: {np.mean(pv):.3g} per simulated run, {np.mean(mv):.3g} per measured run: with this "
        f"device file the procedure does not do on the simulated cells what it did on the measured ones, so the "
        f"key figures are compared at other conditions (where a figure misses, look first at the parameters that "
        f"condition depends on)"
    )


def key_figure_names(procedure: str, feats: dict) -> list[str]:
    from tspcm_lab.keyfigures import KEY_FIGURES

    out = []
    for feature, _label, _fmt in KEY_FIGURES.get(procedure, []):
        if feature.endswith("*"):
            out += sorted(k for k in feats if k.startswith(feature[:-1]) and "_ci_" not in k)
        elif feature in feats:
            out.append(feature)
    return out


def check(
    device_file: str | Path,
    paths: Sequence[str | Path],
    *,
    seeds: int = 3,
    workers: int = 1,
    scheduler: str | None = None,
) -> list[Check]:
    """Re-run each run (its recorded parameters) on the simulated bench with ``device_file``, ``seeds``
    simulated cells per run (the device's own device-to-device draws), and compare the procedures' key
    figures (tspcm_lab.keyfigures) with the measured ones: a number as the mean over the cells that have it, a
    yes/no figure as the share of the cells that say yes (:class:`Check`)."""
    from sim_backend.params import DeviceParams, ParameterError, _read
    from tspcm_lab.analysis.registry import get_analysis
    from tspcm_lab.keyfigures import yes_no_figures
    from tspcm_lab.store import open_run

    try:
        DeviceParams.load(device_file)  # a valid device (ranges, consistency), of which the file's own values
        given, _ = _read(Path(device_file), require_all=False)  # go to the simulated bench
    except ParameterError as exc:
        raise LoopError(f"--check {device_file}: {exc}") from None
    measured: dict[str, list[dict]] = {}
    jobs, owner = [], []
    for p in paths:
        try:
            run = open_run(p)
            feats = {f.name: f.value for f in get_analysis(run.procedure)(run).features}
        except Exception as exc:  # noqa: BLE001 - named
            raise LoopError(f"{p}: cannot be analysed ({' '.join(str(exc).split())})") from None
        if not key_figure_names(run.procedure, feats):
            raise LoopError(
                f"{p}: a {run.procedure} run has no key figure to predict (procedures with key "
                f"figures: {', '.join(_key_procedures())})"
            )
        measured.setdefault(run.procedure, []).append(feats)
        for s in range(seeds):
            jobs.append((run.procedure, dict(run.parameter_values), dict(given), SEED0 + 101 * s + len(jobs), 0.0))
            owner.append(run.procedure)
    with Evaluator(workers, scheduler) as ev:
        got = ev.map(jobs)
    predicted: dict[str, list[dict]] = {}
    failed: dict[str, list[str]] = {}
    for proc, r in zip(owner, got):
        if isinstance(r, SimulatedRunFailed):  # the procedure on a simulated cell of this device: a prediction
            failed.setdefault(proc, []).append(" ".join(str(r).split()))
            continue
        if isinstance(r, Exception):
            raise LoopError(f"a simulated {proc} run with the device failed: {' '.join(str(r).split())}")
        predicted.setdefault(proc, []).append(r[0])
    out = []
    for proc, ms in measured.items():
        note = _condition_note(proc, ms, predicted.get(proc, []))
        if proc in failed:
            n = len(failed[proc]) + len(predicted.get(proc, []))
            note = "; ".join(
                x
                for x in (
                    f"{proc}: {len(failed[proc])} of {n} simulated runs failed ({failed[proc][0]}), the measured "
                    "run(s) did not: with this device file the procedure does not run on the simulated cells as on "
                    "the measured ones",
                    note,
                )
                if x
            )
        done = len(predicted.get(proc, []))
        for fig in key_figure_names(proc, ms[0]):
            mv = np.array([m.get(fig, math.nan) for m in ms], float)
            pv = np.array([p.get(fig, math.nan) for p in predicted.get(proc, [])], float)
            mv, pv = mv[np.isfinite(mv)], pv[np.isfinite(pv)]
            if fig in yes_no_figures(proc):  # the share of the cells that say yes
                share = [float(np.mean(v > 0.5)) if v.size else math.nan for v in (mv, pv)]
                n = len(failed.get(proc, []))
                out.append(Check(proc, fig, share[0], None, share[1], None, mv.size, pv.size, note, n, "share", done))
                continue
            out.append(
                Check(
                    proc,
                    fig,
                    float(mv.mean()) if mv.size else math.nan,
                    float(mv.std(ddof=1)) if mv.size >= 2 else None,
                    float(pv.mean()) if pv.size else math.nan,
                    float(pv.std(ddof=1)) if pv.size >= 2 else None,
                    int(mv.size),
                    int(pv.size),
                    note,
                    len(failed.get(proc, [])),
                    completed=done,
                )
            )
    return out


def _key_procedures() -> list[str]:
    from tspcm_lab.keyfigures import KEY_FIGURES

    return sorted(KEY_FIGURES)
