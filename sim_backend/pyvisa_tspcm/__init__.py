"""PyVISA backend for the simulated TS-PCM bench (``visa_library="@tspcm"``).

PyVISA imports ``pyvisa_<name>`` for ``@<name>``; this package lives under ``sim_backend/`` in the
source tree and is installed as the top-level module ``pyvisa_tspcm``. It only re-exports
:mod:`sim_backend.visa` (see there for the bench spec, isolation and reset)::

    import pyvisa, pyvisa_tspcm
    rm = pyvisa.ResourceManager("seed=42@tspcm")
    pyvisa_tspcm.reset_bench("seed=42")     # or rm.visalib.reset()
"""

from sim_backend.faults import (
    DropConnection,
    Latency,
    PushError,
    StopAnswering,
    set_bench_factory,
)
from sim_backend.visa import (
    WRAPPER_CLASS,
    TspcmVisaLibrary,
    close_bench,
    discard_bench,
    get_bench,
    get_faults,
    get_host,
    reset_bench,
)

__all__ = [
    "WRAPPER_CLASS",
    "TspcmVisaLibrary",
    "get_bench",
    "get_faults",
    "get_host",
    "reset_bench",
    "discard_bench",
    "close_bench",
    "set_bench_factory",
    "Latency",
    "DropConnection",
    "StopAnswering",
    "PushError",
]
