"""Intrinsic plasticity: how the cell's threshold (or firing probability, or firing rate) follows the
PCM conductance.

Units: conductance in S; the response in its own units (V for a threshold, dimensionless for a firing
probability, Hz for a firing rate), passed through as ``response_units``.

Method: two straight-line fits of the response y against conductance G, y = c + slope * G (slope in
units/S) and y = c + slope_log * log10(G / 1 S) (slope in units per decade of G, on positive G only), each
with its R^2; ``best_fit`` names the one with the higher R^2. Monotonicity is Spearman's rank correlation
rho (as ``scipy.stats.spearmanr``: :func:`procedures.library.fitting.spearman`) with its two-sided p-value: rho = -1 means the threshold falls every time
the conductance rises, which is the intrinsic-plasticity signature of a TS-PCM cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from procedures.library.fitting import LinearFit, finite_pairs, linear_fit, spearman


@dataclass(frozen=True)
class Trend:
    """Response versus conductance: linear and log10 fits and Spearman monotonicity."""

    response_units: str
    linear: LinearFit
    log: LinearFit
    spearman_rho: float
    spearman_p: float
    n: int

    @property
    def best_fit(self) -> str:
        """ "linear" or "log": the fit with the higher R^2 (linear when tied or both undefined)."""
        lin = self.linear.r2 if math.isfinite(self.linear.r2) else -math.inf
        lg = self.log.r2 if math.isfinite(self.log.r2) else -math.inf
        return "log" if lg > lin else "linear"


def response_vs_conductance(conductance_S, response, response_units: str = "V") -> Trend:
    """Fit ``response`` (threshold, firing probability or rate) against ``conductance_S``; see module doc."""
    g, y = finite_pairs(conductance_S, response)
    lin = linear_fit(g, y)
    pos = g > 0
    lg = linear_fit(np.log10(g[pos]), y[pos])
    if g.size >= 3 and np.ptp(g) > 0 and np.ptp(y) > 0:
        rho, p = spearman(g, y)
    else:
        rho, p = math.nan, math.nan
    return Trend(response_units, lin, lg, rho, p, int(g.size))


def threshold_vs_conductance(conductance_S, threshold_V) -> Trend:
    """Cell threshold (V) versus PCM conductance (S)."""
    return response_vs_conductance(conductance_S, threshold_V, "V")


def firing_probability_vs_conductance(conductance_S, probability) -> Trend:
    """Firing probability (0..1, per spike of a fixed train) versus conductance (S)."""
    p = np.asarray(probability, dtype=float)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("probability must lie in [0, 1]")
    return response_vs_conductance(conductance_S, p, "1")


def firing_rate_vs_conductance(conductance_S, rate_Hz) -> Trend:
    """Firing rate (Hz) under a fixed drive versus conductance (S)."""
    return response_vs_conductance(conductance_S, rate_Hz, "Hz")
