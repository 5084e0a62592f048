"""One integrated reading at an SMU terminal: what the bench's ``measure`` returns and what the instrument
models store (one type on both sides of :mod:`sim_backend.scpi.benchlink`, passed through as it is)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(slots=True)
class Measurement:
    current_a: float  #: mean current (A) over the integration
    voltage_v: float  #: mean source voltage (V)
    compliance: bool  #: the source's limit acted
    #: virtual time (s) when the measurement was asked for, read under the bench's lock (so another
    #: instrument acting in between cannot shift it); NaN for a reading that came otherwise (a sweep's arrays)
    start_s: float = math.nan
