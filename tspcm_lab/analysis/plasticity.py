"""Synaptic plasticity from conductance versus pulse number: the NeuroSim fit and the figures of merit.

Units: conductance in S, pulse numbers dimensionless (counts).

**Model** (NeuroSim, Chen et al., IEEE TCAD 2018), with P counted from the segment's first read
(P = 0 .. Pmax):

- potentiation  G(P) = Gmin + B (1 - exp(-P/A)),
- depression    G(P) = Gmax - B (1 - exp(-P/A))  (the potentiation curve mirrored: steep first),
- B = (Gmax - Gmin) / (1 - exp(-Pmax/A)), so the curve runs exactly from one end of the range to the other.

A (pulses) sets the nonlinearity: small A = strongly saturating, A >> Pmax = linear; A/Pmax is the
size-independent form. For fixed A the model is linear in (Gmin, Gmax), so the fit first scans A on a log
grid from Pmax/1000 to 1000 Pmax solving (Gmin, Gmax) by linear least squares, then refines all three with
``scipy.optimize.curve_fit`` inside those bounds; A's standard error is from the covariance matrix.

**Figures of merit** (:func:`analyze_plasticity`):

- dynamic range Gmax/Gmin of the fit;
- cycle-to-cycle sigma: at each pulse number, the sample sigma of G across cycles, pooled (root mean of the
  variances) over pulse numbers; with one cycle only, the sigma of the fit residuals is used instead
  (``sigma_source`` says which). Reported as % of the range Gmax - Gmin;
- number of distinguishable states: walking the fitted curve from P = 0 to Pmax, a new state is counted
  each time G has moved at least ``k_sigma`` (default 3) sigmas from the last counted state; the first
  read is state 1. So it is at most Pmax + 1 and at most range / (k sigma) + 1;
- asymmetry = |A_p - A_d| / (A_p + A_d): 0 for mirror-symmetric potentiation and depression, toward 1 when
  one is far more nonlinear than the other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from procedures.library.fitting import best_linear_on_grid, r_squared, refine_three

POTENTIATION = +1
DEPRESSION = -1
KINDS = {"potentiation": POTENTIATION, "depression": DEPRESSION}


def neurosim_shape(p, a, p_max):
    """(1 - exp(-P/A)) / (1 - exp(-Pmax/A)): 0 at P = 0, 1 at P = Pmax."""
    p = np.asarray(p, dtype=float)
    return -np.expm1(-p / a) / -math.expm1(-p_max / a)


def neurosim_conductance(p, a, g_min, g_max, p_max, phase: int = POTENTIATION):
    """NeuroSim conductance (S) after P pulses for ``phase`` +1 (potentiation) or -1 (depression)."""
    f = neurosim_shape(p, a, p_max)
    if phase == POTENTIATION:
        return g_min + (g_max - g_min) * f
    return g_max - (g_max - g_min) * f


@dataclass(frozen=True)
class NeuroSimFit:
    """Fitted NeuroSim parameters of one phase (A in pulses, conductances in S). P counts from the first
    pulse with a finite read, ``p_offset`` pulses after the segment's first (reads of a cell in the RESET
    state fall below the read range and are NaN)."""

    phase: int
    a: float
    a_stderr: float
    g_min_S: float
    g_max_S: float
    p_max: float
    r2: float
    n: int
    p_offset: float = 0.0

    @property
    def a_over_pmax(self) -> float:
        return self.a / self.p_max if self.p_max > 0 else math.nan

    @property
    def dynamic_range(self) -> float:
        return self.g_max_S / self.g_min_S if self.g_min_S > 0 else math.nan

    def conductance(self, p):
        return neurosim_conductance(p, self.a, self.g_min_S, self.g_max_S, self.p_max, self.phase)


def _phase_of(phase) -> int:
    if isinstance(phase, str):
        if phase not in KINDS:
            raise ValueError(f"phase must be one of {sorted(KINDS)} or +1/-1, got {phase!r}")
        return KINDS[phase]
    if phase not in (POTENTIATION, DEPRESSION):
        raise ValueError(f"phase must be +1 (potentiation) or -1 (depression), got {phase!r}")
    return int(phase)


def fit_neurosim(pulse, conductance_S, phase=POTENTIATION) -> NeuroSimFit:
    """Fit G(P) for one phase; ``pulse`` may hold several cycles' reads (P is taken from its minimum).

    Needs at least 4 finite points over at least 3 distinct pulse numbers; raises ValueError otherwise.
    """
    phase = _phase_of(phase)
    p = np.asarray(pulse, dtype=float).ravel()
    g = np.asarray(conductance_S, dtype=float).ravel()
    if p.shape != g.shape:
        raise ValueError(f"pulse and conductance_S must have the same length, got {p.size} and {g.size}")
    keep = np.isfinite(p) & np.isfinite(g)
    p, g = p[keep], g[keep]
    p_offset = float(p.min()) if p.size else 0.0
    p = p - p_offset
    if g.size < 4 or np.unique(p).size < 3:
        raise ValueError(f"need at least 4 reads over 3 pulse numbers to fit, got {g.size} reads")
    p_max = float(p.max())

    # scan A on a log grid; for fixed A, G = c0 + c1 f(P; A) is linear (c0 = G at f = 0, c0 + c1 at f = 1)
    grid = p_max * np.logspace(-3, 3, 121)
    f_grid = -np.expm1(-p[None, :] / grid[:, None]) / -np.expm1(-p_max / grid)[:, None]
    k, c0, c1 = best_linear_on_grid(f_grid, g)
    a0 = float(grid[k])
    gmin0, gmax0 = (c0, c0 + c1) if phase == POTENTIATION else (c0 + c1, c0)
    # fit in normalised units (G - offset) / span: conductances of 1e-5 S would otherwise sit below the
    # optimiser's tolerances
    span = max(float(np.ptp(g)), abs(float(np.mean(g))) * 1e-6, 1e-300)
    off = float(np.mean(g))
    gn = (g - off) / span

    def model(pp, a, gmin, gmax):
        return neurosim_conductance(pp, a, gmin, gmax, p_max, phase)

    lo = [grid[0], gn.min() - 2, gn.min() - 2]
    hi = [grid[-1], gn.max() + 2, gn.max() + 2]
    x0 = [a0, float(np.clip((gmin0 - off) / span, lo[1], hi[1])), float(np.clip((gmax0 - off) / span, lo[2], hi[2]))]
    (a, gmin, gmax), a_se = refine_three(model, p, gn, x0, lo, hi, a0)
    gmin, gmax = off + span * gmin, off + span * gmax
    r2 = r_squared(g, model(p, a, gmin, gmax))
    return NeuroSimFit(phase, a, a_se, gmin, gmax, p_max, r2, int(g.size), p_offset)


@dataclass(frozen=True)
class Segment:
    """One potentiation or depression run of a pulse-train record: P from 0, conductances in S."""

    cycle: int
    phase: int
    pulse: np.ndarray
    conductance_S: np.ndarray


def split_segments(pulse, conductance_S, phase, cycle=None) -> list[Segment]:
    """Split a multi-cycle record into contiguous runs of constant (cycle, phase).

    ``phase`` is +1 (potentiation) or -1 (depression) per read; ``cycle`` labels cycles (all 0 when None).
    Within a segment P = pulse - pulse[first read], so a global or a per-segment pulse counter both work.
    """
    p = np.asarray(pulse, dtype=float).ravel()
    g = np.asarray(conductance_S, dtype=float).ravel()
    ph = np.asarray(phase).ravel().astype(int)
    cy = np.zeros(p.size, dtype=int) if cycle is None else np.asarray(cycle).ravel().astype(int)
    if not (p.size == g.size == ph.size == cy.size):
        raise ValueError("pulse, conductance_S, phase and cycle must have the same length")
    bad = set(np.unique(ph)) - {POTENTIATION, DEPRESSION}
    if bad:
        raise ValueError(f"phase values must be +1 or -1, got {sorted(bad)}")
    if p.size == 0:
        return []
    change = np.flatnonzero((ph[1:] != ph[:-1]) | (cy[1:] != cy[:-1])) + 1
    out = []
    for a, b in zip(np.concatenate([[0], change]), np.concatenate([change, [p.size]])):
        out.append(Segment(int(cy[a]), int(ph[a]), p[a:b] - p[a], g[a:b]))
    return out


def distinguishable_states(levels_S, sigma_S: float, k_sigma: float = 3.0) -> int:
    """States along a monotonic curve of ``levels_S`` separated by at least ``k_sigma`` * ``sigma_S``."""
    levels = np.asarray(levels_S, dtype=float)
    levels = levels[np.isfinite(levels)]
    if levels.size == 0:
        return 0
    if not (sigma_S > 0 and math.isfinite(sigma_S)):
        return int(levels.size)
    if k_sigma <= 0:
        raise ValueError(f"k_sigma must be > 0, got {k_sigma!r}")
    step = k_sigma * sigma_S
    count, last = 1, levels[0]
    for g in levels[1:]:
        if abs(g - last) >= step:
            count += 1
            last = g
    return count


def cycle_sigma(segments: list[Segment]) -> float:
    """Pooled cycle-to-cycle sigma (S): root mean over pulse numbers of the across-cycle variance."""
    if len(segments) < 2:
        return math.nan
    by_p: dict[float, list[float]] = {}
    for s in segments:
        for pp, gg in zip(s.pulse, s.conductance_S):
            if math.isfinite(gg):
                by_p.setdefault(float(pp), []).append(float(gg))
    var = [np.var(v, ddof=1) for v in by_p.values() if len(v) > 1]
    return float(math.sqrt(np.mean(var))) if var else math.nan


@dataclass
class PhaseResult:
    """Fit and figures of merit of one phase over all its cycles."""

    fit: NeuroSimFit
    cycle_fits: list[NeuroSimFit]
    sigma_S: float
    sigma_source: str  # "cycle-to-cycle" or "fit residual"
    states: int
    k_sigma: float

    @property
    def sigma_percent_of_range(self) -> float:
        rng = abs(self.fit.g_max_S - self.fit.g_min_S)
        return 100.0 * self.sigma_S / rng if rng > 0 else math.nan


@dataclass
class PlasticityResult:
    phases: dict[int, PhaseResult] = field(default_factory=dict)

    @property
    def asymmetry(self) -> float:
        """|A_p - A_d| / (A_p + A_d); NaN unless both phases were fitted."""
        if POTENTIATION not in self.phases or DEPRESSION not in self.phases:
            return math.nan
        ap, ad = self.phases[POTENTIATION].fit.a, self.phases[DEPRESSION].fit.a
        return abs(ap - ad) / (ap + ad)


def analyze_phase(segments: list[Segment], k_sigma: float = 3.0) -> PhaseResult:
    """Pooled NeuroSim fit, per-cycle fits, noise and distinguishable states for segments of one phase."""
    if not segments:
        raise ValueError("no segments to analyse")
    phase = segments[0].phase
    p = np.concatenate([s.pulse for s in segments])
    g = np.concatenate([s.conductance_S for s in segments])
    fit = fit_neurosim(p, g, phase)
    cycle_fits = []
    for s in segments:
        try:
            cycle_fits.append(fit_neurosim(s.pulse, s.conductance_S, phase))
        except ValueError:
            pass
    sigma = cycle_sigma(segments)
    source = "cycle-to-cycle"
    if not math.isfinite(sigma):
        resid = g - fit.conductance(p)
        sigma = float(np.std(resid, ddof=3)) if resid.size > 3 else math.nan
        source = "fit residual"
    levels = fit.conductance(np.arange(0, int(round(fit.p_max)) + 1))
    states = distinguishable_states(levels, sigma, k_sigma)
    return PhaseResult(fit, cycle_fits, sigma, source, states, k_sigma)


def analyze_plasticity(pulse, conductance_S, phase, cycle=None, k_sigma: float = 3.0) -> PlasticityResult:
    """Split a pulse-train record (see :func:`split_segments`) and analyse each phase present."""
    segments = split_segments(pulse, conductance_S, phase, cycle)
    out = PlasticityResult()
    for ph in (POTENTIATION, DEPRESSION):
        segs = [s for s in segments if s.phase == ph and s.pulse.size >= 4]
        if segs:
            out.phases[ph] = analyze_phase(segs, k_sigma)
    return out
