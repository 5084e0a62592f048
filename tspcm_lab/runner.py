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
"""

from __future__ import annotations

import logging
import math
import queue
import random
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping

log = logging.getLogger(__name__)

#: statuses and exit codes (``tspcm run``: 0 only for a completed run, 2 invalid input, 1 otherwise)
EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
RUN_SUFFIXES = (".h5", ".hdf5")
#: SI prefixes accepted in front of a parameter's unit ("100 uA", "20 ns", "10 kohm")
_PREFIXES = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "μ": 1e-6, "m": 1e-3,
             "k": 1e3, "M": 1e6, "G": 1e9}
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S*)\s*$")


# =========================================================================================== parameters
class ParameterInputError(ValueError):
    """A parameter value that cannot be used; ``parameter`` names it, the message says what is allowed.
    (Same shape as ``procedures.base.ParameterError``.)"""

    def __init__(self, parameter: str, message: str):
        self.parameter = parameter
        self.reason = message
        super().__init__(f"{parameter}: {message}")


def is_parameter_error(exc: BaseException) -> bool:
    """A refusal of a parameter value (ours, ``procedures.base.ParameterError`` or a plugin's own class
    of the same shape: a ValueError with a ``parameter`` attribute)."""
    return isinstance(exc, ValueError) and isinstance(getattr(exc, "parameter", None), str)


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def allowed_text(parameter: Any) -> str:
    """The allowed values of a PyMeasure parameter, in words."""
    from tspcm_lab.plugins import ParameterInfo, _bound

    choices = getattr(parameter, "choices", None)
    info = ParameterInfo(key="", label=parameter.name, kind=type(parameter).__name__,
                         units=getattr(parameter, "units", None) or "",
                         minimum=_bound(parameter, "minimum"), maximum=_bound(parameter, "maximum"),
                         choices=[str(c) for c in choices] if choices else [])
    text = info.allowed
    if info.kind == "VectorParameter":
        text = f"a list of {getattr(parameter, '_length', '?')} numbers like [1, 2]"
    return text


def _number(parameter: Any, key: str, value: Any) -> float:
    """A float from a number or a text with an optional unit (with SI prefix) matching the parameter's."""
    units = getattr(parameter, "units", None) or ""
    if isinstance(value, bool):
        raise ParameterInputError(key, f"{parameter.name} needs a number, got {value!r}; allowed: "
                                       f"{allowed_text(parameter)}")
    if isinstance(value, (int, float)) or type(value).__module__ == "numpy":
        number = float(value)
    else:
        match = _NUMBER.match(str(value))
        if not match:
            raise ParameterInputError(key, f"{parameter.name}: cannot read {value!r} as a number"
                                           + (f" in {units}" if units else "")
                                           + f"; allowed: {allowed_text(parameter)}")
        number, written = float(match[1]), match[2]
        if written:
            factor = _unit_factor(written, units)
            if factor is None:
                raise ParameterInputError(key, f"{parameter.name}: {value!r} is not in {units or 'plain numbers'}"
                                               f"; allowed: {allowed_text(parameter)}")
            number *= factor
    if not math.isfinite(number):
        raise ParameterInputError(key, f"{parameter.name} must be finite, got {value!r}; allowed: "
                                       f"{allowed_text(parameter)}")
    return number


def _unit_factor(written: str, units: str) -> float | None:
    if not units:
        return None
    for spelling in {units, units.lower(), units.capitalize()}:
        if written == spelling:
            return 1.0
        if written.endswith(spelling) and written[: -len(spelling)] in _PREFIXES:
            return _PREFIXES[written[: -len(spelling)]]
    return None


