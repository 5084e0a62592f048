"""The HDF5 run store: one self-describing, crash-safe, streamable HDF5 file per run.

Writing: `RunWriter` (no PyMeasure needed); `HDF5Results` and `HDF5Worker` for PyMeasure procedures.
Reading: `open_run`, `list_runs`. Afterwards: `write_analysis`, `repair_run`, `import_pymeasure_csv`.
The file layout is documented in docs/file-format.md.
"""

from tspcm_lab.store.analysis import write_analysis
from tspcm_lab.store.errors import NotARunError, RunBusyError, RunFileError
from tspcm_lab.store.layout import FORMAT_NAME, FORMAT_VERSION
from tspcm_lab.store.params import ParameterRecord
from tspcm_lab.store.reader import Run, Waveform, list_runs, open_run
from tspcm_lab.store.repair import repair_run
from tspcm_lab.store.writer import RunWriter

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "HDF5Results",
    "HDF5Worker",
    "NotARunError",
    "ParameterRecord",
    "Run",
    "RunBusyError",
    "RunFileError",
    "RunWriter",
    "Waveform",
    "import_pymeasure_csv",
    "list_runs",
    "open_run",
    "repair_run",
    "restore_procedure",
    "write_analysis",
]

_LAZY = {  # PyMeasure (and pandas) load only when these are used
    "HDF5Results": "tspcm_lab.store.pymeasure_glue",
    "HDF5Worker": "tspcm_lab.store.pymeasure_glue",
    "restore_procedure": "tspcm_lab.store.pymeasure_glue",
    "import_pymeasure_csv": "tspcm_lab.store.csv_import",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tspcm_lab.store' has no attribute {name!r}")
