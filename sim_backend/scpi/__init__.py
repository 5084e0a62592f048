"""SCPI engine and emulated instruments of the simulated bench.

Each model parses the same SCPI as the real instrument, answers in its formats, keeps an error
queue read by ``SYST:ERR?`` and refuses what the real one refuses; every physical action goes
through the virtual bench (see :mod:`.benchlink`). The commands of each model are the rows of its
command table (``tables/*.toml``, see :mod:`.table`); ``python -m sim_backend.scpi`` prints the
tables' size and coverage. The transports (PyVISA ``@tspcm``, TCP server)
call the :class:`VirtualInstrument` interface: ``handle(message)``, ``push_error(code, message)``,
``reset()``, ``resource_name``, ``model``.

    from sim_backend.scpi import build_instruments
    instruments = build_instruments(bench)      # {"GPIB0::18::INSTR": Keithley2450, ...}
    instruments["GPIB0::18::INSTR"].handle(":SOUR:VOLT 0.5;:OUTP ON;:READ?")
"""

from __future__ import annotations

from .adapter import VirtualAdapter
from .engine import ScpiInstrument, scpi
from .errors import ScpiError
from .keithley2450 import Keithley2450
from .keithley2750 import Keithley2750
from .keysight33500b import Keysight33522B
from .keysight_dsox1102g import KeysightDSOX1102G

#: The interface the transports rely on (an alias: every model derives from ScpiInstrument).
VirtualInstrument = ScpiInstrument

#: The default single-cell bench, the one table of its wiring: resource name -> (model class, bench
#: terminal name), in serving order (``sim_backend.faults.ROLE_RESOURCES`` and :func:`build_instruments`
#: are made from it; the bench files in data/benches/ name the same resources)
DEFAULT_RESOURCES = {
    "GPIB0::18::INSTR": (Keithley2450, "smu"),
    "GPIB0::10::INSTR": (Keysight33522B, "awg"),
    "GPIB0::7::INSTR": (KeysightDSOX1102G, "scope"),
    "GPIB0::16::INSTR": (Keithley2750, "matrix"),
}


def build_instruments(bench) -> dict[str, ScpiInstrument]:
    """The four virtual instruments of the default bench, keyed by VISA resource name.

    ``bench`` is the virtual bench (``sim_backend.bench``), or None for disconnected instruments
    (SCPI dialogue only, no physics, no time). The generator's channel 1 drives the terminal; channel 2
    is left unconnected.
    """
    instruments: dict[str, ScpiInstrument] = {}
    for name, (model, terminal) in DEFAULT_RESOURCES.items():
        if issubclass(model, Keysight33522B):
            instruments[name] = model(bench, name, bench_names={1: terminal, 2: None})
        else:
            instruments[name] = model(bench, name, bench_name=terminal)
    return instruments


__all__ = [
    "ScpiInstrument",
    "VirtualInstrument",
    "ScpiError",
    "scpi",
    "VirtualAdapter",
    "Keithley2450",
    "Keysight33522B",
    "KeysightDSOX1102G",
    "Keithley2750",
    "DEFAULT_RESOURCES",
    "build_instruments",
]
