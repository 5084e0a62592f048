"""One extracted number with its meaning: the unit of the summary table and of ``/analysis``.

A :class:`Feature` is a scalar with its units, the method that produced it and the criterion used, so
that a value read back years later (from a run file's ``/analysis`` group or a summary table) says what
it is without the code that made it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tspcm_lab import __version__

#: Version stamped on every feature; bump the suffix when an extractor's definition changes.
ANALYSIS_VERSION = f"{__version__}"


@dataclass(frozen=True)
class Feature:
    """A named scalar: ``value`` in ``units`` (SI), computed by ``method`` with ``criterion``."""

    name: str
    value: float
    units: str
    method: str
    criterion: str = ""

    def __post_init__(self):
        object.__setattr__(self, "value", _to_float(self.value))


def _to_float(value) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"feature value must be a number, got {value!r}") from None
    return out if math.isfinite(out) else math.nan


@dataclass
class RunAnalysis:
    """What a run-level wrapper returns for one run.

    ``name`` is the group written under ``/analysis`` (the procedure's short name); ``features`` become
    summary-table rows and scalar datasets; ``arrays`` ({name: (values, units)}) are per-cycle or per-state
    details written next to them; ``settings`` are the options used, written as group attributes.
    """

    name: str
    features: list[Feature]
    arrays: dict = None
    method: str = ""
    criterion: str = ""
    settings: dict = None

    def __post_init__(self):
        self.arrays = dict(self.arrays or {})
        self.settings = dict(self.settings or {})
        names = [f.name for f in self.features]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate feature names in {self.name}: {sorted(dup)}")
        clash = set(names) & set(self.arrays)
        if clash:
            raise ValueError(f"names used both as feature and array in {self.name}: {sorted(clash)}")
