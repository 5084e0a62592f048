"""Resistance drift of a programmed PCM state: the drift exponent nu of R = R0 (t / 1 s)^nu
(a pure extractor on plain arrays; ``tspcm_lab.analysis.drift`` builds on it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from procedures.library.fitting import finite_pairs, linear_fit


@dataclass(frozen=True)
class Drift:
    """Drift exponent of one state: nu (dimensionless), its CI, R0 at t = 1 s (Ohm), R^2 of the log fit."""

    nu: float
    nu_stderr: float
    nu_ci_low: float
    nu_ci_high: float
    confidence: float
    r0_ohm: float
    r2: float
    n: int


def drift_exponent(time_s, resistance_ohm, confidence: float = 0.95) -> Drift:
    """Fit log10 R = log10 R0 + nu log10 t over points with t > 0 and R > 0."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    t, r = finite_pairs(time_s, resistance_ohm)
    keep = (t > 0) & (r > 0)
    fit = linear_fit(np.log10(t[keep]), np.log10(r[keep]))
    lo, hi = fit.confidence_interval(confidence)
    return Drift(fit.slope, fit.slope_stderr, lo, hi, confidence, 10.0**fit.intercept, fit.r2, fit.n)
