"""Time-dependent behaviour: resistance drift, endurance window, switching delay and recovery.

Units: time and delays in s, resistance in Ohm, voltages in V.

- **Drift** (:func:`drift_exponent`): R(t) = R0 (t / 1 s)^nu, fitted as a straight line of log10 R against
  log10 t (t > 0 only); nu is the slope, with its standard error and a two-sided Student-t confidence
  interval (default 95 %, n - 2 degrees of freedom). :func:`drift_per_state` does it for each state label.
- **Endurance** (:func:`endurance_window`): window = R_high / R_low per read cycle; reported: first, last and
  smallest window, the cycle at which it first falls below ``min_window`` (default 10, NaN if never), and
  the slope of log10(window) against log10(cycle) over cycles >= 1 (decades of window per decade of cycles).
- **Delay versus overdrive** (:func:`delay_vs_overdrive`): mean delay t_d = t_d0 exp(-(V - Vth)/V0). A
  threshold switch's delay is a stochastic (Poisson) waiting time, exponentially distributed about that
  mean, so ln t_d of single pulses scatters by ~1.3 and is biased (E ln t = ln mean - 0.58); the fit is the
  maximum-likelihood one for exponential delays with a log-linear mean (a gamma GLM with log link, solved
  by iteratively reweighted least squares), which stays unbiased for any spread about a log-linear mean.
  V0 = -1/slope (V), t_d0 = exp(intercept) (s, the mean delay at V = Vth), the standard error of V0 from
  the fit's covariance scaled by the estimated dispersion.
- **Recovery** (:func:`recovery_time`): paired pulses at interval dt; the second pulse's response y (firing
  probability, or its threshold) relaxes as y(dt) = y_inf + (y_0 - y_inf) exp(-dt / tau). The headline
  recovery time is the fitted tau (s, with its standard error); ``t_recover_s`` is the model-free interval
  where the recovered fraction (y - y_first) / (y_last - y_first) first reaches 1 - 1/e, linearly
  interpolated in log(dt) between measured intervals.
- **Recovery from several probe levels** (:func:`recovery_from_probes`): a firing probability against the
  interval is a step (the probe fires until the recovering threshold passes it), not an exponential, so one
  probe level gives the crossing time, not tau. With probes at fractions f of the recovered threshold Vth,
  the threshold Vth - (Vth - V_start) exp(-t/tau) passes f Vth at t_f = tau ln((1 - V_start/Vth)/(1 - f)):
  ln(1 - f) is a straight line in t_f with slope -1/tau and intercept ln(1 - V_start/Vth). t_f is where
  the probability falls through 1/2 (log-interpolated).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from procedures.library.drift import Drift, drift_exponent  # noqa: F401 - part of this module's API
from procedures.library.fitting import LinearFit, best_linear_on_grid, finite_pairs, linear_fit, r_squared, refine_three


def drift_per_state(state, time_s, resistance_ohm, confidence: float = 0.95) -> dict:
    """{state label: :class:`Drift`} for each distinct label in ``state``."""
    s = np.asarray(state).ravel()
    t = np.asarray(time_s, dtype=float).ravel()
    r = np.asarray(resistance_ohm, dtype=float).ravel()
    if not (s.size == t.size == r.size):
        raise ValueError("state, time_s and resistance_ohm must have the same length")
    return {
        k.item() if hasattr(k, "item") else k: drift_exponent(t[s == k], r[s == k], confidence) for k in np.unique(s)
    }


@dataclass(frozen=True)
class Endurance:
    """Memory window R_high/R_low versus cycle (see module doc)."""

    first_window: float
    last_window: float
    min_window: float
    failure_cycle: float
    window_slope: float  # decades of window per decade of cycles
    min_window_criterion: float
    n: int


def endurance_window(cycle, r_low_ohm, r_high_ohm, min_window: float = 10.0) -> Endurance:
    """Window R_high/R_low per cycle and its evolution; cycles in increasing order."""
    if not (min_window > 1 and math.isfinite(min_window)):
        raise ValueError(f"min_window must be a finite ratio > 1, got {min_window!r}")
    c = np.asarray(cycle, dtype=float).ravel()
    lo = np.asarray(r_low_ohm, dtype=float).ravel()
    hi = np.asarray(r_high_ohm, dtype=float).ravel()
    if not (c.size == lo.size == hi.size):
        raise ValueError("cycle, r_low_ohm and r_high_ohm must have the same length")
    with np.errstate(divide="ignore", invalid="ignore"):
        w = hi / lo
    keep = np.isfinite(c) & np.isfinite(w) & (w > 0)
    return _window_summary(c[keep], w[keep], min_window)


def _window_summary(c: np.ndarray, w: np.ndarray, min_window: float) -> Endurance:
    """First, last and smallest window over finite (cycle, window) pairs, the first cycle below
    ``min_window``, and the log-log slope over cycles >= 1 with a positive window."""
    if c.size == 0:
        return Endurance(*(math.nan,) * 5, min_window, 0)
    order = np.argsort(c, kind="stable")
    c, w = c[order], w[order]
    fail = np.flatnonzero(w < min_window)
    pos = (c >= 1) & (w > 0)
    slope = linear_fit(np.log10(c[pos]), np.log10(w[pos])).slope
    return Endurance(
        float(w[0]),
        float(w[-1]),
        float(w.min()),
        float(c[fail[0]]) if fail.size else math.nan,
        slope,
        min_window,
        int(c.size),
    )


def threshold_window(cycle, window_v, min_window_v: float = 0.1) -> Endurance:
    """Threshold window V_T(RESET) - V_T(SET) (V) per cycle and its evolution: the same summary as
    :func:`endurance_window` (the slope in decades of window per decade of cycles, where positive)."""
    if not (min_window_v >= 0 and math.isfinite(min_window_v)):
        raise ValueError(f"min_window_v must be a finite voltage >= 0, got {min_window_v!r}")
    c = np.asarray(cycle, dtype=float).ravel()
    w = np.asarray(window_v, dtype=float).ravel()
    if c.size != w.size:
        raise ValueError("cycle and window_v must have the same length")
    keep = np.isfinite(c) & np.isfinite(w)
    return _window_summary(c[keep], w[keep], min_window_v)


@dataclass(frozen=True)
class Delay:
    """Switching delay t_d = t_d0 exp(-(V - Vth)/V0): t_d0 (s), V0 (V) and fit quality."""

    td0_s: float
    v0_V: float
    v0_stderr_V: float
    vth_V: float
    r2: float
    n: int


def delay_vs_overdrive(voltage_V, delay_s, vth_V: float) -> Delay:
    """Fit the mean delay t_d0 exp(-(V - Vth)/V0) to single delays t_d > 0 (see module doc)."""
    vth_V = float(vth_V)
    if not math.isfinite(vth_V):
        raise ValueError(f"vth_V must be a finite voltage, got {vth_V!r}")
    v, td = finite_pairs(voltage_V, delay_s)
    keep = td > 0
    x, t = v[keep] - vth_V, td[keep]
    fit: LinearFit = linear_fit(x, np.log(t))
    if not (math.isfinite(fit.slope) and np.unique(x).size >= 2):
        return Delay(math.nan, math.nan, math.nan, vth_V, fit.r2, fit.n)
    X = np.column_stack([np.ones_like(x), x])
    beta = np.array([fit.intercept + 0.5772, fit.slope])  # E ln t of an exponential: ln mean - Euler's gamma
    for _ in range(100):  # IRLS of the gamma GLM, log link: working response eta + (t - mu)/mu, unit weights
        eta = X @ beta
        z = eta + t / np.exp(eta) - 1.0
        new, *_ = np.linalg.lstsq(X, z, rcond=None)
        done = np.max(np.abs(new - beta)) < 1e-10
        beta = new
        if done:
            break
    mu = np.exp(X @ beta)
    dof = max(t.size - 2, 1)
    dispersion = float(np.sum(((t - mu) / mu) ** 2) / dof)
    cov = dispersion * np.linalg.inv(X.T @ X)
    slope = float(beta[1])
    if not slope < 0:
        return Delay(math.nan, math.nan, math.nan, vth_V, fit.r2, fit.n)
    r2 = r_squared(np.log(t), np.log(mu))
    return Delay(math.exp(beta[0]), -1.0 / slope, math.sqrt(cov[1, 1]) / slope**2, vth_V, r2, int(t.size))


@dataclass(frozen=True)
class Recovery:
    """Exponential recovery of the paired-pulse response: tau (s) fitted, t_recover_s model-free."""

    tau_s: float
    tau_stderr_s: float
    y0: float
    y_inf: float
    t_recover_s: float
    r2: float
    n: int


def recovery_fraction_time(interval_s, response, fraction: float = 1 - 1 / math.e) -> float:
    """Interval (s) where (y - y_first)/(y_last - y_first) first reaches ``fraction`` (log-interpolated)."""
    t, y = finite_pairs(interval_s, response)
    order = np.argsort(t)
    t, y = t[order], y[order]
    if t.size < 2 or y[-1] == y[0]:
        return math.nan
    f = (y - y[0]) / (y[-1] - y[0])
    idx = np.flatnonzero(f >= fraction)
    if idx.size == 0:
        return math.nan
    k = int(idx[0])
    if k == 0:
        return float(t[0])
    t0, t1, f0, f1 = t[k - 1], t[k], f[k - 1], f[k]
    if t0 > 0 and t1 > 0 and f1 != f0:
        x = math.log(t0) + (fraction - f0) / (f1 - f0) * (math.log(t1) - math.log(t0))
        return float(math.exp(x))
    return float(t1)


def recovery_time(interval_s, response) -> Recovery:
    """Fit y = y_inf + (y0 - y_inf) exp(-dt/tau) over intervals dt > 0 (s); see module doc."""
    t, y = finite_pairs(interval_s, response)
    keep = t > 0
    t, y = t[keep], y[keep]
    if t.size < 4 or np.unique(t).size < 3:
        raise ValueError(f"need at least 4 paired-pulse points over 3 intervals, got {t.size}")
    t_model_free = recovery_fraction_time(t, y)
    grid = np.logspace(math.log10(t.min()) - 2, math.log10(t.max()) + 2, 161)
    # for fixed tau, y = y_inf + (y0 - y_inf) e with e = exp(-dt/tau) is linear in e
    k, yinf0, slope = best_linear_on_grid(np.exp(-t[None, :] / grid[:, None]), y)
    tau0, y00 = float(grid[k]), yinf0 + slope

    def model(tt, tau, y_inf, y0):
        return y_inf + (y0 - y_inf) * np.exp(-tt / tau)

    span = max(float(np.ptp(y)), 1e-300)
    off = float(np.mean(y))
    yn = (y - off) / span  # normalised, so the optimiser's tolerances fit any unit
    x0 = [tau0, (yinf0 - off) / span, (y00 - off) / span]
    (tau, y_inf, y0), se = refine_three(model, t, yn, x0, [grid[0], -np.inf, -np.inf], [grid[-1], np.inf, np.inf], tau0)
    y_inf, y0 = off + span * y_inf, off + span * y0
    return Recovery(tau, se, y0, y_inf, t_model_free, r_squared(y, model(t, tau, y_inf, y0)), int(t.size))


@dataclass(frozen=True)
class ProbeRecovery:
    """Threshold recovery from probes at several fractions of Vth: tau (s), the threshold at turn-off."""

    tau_s: float
    tau_stderr_s: float
    v_start_fraction: float  #: V_start / Vth, the threshold right after turn-off relative to the recovered one
    crossing_s: tuple[float, ...]  #: per fraction, the interval where the firing probability falls through 1/2
    fractions: tuple[float, ...]
    r2: float
    #: per fraction, the crossing's standard error from the pulse-interval grid: (t1 - t0) / sqrt(12) of the
    #: bracket [t0, t1] it is interpolated in (NaN where there is no crossing)
    crossing_grid_stderr_s: tuple[float, ...] = ()
    #: tau's standard error from those crossing errors (propagated through the fit): the grid's resolution, an
    #: error that the least-squares scatter does not see and that cells measured on the same grid share
    tau_grid_stderr_s: float = math.nan


def probability_crossing_s(interval_s, probability, level: float = 0.5) -> float:
    """Interval (s) where a falling firing probability first drops through ``level`` (log-interpolated);
    NaN when it never starts above or never drops below it."""
    return probability_crossing_bracket(interval_s, probability, level)[0]


def probability_crossing_bracket(interval_s, probability, level: float = 0.5) -> tuple[float, float, float]:
    """(crossing, t0, t1): :func:`probability_crossing_s` and the two pulse intervals (s) it is interpolated
    between. The probability of a recovering switch falls from ~1 to ~0 over a span of intervals that can be
    narrower than the grid's step: the crossing is then anywhere in [t0, t1], whatever the interpolation says."""
    t, p = finite_pairs(interval_s, probability)
    order = np.argsort(t)
    t, p = t[order], p[order]
    below = np.flatnonzero(p < level)
    if t.size < 2 or below.size == 0 or below[0] == 0 or t[0] <= 0:
        return math.nan, math.nan, math.nan
    k = int(below[0])
    t0, t1, p0, p1 = t[k - 1], t[k], p[k - 1], p[k]
    c = float(math.exp(math.log(t0) + (p0 - level) / (p0 - p1) * (math.log(t1) - math.log(t0))))
    return c, float(t0), float(t1)


