"""The headless runner: one procedure, one bench, one run file, and an honest status at the end.

Used by ``tspcm run``, campaigns and the demo; the order is what keeps a cell safe::

    session = BenchSession.open("sim", seed=42)                # --sim: seed goes into the simulated bench
    procedure = build_procedure(IVSweep, {"stop_voltage_V": "2.5 V"}, session)   # typed, never eval'd
    validate(procedure)                  # ParameterInputError before anything is enabled
    outcome = execute(procedure, session, "runs/iv.h5", seed=42, title="cell A1")
    outcome.status                       # completed | aborted | failed (read back from the file)
    session.close()                      # every output off, connections closed

:func:`execute` streams the run through the store's ``HDF5Worker`` with the bench snapshot (plus the
simulated bench's own state and spec when simulated), the seed and the title. Ctrl-C (KeyboardInterrupt in
the main thread) or SIGTERM asks the procedure to stop at its next ``should_stop()``; the worker's shutdown
turns every output off and the file ends ``aborted`` with the rows so far. An exception in the procedure
(e.g. a dropped instrument connection) ends it ``failed`` with a one-line reason naming the instrument;
:meth:`Bench.all_off` then runs once more from here, so every other output is off too.

Values for parameters come as text (``--set key=value``, sequence files) or typed (campaign TOML) and are
converted by the parameter's PyMeasure type: ``"100 uA"`` for a parameter in A, ``"true"``, ``"[1, 2]"``,
a choice by its name. Nothing is evaluated.

One job per module: :mod:`.values` (converting and applying parameter values), :mod:`.sequences`
(PyMeasure sequencer files), :mod:`.session` (the open bench), :mod:`.paths` (run file names),
:mod:`.execute` (running into a run file), :mod:`.worker` (the PyMeasure worker), :mod:`.signals`
(SIGTERM as Ctrl-C). The names below are the runner's API.

The names of :mod:`.values` and :mod:`.sequences` are imported when first used (PEP 562), not with the
package: converting values needs PyMeasure's parameters (and with them pint, pandas and dask), which
registering the command line (``tspcm --help``) and its progress display must not pay for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from tspcm_lab.runner.execute import EXIT_FAILED, EXIT_INVALID, EXIT_OK, Progress, RunOutcome, execute
from tspcm_lab.runner.paths import RUN_SUFFIXES, run_paths, timestamp, unique_path
from tspcm_lab.runner.session import BenchSession, new_seed, simulated_spec
from tspcm_lab.runner.worker import describe_failure

if TYPE_CHECKING:
    from tspcm_lab.runner.sequences import read_sequence
    from tspcm_lab.runner.values import (
        ParameterInputError,
        allowed_text,
        apply_values,
        build_procedure,
        convert_value,
        format_number,
        is_parameter_error,
        parameter_error_text,
        parse_assignments,
        resolve_key,
        validate,
    )

#: the names imported when first used -> their module (PyMeasure's parameters and what they pull in)
_LAZY = {
    "read_sequence": "sequences",
    **dict.fromkeys(
        (
            "ParameterInputError",
            "allowed_text",
            "apply_values",
            "build_procedure",
            "convert_value",
            "format_number",
            "is_parameter_error",
            "parameter_error_text",
            "parse_assignments",
            "resolve_key",
            "validate",
        ),
        "values",
    ),
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "EXIT_FAILED",
    "EXIT_INVALID",
    "EXIT_OK",
    "Progress",
    "RunOutcome",
    "execute",
    "RUN_SUFFIXES",
    "run_paths",
    "timestamp",
    "unique_path",
    "read_sequence",
    "BenchSession",
    "new_seed",
    "simulated_spec",
    "ParameterInputError",
    "allowed_text",
    "apply_values",
    "build_procedure",
    "convert_value",
    "is_parameter_error",
    "parameter_error_text",
    "parse_assignments",
    "resolve_key",
    "validate",
    "format_number",
    "describe_failure",
]
