"""Learning by the numbers a procedure logs as it goes: savings between two trainings, and target
patterns written as text (pure functions; ``tspcm_lab.analysis.learning`` builds on them)."""

from __future__ import annotations

import math

import numpy as np


def savings(n_first: float, n_retrain: float) -> float:
    """(N_first - N_retrain) / N_first; N_first must be > 0. NaN if either count is NaN (never reached)."""
    n_first, n_retrain = float(n_first), float(n_retrain)
    if math.isnan(n_first) or math.isnan(n_retrain):
        return math.nan
    if n_first <= 0:
        raise ValueError(f"n_first must be > 0, got {n_first!r}")
    return (n_first - n_retrain) / n_first


def parse_pattern(text: str) -> np.ndarray:
    """A binary pattern from text: rows separated by newlines, '/' or ';', cells '1'/'0' (or '#'/'.')."""
    rows = [r.strip() for r in text.replace(";", "/").replace("\n", "/").split("/") if r.strip()]
    table = {"1": 1, "#": 1, "x": 1, "X": 1, "0": 0, ".": 0, "-": 0}
    out = []
    for r in rows:
        cells = [ch for ch in r if not ch.isspace() and ch != ","]
        try:
            out.append([table[ch] for ch in cells])
        except KeyError as exc:
            raise ValueError(f"pattern cells must be 1/0 (or #/.), got {exc.args[0]!r} in {text!r}") from None
    if not out or len({len(r) for r in out}) != 1:
        raise ValueError(f"pattern must be a non-empty rectangle, got {text!r}")
    return np.array(out, dtype=bool)


def savings_or_nan(n_first: float, n_retrain: float) -> float:
    """:func:`savings`, or NaN where it has no meaning (the first training reached the criterion at
    once, or never): for logging while a procedure runs."""
    return savings(n_first, n_retrain) if n_first > 0 else math.nan
