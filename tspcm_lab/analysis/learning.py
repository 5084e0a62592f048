"""The positive-feedback learning loop and pattern memorization: pulses or epochs to criterion, savings,
pattern accuracy.

Units: counts (pulses, spikes or epochs) are dimensionless; conductances in S; accuracy and savings are
fractions (0..1).

- **To criterion** (:func:`count_to_criterion`): the count (pulse or epoch number, as recorded) at the first
  point where the metric reaches the criterion (>= for a rising metric such as firing probability or
  accuracy, <= with ``rising=False``); NaN if never reached.
- **Savings** (:func:`savings`) = (N_first - N_retrain) / N_first (Ebbinghaus): 0 = nothing retained,
  1 = nothing to relearn, negative = relearning took longer.
- **Pattern accuracy** (:func:`pattern_accuracy`): a cell is read as learned when its conductance is at least
  ``threshold_S``; accuracy is the fraction of cells whose read bit equals the binary target pattern.
  :func:`default_threshold` gives the threshold used when the run does not state one: the geometric mean of
  the smallest and largest conductance seen over all epochs (the midpoint on a log scale, since PCM
  conductances span decades).
"""

from __future__ import annotations

import math

import numpy as np

from procedures.library.learning import parse_pattern, savings  # noqa: F401 - part of this module's API


def count_to_criterion(count, metric, criterion: float, rising: bool = True) -> float:
    """First ``count`` at which ``metric`` reaches ``criterion`` (>= if rising, <= otherwise); NaN if never."""
    c = np.asarray(count, dtype=float).ravel()
    m = np.asarray(metric, dtype=float).ravel()
    if c.shape != m.shape:
        raise ValueError(f"count and metric must have the same length, got {c.size} and {m.size}")
    hit = (m >= criterion) if rising else (m <= criterion)
    idx = np.flatnonzero(hit & np.isfinite(m))
    return float(c[idx[0]]) if idx.size else math.nan


def default_threshold(maps_S) -> float:
    """sqrt(Gmin * Gmax) over all finite positive conductances of the maps (S)."""
    g = np.asarray(maps_S, dtype=float)
    g = g[np.isfinite(g) & (g > 0)]
    if g.size == 0:
        raise ValueError("no positive conductance in the maps to set a read threshold from")
    return float(math.sqrt(g.min() * g.max()))


def pattern_accuracy(conductance_map_S, target, threshold_S: float) -> float:
    """Fraction of cells whose (G >= threshold_S) equals the boolean ``target`` of the same shape."""
    g = np.asarray(conductance_map_S, dtype=float)
    t = np.asarray(target, dtype=bool)
    if g.shape != t.shape:
        raise ValueError(f"conductance map shape {g.shape} does not match the pattern's {t.shape}")
    return float(np.mean((g >= threshold_S) == t))


def accuracy_per_epoch(maps_S, target, threshold_S: float | None = None) -> np.ndarray:
    """Accuracy of each map in ``maps_S`` (epochs x rows x cols) against ``target``."""
    maps = np.asarray(maps_S, dtype=float)
    t = np.asarray(target, dtype=bool)
    if maps.ndim != 3 or maps.shape[1:] != t.shape:
        raise ValueError(f"maps must be epochs x {t.shape}, got shape {maps.shape}")
    thr = default_threshold(maps) if threshold_S is None else float(threshold_S)
    return np.mean((maps >= thr) == t[None], axis=(1, 2))
