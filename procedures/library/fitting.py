"""Small least-squares helpers shared by the extractors (ordinary linear regression with standard errors).

All functions take plain 1-D numpy-convertible arrays and drop non-finite pairs before fitting.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class LinearFit:
    """y = intercept + slope * x, with standard errors, R^2 and the number of points used."""

    slope: float
    intercept: float
    slope_stderr: float
    intercept_stderr: float
    r2: float
    n: int

    def confidence_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Two-sided Student-t interval on the slope (n - 2 degrees of freedom)."""
        if self.n < 3 or not math.isfinite(self.slope_stderr):
            return (math.nan, math.nan)
        t = student_t_quantile(0.5 + level / 2, self.n - 2)
        return (self.slope - t * self.slope_stderr, self.slope + t * self.slope_stderr)


NAN_FIT = LinearFit(math.nan, math.nan, math.nan, math.nan, math.nan, 0)


# Student's t and Spearman's rho from scipy.special, not scipy.stats: the same functions scipy.stats calls
# (t.ppf is special.stdtrit, spearmanr's p-value special.stdtr), so the same numbers to the last bit (a test
# compares them), without scipy.stats' ~0.5 s import in every process that fits a line or a trend.
def student_t_quantile(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom (``scipy.stats.t.ppf(q, df)``)."""
    from scipy import special

    return float(special.stdtrit(df, q))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their mean rank (``scipy.stats.rankdata(x, "average")``: exact halves)."""
    order = np.argsort(x, kind="mergesort")
    inverse = np.empty(x.size, dtype=np.intp)
    inverse[order] = np.arange(x.size)
    sorted_x = x[order]
    first = np.r_[True, sorted_x[1:] != sorted_x[:-1]]
    dense = first.cumsum()[inverse]
    count = np.r_[np.nonzero(first)[0], x.size]
    ranks: np.ndarray = 0.5 * (count[dense] + count[dense - 1] + 1)
    return ranks


def spearman(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[float, float]:
    """Spearman's rank correlation of two finite, non-constant 1-D samples of the same length (3 or more)
    and its two-sided p-value (Student's t with n - 2 degrees of freedom), as ``scipy.stats.spearmanr``."""
    from scipy import special

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    rs = np.corrcoef(np.column_stack((_average_ranks(x), _average_ranks(y))), rowvar=False)
    dof = x.size - 2
    with np.errstate(divide="ignore"):  # rho = +-1: t is infinite, p is 0
        t = rs * np.sqrt((dof / ((rs + 1.0) * (1.0 - rs))).clip(0))
    p = 2 * special.stdtr(dof, -np.abs(t))
    return float(rs[1, 0]), float(p[1, 0])


def finite_pairs(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def linear_fit(x: npt.ArrayLike, y: npt.ArrayLike) -> LinearFit:
    """Ordinary least squares of y on x; NaN fit when fewer than 2 distinct x values."""
    x, y = finite_pairs(x, y)
    n = x.size
    if n < 2 or np.ptp(x) == 0:
        return NAN_FIT
    xm, ym = x.mean(), y.mean()
    sxx = float(np.sum((x - xm) ** 2))
    slope = float(np.sum((x - xm) * (y - ym)) / sxx)
    intercept = float(ym - slope * xm)
    resid = y - (intercept + slope * x)
    ss_res = float(np.sum(resid**2))
    ss_tot = float(np.sum((y - ym) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else math.nan)
    if n > 2:
        s2 = ss_res / (n - 2)
        se_slope = math.sqrt(s2 / sxx)
        se_int = math.sqrt(s2 * (1.0 / n + xm**2 / sxx))
    else:
        se_slope = se_int = math.nan
    return LinearFit(slope, intercept, se_slope, se_int, r2, n)


def r_squared(y: npt.ArrayLike, y_fit: npt.ArrayLike) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot (NaN when y is constant)."""
    y = np.asarray(y, dtype=float)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if ss_tot == 0:
        return math.nan
    return 1.0 - float(np.sum((y - np.asarray(y_fit, dtype=float)) ** 2)) / ss_tot


def best_linear_on_grid(f_grid: np.ndarray, y: np.ndarray) -> tuple[int, float, float]:
    """For each row f of ``f_grid`` (k x n), the least-squares line y = c0 + c1 f; returns (index of the
    row with the smallest residual, c0, c1). Used to scan a nonlinear parameter on a grid when the model
    is linear in the other two (all rows at once, no Python loop)."""
    y = np.asarray(y, dtype=float)
    fm = f_grid.mean(axis=1, keepdims=True)
    dy = y - y.mean()
    df = f_grid - fm
    sxx = np.einsum("ij,ij->i", df, df)
    sxy = df @ dy
    with np.errstate(divide="ignore", invalid="ignore"):
        ss_res = float(dy @ dy) - np.where(sxx > 0, sxy**2 / sxx, 0.0)
    ss_res = np.where(sxx > 0, ss_res, np.inf)
    k = int(np.argmin(ss_res))
    c1 = float(sxy[k] / sxx[k]) if sxx[k] > 0 else 0.0
    c0 = float(y.mean() - c1 * fm[k, 0])
    return k, c0, c1


def refine_three(
    model: Callable[..., Any],
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    x0: Sequence[float],
    lo: Sequence[float],
    hi: Sequence[float],
    scale0: float,
) -> tuple[tuple[float, ...], float]:
    """A least-squares fit of a three-parameter ``model(x, p0, p1, p2)`` from the start ``x0`` within the
    bounds ``lo``..``hi`` (``scale0``: the first parameter's scale; the others are normalised to ~1):
    (parameters, standard error of the first); ``x0`` and NaN when the optimiser gives up."""
    from scipy.optimize import OptimizeWarning, curve_fit

    se = math.nan
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            popt, pcov = curve_fit(model, x, y, p0=x0, bounds=(lo, hi), x_scale=[scale0, 1.0, 1.0])
        params = tuple(float(v) for v in popt)
        if np.all(np.isfinite(pcov)):
            se = float(math.sqrt(max(pcov[0, 0], 0.0)))
    except (RuntimeError, ValueError):
        params = tuple(x0)
    return params, se