def convert_value(parameter: Any, key: str, value: Any) -> Any:
    """``value`` (text or typed) converted by the PyMeasure parameter's type and checked against its
    range; ParameterInputError naming ``key`` and the allowed values otherwise."""
    kind = type(parameter).__name__
    label = parameter.name
    allowed = allowed_text(parameter)
    if kind in ("FloatParameter", "IntegerParameter") or isinstance(getattr(parameter, "minimum", None), (int, float)):
        number = _number(parameter, key, value)
        if kind == "IntegerParameter":
            if not float(number).is_integer():
                raise ParameterInputError(key, f"{label} must be an integer, got {value!r}; allowed: {allowed}")
            number = int(number)
        lo, hi = getattr(parameter, "minimum", None), getattr(parameter, "maximum", None)
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            units = getattr(parameter, "units", None) or ""
            shown = f"{_fmt(number)} {units}".strip()
            raise ParameterInputError(key, f"{label} = {shown} is out of range; allowed: {allowed}")
        return number
    if kind == "BooleanParameter":
        if isinstance(value, bool) or type(value).__name__ == "bool_":
            return bool(value)
        text = str(value).strip().lower()
        if text in ("true", "yes", "on", "1"):
            return True
        if text in ("false", "no", "off", "0"):
            return False
        raise ParameterInputError(key, f"{label} must be true or false, got {value!r}")
    if kind == "ListParameter":
        choices = list(getattr(parameter, "choices", None) or [])
        for choice in choices:
            if value == choice or str(value).strip() == str(choice):
                return choice
        raise ParameterInputError(key, f"{label} = {value!r} is not allowed; allowed: {allowed}")
    if kind == "VectorParameter":
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("[") and text.endswith("]"):
                text = text[1:-1]
            items = [item for item in text.split(",") if item.strip()]
        else:
            try:
                items = list(value)
            except TypeError:
                raise ParameterInputError(key, f"{label} needs a list, got {value!r}; allowed: {allowed}") from None
        numbers = [_number(parameter, key, item) for item in items]
        length = getattr(parameter, "_length", len(numbers))
        if len(numbers) != length:
            raise ParameterInputError(key, f"{label} needs {length} numbers, got {len(numbers)}; allowed: {allowed}")
        return numbers
    # a plain Parameter: text (or what the TOML gave)
    try:
        return parameter.convert(value)
    except (ValueError, TypeError) as exc:
        raise ParameterInputError(key, f"{label} = {value!r} is not allowed ({exc})") from None


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "_", name.strip().lower())


def resolve_key(objects: Mapping[str, Any], name: str) -> str:
    """The attribute key of a parameter given by its key or its label ("stop_voltage_V" or "Stop voltage")."""
    if name in objects:
        return name
    wanted = _norm(name)
    for key, parameter in objects.items():
        if _norm(key) == wanted or _norm(parameter.name) == wanted:
            return key
    from tspcm_lab.cli import did_you_mean

    hint = did_you_mean(name, objects)
    raise ParameterInputError(name, f"no such parameter{hint} (parameters: {', '.join(objects)})")


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["key=value", ...]`` (from ``--set``) -> {key: value text}; the value may contain '='."""
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParameterInputError(item, "write --set NAME=VALUE, e.g. --set stop_voltage_V=2.5")
        out[key.strip()] = value.strip()
    return out


def apply_values(procedure: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """Convert and set ``values`` (keys or labels -> text or typed) on ``procedure``; returns
    {key: converted value}. ParameterInputError on the first bad one."""
    objects = procedure._parameters
    converted: dict[str, Any] = {}
    for name, value in values.items():
        key = resolve_key(objects, name)
        converted[key] = convert_value(objects[key], key, value)
    if converted:
        procedure.set_parameters(converted)
    return converted


def build_procedure(procedure_class: type, values: Mapping[str, Any] | None = None,
                    session: "BenchSession | None" = None) -> Any:
    """A procedure instance with ``values`` applied and the bench attached (nothing validated yet)."""
    procedure = procedure_class()
    applied = apply_values(procedure, values or {})
    if session is not None:
        procedure.bench = session.bench
        # a procedure with its own 'seed' parameter follows the run's seed unless told otherwise
        if "seed" in procedure._parameters and "seed" not in applied and session.seed is not None:
            try:
                apply_values(procedure, {"seed": session.seed})
            except ParameterInputError:
                pass
    return procedure


def validate(procedure: Any) -> None:
    """``procedure.validate()`` when it has one (TspcmProcedure; resolves automatic values), else
    PyMeasure's own checks. Raises a parameter error (``is_parameter_error``) for a refused value."""
    check = getattr(procedure, "validate", None)
    if callable(check):
        check()
        return
    for key, parameter in procedure._parameters.items():
        convert_value(parameter, key, getattr(procedure, key, None))


