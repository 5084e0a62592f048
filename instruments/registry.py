"""Driver registry: the names a bench file may use, and what each one builds.

Adding a driver = one entry here (see docs/instruments.md): the role it plays, the role class,
the PyMeasure driver class (or our extension of it), the channels it has, and a pattern its
``*IDN?`` reply must match, so ``tspcm bench check`` can tell a wrong instrument at a resource.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pymeasure.instruments.formfactor.velox import Velox

from .drivers.agilent33500 import Agilent33500Ext, Agilent33521AExt
from .drivers.keithley2400 import Keithley2400List
from .drivers.keithley2450 import Keithley2450Native
from .drivers.keithley2600 import Keithley2600Sweep
from .drivers.keithley2750 import Keithley2750Matrix
from .drivers.keysight81160a import Keysight81160AExt
from .drivers.keysight_dsox1102g import KeysightDSOX1102GTrig
from .matrix import Keithley2750MatrixRole
from .prober import VeloxProber
from .pulse import Agilent33500Pulse, Agilent33521APulse, Keysight81160APulse
from .scope import DSOX1102GScope
from .smu import Keithley2400SMU, Keithley2450SMU, Keithley2600SMU


@dataclass(frozen=True)
class DriverInfo:
    """One entry of the registry."""

    role: str  #: which role it plays
    role_class: type  #: the role implementation
    driver_class: type  #: the PyMeasure instrument class it opens
    model: str  #: human-readable model name
    channels: tuple[Any, ...] = (None,)  #: allowed values of `channel` (None: no channel key)
    idn_pattern: str | None = None  #: regex the *IDN? reply must match (case-insensitive)

    @property
    def default_channel(self) -> Any:
        return self.channels[0]

    def identity_matches(self, identity: str) -> bool:
        return self.idn_pattern is None or re.search(self.idn_pattern, identity, re.IGNORECASE) is not None


DRIVERS: dict[str, DriverInfo] = {
    "keithley2450": DriverInfo(
        "smu", Keithley2450SMU, Keithley2450Native, "Keithley 2450 SourceMeter", idn_pattern=r"\b2450\b"
    ),
    "keithley2400": DriverInfo(
        "smu", Keithley2400SMU, Keithley2400List, "Keithley 2400-series SourceMeter", idn_pattern=r"\b24[0-4]\d\b"
    ),
    "keithley2600": DriverInfo(
        "smu",
        Keithley2600SMU,
        Keithley2600Sweep,
        "Keithley 2600-series SourceMeter (TSP)",
        channels=("a", "b"),
        idn_pattern=r"\b26\d\d[AB]?\b",
    ),
    "agilent33500": DriverInfo(
        "pulse",
        Agilent33500Pulse,
        Agilent33500Ext,
        "Agilent/Keysight 33500B-series waveform generator",
        channels=(1, 2),
        idn_pattern=r"\b335\d\d[AB]?\b",
    ),
    "agilent33521a": DriverInfo(
        "pulse",
        Agilent33521APulse,
        Agilent33521AExt,
        "Agilent 33521A waveform generator",
        channels=(1,),
        idn_pattern=r"\b33521A\b",
    ),
    "keysight81160a": DriverInfo(
        "pulse",
        Keysight81160APulse,
        Keysight81160AExt,
        "Keysight 81160A pulse/function/arbitrary generator",
        channels=(1, 2),
        idn_pattern=r"\b81160A\b",
    ),
    "dsox1102g": DriverInfo(
        "scope",
        DSOX1102GScope,
        KeysightDSOX1102GTrig,
        "Keysight DSOX1102G oscilloscope",
        channels=(1, 2),
        idn_pattern=r"DSO-?X ?1102G",
    ),
    "keithley2750": DriverInfo(
        "matrix",
        Keithley2750MatrixRole,
        Keithley2750Matrix,
        "Keithley 2750 with 7709 matrix card",
        idn_pattern=r"\b2750\b",
    ),
    "velox": DriverInfo("prober", VeloxProber, Velox, "FormFactor Velox prober"),
}


def driver_names_for(role: str) -> list[str]:
    """Registry names that can play ``role``."""
    return sorted(name for name, info in DRIVERS.items() if info.role == role)