def recovery_from_probes(fraction, interval_s, probability) -> ProbeRecovery:
    """Fit ln(1 - f) = ln(1 - V_start/Vth) - t_f/tau over the probe fractions' crossings (module doc)."""
    f = np.asarray(fraction, dtype=float)
    t = np.asarray(interval_s, dtype=float)
    p = np.asarray(probability, dtype=float)
    levels = sorted({float(x) for x in f[np.isfinite(f)]})
    brackets = [probability_crossing_bracket(t[f == lv], p[f == lv]) for lv in levels]
    crossings = [b[0] for b in brackets]
    grid_se = [(b[2] - b[1]) / math.sqrt(12.0) for b in brackets]  # uniform within the bracket
    ok = [(lv, c, g) for lv, c, g in zip(levels, crossings, grid_se) if math.isfinite(c) and 0 < lv < 1]
    if len(ok) < 2:
        raise ValueError(
            f"need the probability's 1/2 crossing at 2 or more probe fractions, got {len(ok)} "
            f"(fractions {levels}, crossings {crossings})"
        )
    x = np.array([c for _, c, _ in ok])
    y = np.array([math.log(1 - lv) for lv, _, _ in ok])
    fit = linear_fit(x, y)
    if not (math.isfinite(fit.slope) and fit.slope < 0):
        return ProbeRecovery(
            math.nan, math.nan, math.nan, tuple(crossings), tuple(levels), fit.r2, tuple(grid_se), math.nan
        )
    tau = -1.0 / fit.slope
    se = fit.slope_stderr / fit.slope**2 if math.isfinite(fit.slope_stderr) else math.nan
    # the grid's part: d tau / d crossing_i (the fit is linear in each crossing near the solution) x its error
    grid = 0.0
    for i, (_, _, g) in enumerate(ok):
        h = 1e-3 * g if g > 0 else 0.0
        if h > 0:
            xp = x.copy()
            xp[i] += h
            slope = linear_fit(xp, y).slope
            grid += ((-1.0 / slope - tau) / h * g) ** 2 if slope < 0 else math.inf
    return ProbeRecovery(
        tau,
        se,
        1.0 - math.exp(fit.intercept),
        tuple(crossings),
        tuple(levels),
        fit.r2,
        tuple(grid_se),
        math.sqrt(grid),
    )