def parameter_error_text(exc: BaseException) -> str:
    """One line naming the parameter and what is allowed."""
    text = str(exc)
    name = getattr(exc, "parameter", "")
    return text if not name or name in text else f"{name}: {text}"


# =========================================================================================== sequences
def read_sequence(procedure_class: type, path: str | Path) -> list[dict[str, Any]]:
    """The parameter points of a PyMeasure sequencer file, e.g.::

        - "Amplitude", "[1.6, 1.8]"
        -- "Pulse width", "[1e-7, 1e-6]"

    Names are the parameters' labels (as in PyMeasure's GUI) or their keys; expressions are read by
    PyMeasure's own sequencer with its whitelist of safe functions (``linspace``, ``arange``, ``range``...).
    Returns one {key: value} per point, in order."""
    from pymeasure.experiment.sequencer import SequenceEvaluationError, SequenceHandler

    objects = procedure_class()._parameters
    names_map: dict[str, str] = {}
    for key, parameter in objects.items():
        names_map[key] = key
        names_map[parameter.name] = key
    try:
        with open(path, encoding="utf-8") as handle:
            handler = SequenceHandler(valid_inputs=tuple(names_map), file_obj=handle)
        points = handler.parameters_sequence(names_map=names_map)
    except FileNotFoundError:
        raise ParameterInputError("--sequence", f"no such file {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterInputError("--sequence", f"cannot read {path}: {exc}") from None
    except SequenceEvaluationError as exc:
        raise ParameterInputError("--sequence", f"{path}: {exc}") from None
    except KeyError as exc:  # a name the handler accepted but the map lacks (should not happen)
        raise ParameterInputError("--sequence", f"{path}: unknown parameter {exc}") from None
    out = []
    for point in points:
        merged: dict[str, Any] = {}
        for item in point:
            for key, value in item.items():
                merged[key] = value.item() if hasattr(value, "item") else value
        out.append(merged)
    if not out:
        raise ParameterInputError("--sequence", f"{path} has no sequence lines (format: - \"Name\", \"[1, 2]\")")
    return out


# =========================================================================================== bench
def _split_library(library: str) -> tuple[str, str]:
    spec, _, name = library.rpartition("@")
    return spec, name


def simulated_spec(existing: str, seed: int | None, options: str = "") -> str:
    """The simulated bench spec: the existing options, the seed, then ``options`` (later wins)."""
    parts = [p.strip() for p in existing.split(";") if p.strip() and p.strip() not in ("default", "unset")]
    if seed is not None:
        parts = [p for p in parts if not p.startswith("seed=")] + [f"seed={int(seed)}"]
    parts += [p.strip() for p in (options or "").split(";") if p.strip()]
    return ";".join(parts)


@dataclass
class BenchSession:
    """An open bench with what the run file needs to know about it."""

    bench: Any  #: tspcm_lab.bench.Bench
    simulated: bool
    spec: str = ""  #: the simulated bench spec ("seed=42;array=4x4"), "" for a real bench
    seed: int | None = None
    served: Any = None  #: the simulated bench's own process (tspcm_lab.served.ServedBench), if it has one

    @property
    def name(self) -> str:
        return self.bench.config.name

    @classmethod
    def open(cls, source: str | Path | None = "sim", *, seed: int | None = None, sim_options: str = "",
             require: Iterable[str] = (), fresh: bool = True, strict_options: bool = True,
             own_process: bool = False) -> "BenchSession":
        """Open a bench file or built-in name (None = "sim").

        A bench whose every role is reached through ``@tspcm`` is simulated: the seed and ``sim_options``
        (e.g. ``"array=4x4;fault=smu:drop=50"``) go into its spec (no seed: a random one, recorded), and
        with ``fresh`` the simulated bench is built anew, so a run is reproducible from its seed. For a
        real bench the seed is only recorded and ``sim_options`` are refused (ignored when not
        ``strict_options``: a campaign's array options do not stop it from running on a real bench).
        With ``own_process`` a simulated bench runs in a child process (``tspcm sim serve``, see
        :mod:`tspcm_lab.served`), reached over TCP, its virtual clock included: the device model never
        holds this process's interpreter lock (the GUI), and the bench is always fresh.
        Raises BenchConfigError / BenchOpenError / ValueError.
        """
        from tspcm_lab.bench import Bench, load_bench_config

        config = load_bench_config(source if source is not None else "sim")
        libraries = {role.visa_library for role in config.roles.values()}
        simulated = bool(libraries) and all(_split_library(lib)[1] == "tspcm" for lib in libraries)
        spec = ""
        if simulated:
            existing = {_split_library(lib)[0] for lib in libraries}
            if len(existing) > 1:
                raise ValueError(f"{config.path}: the roles use different simulated benches ({sorted(existing)}); "
                                 f"a run needs one bench")
            existing_spec = existing.pop()
            if seed is None:  # the bench file's own seed, else a fresh one (recorded: the run can be repeated)
                given = [p.split("=", 1)[1] for p in existing_spec.split(";") if p.strip().startswith("seed=")]
                seed = int(given[-1]) if given else new_seed()
            spec = simulated_spec(existing_spec, seed, sim_options)
            if own_process:
                return cls._open_served(config, spec, seed, sim_options, require)
            config = config.with_visa_library(f"{spec}@tspcm")
            import pyvisa_tspcm

            if fresh:
                pyvisa_tspcm.discard_bench(spec)
            try:  # build the bench now: a bad option is the user's input (exit 2), not an instrument's fault
                pyvisa_tspcm.get_host(spec)
            except ValueError as exc:
                given = f"simulated bench options {sim_options!r}" if sim_options else f"bench {config.path}"
                raise ValueError(f"{given}: {' '.join(str(exc).split())}") from None
        elif sim_options and strict_options:
            raise ValueError(f"simulated bench options ({sim_options!r}) need a simulated bench (--sim), "
                             f"not {config.path}")
        bench = Bench.open(config, require=tuple(require))
        return cls(bench=bench, simulated=simulated, spec=spec, seed=seed)

    @classmethod
    def _open_served(cls, config, spec: str, seed: int | None, sim_options: str,
                     require: Iterable[str]) -> "BenchSession":
        from tspcm_lab.bench import Bench
        from tspcm_lab.served import ServedBench

        try:
            served = ServedBench.start(spec)
        except ValueError as exc:
            given = f"simulated bench options {sim_options!r}" if sim_options else f"bench {config.path}"
            raise ValueError(f"{given}: {' '.join(str(exc).split())}") from None
        except RuntimeError as exc:
            from tspcm_lab.bench import BenchOpenError

            raise BenchOpenError({"bench": str(exc)}) from None
        try:
            bench = Bench.open(served.bench_config(config), require=tuple(require))
        except BaseException:
            served.stop()
            raise
        bench.clock = served.clock()
        return cls(bench=bench, simulated=True, spec=spec, seed=seed, served=served)

    def snapshot(self) -> dict:
        """The bench snapshot for the run file; a simulated bench adds its spec and its own state
        (wiring, device parameters with provenance, the model's state)."""
        snap = self.bench.snapshot()
        if self.simulated:
            simulation: dict[str, Any] = {"spec": self.spec, "visa_library": f"{self.spec}@tspcm"}
            if self.served is not None:
                simulation["visa_library"] = "@py"
                simulation["process"] = "own (tspcm sim serve)"
            try:
                if self.served is not None:
                    simulation.update(self.served.snapshot())
                else:
                    import pyvisa_tspcm

                    simulation.update(pyvisa_tspcm.get_bench(self.spec).snapshot())
            except Exception as exc:  # noqa: BLE001 - the run goes on; the snapshot says why it is short
                simulation["snapshot_error"] = f"{type(exc).__name__}: {exc}"
            snap["simulation"] = simulation
        return snap

    def all_off(self) -> list[str]:
        return self.bench.all_off()

    def close(self) -> list[str]:
        """Every output off, then the connections closed (and a simulated bench's own process ended);
        returns the problems met."""
        if self.bench.closed:
            return []
        problems = self.bench.all_off()
        self.bench.close()
        if self.served is not None:
            self.served.stop()
        return problems

    def __enter__(self) -> "BenchSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# =========================================================================================== output paths
def timestamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def unique_path(path: Path) -> Path:
    """``path``, or ``stem-2.h5``, ``stem-3.h5``... when it exists."""
    if not path.exists():
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return candidate
        n += 1


def run_paths(output: str | Path | None, name: str, count: int = 1, *, default_dir: str = "runs") -> list[Path]:
    """Run file paths for ``count`` runs of procedure ``name``.

    ``output`` ending in .h5/.hdf5 is a file (``stem_001.h5``... for several runs); anything else is a
    folder (created), where files are named ``<time>_<name>.h5`` (``..._001.h5`` for several). An explicit
    file that exists is refused (FileExistsError); generated names never overwrite."""
    target = Path(output) if output else Path(default_dir)
    safe = re.sub(r"[^\w.\-]+", "_", name) or "run"
    if target.suffix.lower() in RUN_SUFFIXES:
        if count == 1:
            if target.exists():
                raise FileExistsError(f"{target} already exists; choose another --output")
            return [target]
        paths = [target.with_name(f"{target.stem}_{i:03d}{target.suffix}") for i in range(1, count + 1)]
        existing = [str(p) for p in paths if p.exists()]
        if existing:
            raise FileExistsError(f"{existing[0]} already exists; choose another --output")
        return paths
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} exists and is not a folder; give a folder or a new .h5 file name")
    stem = f"{timestamp()}_{safe}"
    if count == 1:
        return [unique_path(target / f"{stem}.h5")]
    return [unique_path(target / f"{stem}_{i:03d}.h5") for i in range(1, count + 1)]


