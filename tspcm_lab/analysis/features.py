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
