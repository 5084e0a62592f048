"""The emulated instruments behind real PyMeasure drivers, in-process (no VISA layer)."""

import warnings

from sim_backend.scpi import VirtualAdapter


def driver(cls, instrument):
    """A PyMeasure driver of class ``cls`` talking to ``instrument`` through a VirtualAdapter."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # DSOX1102G's SCPIUnknownMixin notice
        return cls(VirtualAdapter(instrument))


def queue_empty(instrument) -> bool:
    """True when the instrument's next SYST:ERR? reports no error."""
    reply = instrument.handle("SYST:ERR?")
    return reply.split(",")[0].lstrip("+") == "0"