def new_seed() -> int:
    """A random seed for a simulated run that was given none (recorded, so the run can be repeated)."""
    return random.SystemRandom().randrange(1, 2**31 - 1)


# =========================================================================================== running
@dataclass
class RunOutcome:
    """How one run ended."""

    path: Path
    status: str  #: completed | aborted | failed | interrupted (from the run file)
    n_rows: int = 0
    message: str = ""  #: one line: why it failed or was aborted
    off_problems: list[str] = field(default_factory=list)  #: outputs not confirmed off
    interrupted: bool = False  #: the user asked to stop (Ctrl-C / SIGTERM)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.status == "completed" and not self.off_problems else EXIT_FAILED


class Progress:
    """What :func:`execute` reports to; the CLI draws a bar or prints lines. All no-ops here."""

    def start(self, outcome_path: Path, procedure: Any) -> None: ...

    def update(self, percent: float) -> None: ...

    def stopping(self, count: int) -> None: ...

    def finish(self, outcome: RunOutcome) -> None: ...


def _worker_class():
    from pymeasure.experiment import Procedure
    from tspcm_lab.store.pymeasure_glue import HDF5Worker

    class RunnerWorker(HDF5Worker):
        """HDF5Worker for headless runs: ``is_last`` answers (PyMeasure's raises without a manager), the
        exception that ended a run is kept for the message, and nothing escapes the thread."""

        def __init__(self, results, *, last: bool = True):
            super().__init__(results)
            # joined in every normal ending; daemon only so that a run given up on (third Ctrl-C) cannot
            # keep the process from exiting (the file then reads "interrupted")
            self.daemon = True
            self.last = last
            self.exception: BaseException | None = None

        def is_last(self) -> bool:
            return self.last

        def handle_error(self):
            self.exception = sys.exc_info()[1]
            super().handle_error()

        def run(self):
            try:
                super().run()
            except BaseException as exc:  # noqa: BLE001 - a raising shutdown(); the file is closed failed
                self.exception = self.exception or exc
                self.results.procedure.status = Procedure.FAILED
                writer = self.results.writer
                if writer is not None and not writer._closed:
                    writer.close("failed", error=describe_failure(exc))
                self.monitor_queue.put(None)

    return RunnerWorker


def describe_failure(exc: BaseException | None) -> str:
    """One line for an exception that ended a run, naming the instrument role it came from when the
    traceback passes through a role object (e.g. "smu (keithley2450 at GPIB0::18::INSTR): VisaIOError: ...")."""
    if exc is None:
        return "the procedure failed (see the run file's /log)"
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        role = getattr(owner, "role", None) if owner is not None else None
        if isinstance(role, str) and isinstance(getattr(owner, "resource", None), str):
            driver = getattr(owner, "driver_name", "") or ""
            where = f"{role} ({driver + ' at ' if driver else ''}{owner.resource}): "
        tb = tb.tb_next
    from tspcm_lab.store.errors import RunFileError

    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, RunFileError):  # the store's errors say what happened in words already
        return text
    return f"{where}{type(exc).__name__}: {text}"


class _StopSignals:
    """While running: SIGTERM raises KeyboardInterrupt in the main thread, like Ctrl-C."""

    def __enter__(self):
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._raise)
        return self

    @staticmethod
    def _raise(signum, frame):
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def execute(procedure: Any, session: BenchSession, path: str | Path, *, seed: int | None = None,
            title: str = "", last: bool = True, progress: Progress | None = None,
            stop_event: threading.Event | None = None) -> RunOutcome:
    """Run a validated procedure on an open bench into the run file ``path``; returns its outcome.

    Ctrl-C / SIGTERM (or ``stop_event``) ask the procedure to stop at its next ``should_stop()``; each
    further Ctrl-C repeats the request, the third gives up waiting: every output is turned off from here
    and the file is left as it is (it reads ``interrupted``). Never raises for what happens inside the run;
    raises FileExistsError, before anything is applied, when ``path`` exists (a run never writes into, or
    is mistaken for, an earlier run's file).
    """
    from tspcm_lab.store import open_run
    from tspcm_lab.store.pymeasure_glue import HDF5Results

    progress = progress or Progress()
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists: a run writes a new file (runner.unique_path gives one)")
    procedure.bench = session.bench
    results = HDF5Results(procedure, path, bench=session.snapshot(), seed=seed, title=title)
    worker = _worker_class()(results, last=last)
    outcome = RunOutcome(path=path, status="running")
    started = time.monotonic()
    progress.start(path, procedure)
    stops = 0
    abandoned = False
    with _StopSignals():
        worker.start()
        while worker.is_alive():
            try:
                if stop_event is not None and stop_event.is_set() and not worker.should_stop():
                    outcome.interrupted = True
                    worker.stop()
                try:
                    item = worker.monitor_queue.get(timeout=0.1)
                except queue.Empty:
                    continue
                if item is None:
                    break
                topic, value = item
                if topic == "progress":
                    progress.update(float(value))
            except KeyboardInterrupt:
                stops += 1
                outcome.interrupted = True
                worker.stop()
                progress.stopping(stops)
                if stops >= 3:
                    abandoned = True
                    break
        if not abandoned:
            while worker.is_alive():  # the worker's shutdown (outputs off, file closed) is finishing
                try:
                    threading.Thread.join(worker, 0.2)
                except KeyboardInterrupt:
                    stops += 1
                    progress.stopping(stops)
                    if stops >= 3:
                        abandoned = True
                        break
    outcome.seconds = time.monotonic() - started
    # the one shutdown path once more from here: the procedure's shutdown() should have done it, but a
    # plugin's may not, and an abandoned worker certainly did not
    outcome.off_problems = session.all_off()
    if abandoned:
        outcome.status = "interrupted"
        outcome.message = "gave up waiting for the procedure to stop; outputs turned off from the runner"
        progress.finish(outcome)
        return outcome
    try:
        run = open_run(path)
        outcome.status, outcome.n_rows = run.status, run.n_rows
    except Exception as exc:  # noqa: BLE001 - e.g. the file could not be created at all
        outcome.status = "failed"
        outcome.message = (describe_failure(worker.exception) if worker.exception is not None
                           else f"run file {path} unreadable: {type(exc).__name__}: {exc}")
    if outcome.status == "running":  # the worker is done but could not end the file (a failed write)
        outcome.status = "failed"
    if outcome.status == "failed" and not outcome.message:
        outcome.message = describe_failure(worker.exception)
    elif outcome.status == "aborted":
        outcome.message = "stopped on request; rows so far kept" if outcome.interrupted else "stopped by the procedure"
    progress.finish(outcome)
    return outcome
