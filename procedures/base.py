"""The base of every TS-PCM procedure: typed parameters, validation against the bench, safe shutdown.

A procedure is a PyMeasure ``Procedure`` written against instrument *roles* (``bench.smu``,
``bench.pulse``, ``bench.scope``, ``bench.matrix``, ``bench.prober``), never against a driver class.
This module fixes the contract between a procedure, the headless runner / GUI that runs it, and the
other procedure authors. The API below is stable; extend it, don't change it.

Class attributes a procedure declares::

    class IVSweep(TspcmProcedure):
        name = "iv-sweep"                         # CLI name (tspcm run iv-sweep) and run-file `procedure`
        REQUIRED_ROLES = ("smu",)                 # roles the bench must have (checked by validate())
        KEY_PARAMETERS = ("stop_voltage_V", "cycles")   # shown first by `tspcm runs`
        READ_METHOD = None                        # how the conductance is read (text), or None
        BENCH_LIMITS = {                          # parameter -> (role, "voltage" | "current")
            "stop_voltage_V": ("smu", "voltage"), #   |value| must be within that role's bench limit
            "compliance_A": ("smu", "current"),
        }
        DATA_COLUMNS = ["Cycle", "Voltage (V)", "Current (A)"]
        stop_voltage_V = FloatParameter("Stop voltage", units="V", minimum=0.1, maximum=5, default=2.5)
        ...
        def check_relations(self):                # optional: rules between parameters
            if self.start_voltage_V >= self.stop_voltage_V:
                raise ParameterError("start_voltage_V", "must be below stop_voltage_V ...")
        def execute(self):
            for k in range(self.cycles):
                if self.should_stop():            # every loop: a clean abort leaves the rows so far
                    return
                ...
                self.emit("results", {...})
                self.report_progress(k + 1, self.cycles)

The runner's side (``tspcm run``, campaigns, the GUI, tests)::

    procedure = IVSweep(); procedure.set_parameters({...})
    procedure.bench = bench                     # an open bench (instruments.benchlike.BenchLike)
    procedure.validate()                        # ParameterError -> exit code 2; nothing was enabled
    results = HDF5Results(procedure, path, bench=bench.snapshot(), seed=...)
    HDF5Worker(results).start() ...             # startup(), execute(), shutdown() as in PyMeasure
    procedure.shutdown_problems                 # [] when every output was confirmed off

Conventions:

- Parameter keys carry SI units with the symbol's case, so the run file is unambiguous:
  ``_V`` volts, ``_A`` amperes, ``_s`` seconds, ``_S`` siemens, ``_ohm``, ``_Hz``
  (``width_s``, ``compliance_A``, ``target_conductances_S``). The analysis registry reads some keys by
  name (docs/analysis.md): keep those exactly.
- ``validate()`` checks every parameter against its declared range, then ``check_relations()``, then
  (when a bench is attached) that the bench has ``REQUIRED_ROLES`` and every ``BENCH_LIMITS`` entry is
  within that role's limits in the bench file, then ``check_bench(bench)``. It may *resolve* automatic
  values (e.g. ``series_resistance_ohm = -1`` -> taken from the bench file), so the runner calls it
  before the run file is created: the file then records the value actually used. It never talks to an
  instrument.
- ``shutdown()`` always runs (finish, abort, exception, lost connection) and turns every output off
  through ``bench.all_off()``; problems it meets are logged as errors (they reach the run file's /log)
  and kept in ``shutdown_problems``. It never raises (a raising shutdown would leave the PyMeasure
  worker's recorder running).
- Every instrument's error queue is polled during the run (``report_progress`` does it, at most every
  ``ERROR_POLL_INTERVAL_S``) and once more in ``shutdown()``: each error goes to the run file's /log;
  an error on which the instrument would not go on (`is_fatal_error`: command, execution and device
  errors; query errors -4xx are only logged) stops the run as failed, naming the instrument.
- ``READ_METHOD`` and the bench's series resistances are recorded in the run file as PyMeasure
  metadata (``/metadata/read_method``).
"""

from __future__ import annotations

import copy
import logging
import math
import re
import time
from collections.abc import Mapping
from typing import ClassVar

from pymeasure.experiment import Metadata, Procedure

from instruments.benchlike import BenchLike
from instruments.safety import InstrumentError
from procedures.library.errors import ParameterError
from procedures.library.parameters import describe_range, with_units

log = logging.getLogger(__name__)


def _teach_pint_ohm() -> None:
    """The analysis reads resistance columns as "Resistance (Ohm)" (docs/analysis.md); PyMeasure
    checks every column's unit with Pint, which spells it "ohm". Define "Ohm" as an alias in
    PyMeasure's registry (once) so that such columns pass PyMeasure's Procedure and Results.

    Pint reads its unit definitions the first time its registry is used (0.2-0.4 s, a third of a
    short ``tspcm run``), and most runs never need it (see ``TspcmProcedure.parse_columns``). So when
    the registry is still unread the alias is added by the registry itself, right after it reads its
    definitions, whoever uses it first; an already read registry gets it now."""
    import pint
    from pymeasure.units import ureg

    def teach(registry) -> None:
        try:
            registry.Quantity("Ohm")
        except Exception:  # noqa: BLE001 - pint.UndefinedUnitError
            registry.define("Ohm = ohm")

    registry = ureg.get() if isinstance(ureg, pint.ApplicationRegistry) else ureg
    lazy = getattr(pint.registry, "LazyRegistry", None)
    if lazy is not None and type(registry) is lazy and hasattr(lazy, "_LazyRegistry__init"):

        class OhmLazyRegistry(lazy):
            def _LazyRegistry__init(self):
                lazy._LazyRegistry__init(self)  # now a UnitRegistry with pint's definitions
                teach(self)

        registry.__class__ = OhmLazyRegistry
        return
    teach(ureg)


_teach_pint_ohm()

#: unit texts of data columns that PyMeasure's Pint registry is known to accept (with the "Ohm" alias
#: above; tests/procedures/test_common.py checks each against Pint): a procedure whose columns use only
#: these is not made to read Pint's definitions just to check them again
KNOWN_COLUMN_UNITS = frozenset({"V", "A", "s", "S", "Ohm", "Hz", "K", "W", "J", "F", "C"})
_COLUMN_UNITS = re.compile(r"\((?P<units>[\w/\(\)\*\t]+)\)")  # PyMeasure's Procedure.parse_columns


class _ColumnUnits(Mapping):
    """``Procedure.parse_columns``'s answer (column -> Pint unit), computed by Pint when first read."""

    def __init__(self, columns):
        self._columns = list(columns)
        self._units = None

    def _get(self) -> dict:
        if self._units is None:
            self._units = Procedure.parse_columns(self._columns)
        return self._units

    def __getitem__(self, key):
        return self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self):
        return len(self._get())


__all__ = ["TspcmProcedure", "ParameterError", "describe_range", "duration_text"]

#: wall time between two polls of every instrument's error queue during a run (s)
ERROR_POLL_INTERVAL_S = 1.0


def is_fatal_error(code: int) -> bool:
    """True for an error on which an instrument does not carry out what was asked (SCPI command -1xx,
    execution -2xx and device -3xx errors, and the models' own positive codes): the data of the run
    from then on cannot be trusted. Query errors (-4xx: a reply lost or asked for twice) are not."""
    return code != 0 and not -499 <= code <= -400


def duration_text(seconds: float) -> str:
    """ "850 ms", "42 s", "3.5 min", "2.8 h", "4.2 days" (for estimates)."""
    s = float(seconds)
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    if s < 120:
        return f"{s:.3g} s"
    if s < 7200:
        return f"{s / 60:.3g} min"
    if s < 172800:
        return f"{s / 3600:.3g} h"
    return f"{s / 86400:.3g} days"


class TspcmProcedure(Procedure):
    """Base class of the TS-PCM procedures (see the module docstring for the contract)."""

    #: CLI name, e.g. "iv-sweep"; stored as the run file's ``procedure`` attribute
    name: ClassVar[str] = ""
    #: roles the bench must provide, e.g. ("smu", "pulse")
    REQUIRED_ROLES: ClassVar[tuple[str, ...]] = ()
    #: parameter keys shown first by ``tspcm runs``
    KEY_PARAMETERS: ClassVar[tuple[str, ...]] = ()
    #: how the procedure reads the PCM conductance (recorded in the run file); None if it does not
    READ_METHOD: ClassVar[str | None] = None
    #: parameter -> (role, "voltage" | "current"): |value| (each element, for lists) must not exceed
    #: that role's limit in the bench file
    BENCH_LIMITS: ClassVar[dict[str, tuple[str, str]]] = {}
    DATA_COLUMNS: ClassVar[list[str]] = []

    #: recorded in /metadata at the start of the run
    read_method = Metadata("Read method", fget="describe_read_method")

    def __init__(self, **kwargs):
        #: the open bench; assigned by the runner before validate()/startup()
        self.bench: BenchLike | None = kwargs.pop("bench", None)
        #: what shutdown() could not confirm off ([] when all is well)
        self.shutdown_problems: list[str] = []
        self._next_error_poll = 0.0
        super().__init__(**kwargs)

    @staticmethod
    def parse_columns(columns):
        """PyMeasure's check of the data columns' units (``Procedure.__init__`` calls it on every
        instance), without reading Pint's definitions when every unit is one of KNOWN_COLUMN_UNITS:
        then the units are parsed by Pint only if the answer is read. Any other unit goes through Pint
        at once, as in PyMeasure (ValueError naming the column if Pint does not know it)."""
        units = [m["units"] for m in map(_COLUMN_UNITS.search, columns) if m]
        if all(u in KNOWN_COLUMN_UNITS for u in units):
            return _ColumnUnits(columns)
        return Procedure.parse_columns(columns)

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Check every parameter; raise :class:`ParameterError` on the first bad one.

        Order: each parameter against its declared type and range; :meth:`check_relations`; then,
        if ``self.bench`` is set, the required roles, ``BENCH_LIMITS`` and :meth:`check_bench`.
        Sends nothing to any instrument.
        """
        self.check_ranges()
        self.check_relations()
        if self.bench is not None:
            self.check_roles(self.bench)
            self.check_bench_limits(self.bench)
            self.check_bench(self.bench)

    def check_ranges(self) -> None:
        """Every declared parameter is set and within its declared range (PyMeasure's own checks,
        reported with the parameter name and the allowed values)."""
        for key, declared in self._parameters.items():
            value = getattr(self, key, None)
            if value is None:
                raise ParameterError(key, f"{declared.name} is not set; allowed: {describe_range(declared)}")
            probe = copy.deepcopy(declared)
            try:
                probe.value = value
                checked = probe.value
            except (ValueError, TypeError) as exc:
                raise ParameterError(
                    key, f"{declared.name} = {value!r} is not allowed ({exc}); allowed: {describe_range(declared)}"
                ) from None
            if isinstance(checked, float) and not math.isfinite(checked):
                raise ParameterError(key, f"{declared.name} must be finite; allowed: {describe_range(declared)}")
            setattr(self, key, checked)

    def check_relations(self) -> None:
        """Override: rules between parameters (raise ParameterError naming one of them)."""

    def check_roles(self, bench: BenchLike) -> None:
        missing = [role for role in self.REQUIRED_ROLES if bench.roles.get(role) is None]
        if missing:
            raise ParameterError(
                "bench",
                f"{self.name or type(self).__name__} needs the role(s) {', '.join(missing)}, "
                f"which {bench.path} does not configure",
            )

    def check_bench_limits(self, bench: BenchLike) -> None:
        for key, (role, kind) in self.BENCH_LIMITS.items():
            value = getattr(self, key, None)
            if value is None:
                continue
            values = list(value) if isinstance(value, (list, tuple)) else [value]
            limit, where = bench.limit(role, kind)
            if limit is None:
                continue
            unit = "V" if kind == "voltage" else "A"
            worst = max((abs(float(v)) for v in values), default=0.0)
            if worst > limit:
                declared = self._parameters.get(key)
                label = declared.name if declared is not None else key
                raise ParameterError(
                    key,
                    f"{label} = {with_units(worst, unit)} exceeds the bench limit {with_units(limit, unit)} "
                    f"({where}); allowed: up to {with_units(limit, unit)}",
                )

    def check_bench(self, bench: BenchLike) -> None:
        """Override: further checks against the bench (e.g. the array size of the switch matrix),
        or resolution of automatic parameter values from the bench file."""

    # ------------------------------------------------------------------ run-file records
    def describe_read_method(self) -> str:
        """Text stored as /metadata/read_method: READ_METHOD with the values used."""
        return self.READ_METHOD or "none (this procedure does not read the conductance)"

    # ------------------------------------------------------------------ life cycle
    def startup(self) -> None:
        """Default: nothing. The runner attaches the bench before; a procedure that needs one and
        has none fails here with a clear message."""
        if self.REQUIRED_ROLES and self.bench is None:
            raise RuntimeError(f"{self.name}: no bench attached (set procedure.bench before running)")

    def shutdown(self) -> None:
        """The instruments' last errors into the run's log (a fatal one fails a run that was going to
        complete), then every output off through the bench's one shutdown path; never raises."""
        if self.bench is None:
            return
        try:
            self.check_instruments(force=True)
        except InstrumentError as exc:
            if self.status == Procedure.RUNNING:
                self.status = Procedure.FAILED
                self.emit("error", str(exc))
        except Exception as exc:  # noqa: BLE001 - shutdown must go on to all_off()
            log.warning("shutdown: polling the error queues failed: %s", exc)
        try:
            problems = list(self.bench.all_off())
        except Exception as exc:  # noqa: BLE001 - all_off() should not raise; be sure anyway
            problems = [f"all_off() raised {type(exc).__name__}: {exc}"]
        self.shutdown_problems = problems
        for problem in problems:
            log.error("shutdown: output may still be on: %s", problem)

    # ------------------------------------------------------------------ helpers for execute()
    def report_progress(self, done: float, total: float) -> None:
        """emit('progress', percent) for ``done`` of ``total`` steps, and poll the instruments' error
        queues (`check_instruments`)."""
        if total > 0:
            self.emit("progress", min(100.0, 100.0 * float(done) / float(total)))
        self.check_instruments()

    def check_instruments(self, force: bool = False) -> None:
        """Read every instrument's error queue (at most every ``ERROR_POLL_INTERVAL_S`` unless
        ``force``): each error is logged into the run's /log; raise InstrumentError for a fatal one
        (`is_fatal_error`), naming the instrument."""
        now = time.monotonic()
        if self.bench is None or (not force and now < self._next_error_poll):
            return
        self._next_error_poll = now + ERROR_POLL_INTERVAL_S
        fatal = []
        for role, code, message in self.bench.poll_errors():
            resource = getattr(self.bench.roles.get(role), "resource", "")
            text = f'{role} ({resource}) reported error {code}, "{message}"'
            if is_fatal_error(code):
                log.error("%s", text)
                fatal.append(text)
            else:
                log.warning("%s", text)
        if fatal:
            raise InstrumentError(f"{'; '.join(fatal)}: the run stops, the instrument did not do what was asked")

    # ------------------------------------------------------------------ estimates (the window shows them)
    def get_estimates(self):
        """PyMeasure's estimates: :meth:`estimate` as [(label, text)], updated as parameters are typed."""
        try:
            return [(str(k), str(v)) for k, v in self.estimate()]
        except Exception as exc:  # noqa: BLE001 - an estimate must never stop anything
            return [("Estimate", f"not available ({type(exc).__name__}: {exc})")]

    def estimate(self) -> list[tuple[str, str]]:
        """Override: what a run with these parameters will do, e.g. ``[("Points", "5 x 251")]``, and
        the time it must take at least (waits, integration times; virtual on the simulated bench)."""
        return []

    def report_phase(self, start: float, end: float, fraction: float) -> None:
        """emit('progress') at ``fraction`` (0..1) of a phase spanning ``start``..``end`` (fractions of
        the whole run), for steps not known in advance (a calibration, training to a criterion).
        Never goes back: progress only rises within a run."""
        fraction = min(1.0, max(0.0, float(fraction))) if math.isfinite(fraction) else 0.0
        percent = 100.0 * (start + (end - start) * fraction)
        self._progress_reached = max(getattr(self, "_progress_reached", 0.0), percent)
        self.emit("progress", self._progress_reached)

    @classmethod
    def parameter_table(cls) -> list[dict]:
        """Every parameter as plain data (key, label, type, units, default, minimum, maximum,
        choices), in declaration order; for ``tspcm procedures`` and docs."""
        rows = []
        instance_params = cls()._parameters  # deep copies made by PyMeasure
        declared = [name for klass in reversed(cls.__mro__) for name in vars(klass)]
        rank = {name: i for i, name in enumerate(dict.fromkeys(declared))}
        for key, p in sorted(instance_params.items(), key=lambda item: rank.get(item[0], len(rank))):
            rows.append(
                {
                    "key": key,
                    "label": p.name,
                    "type": type(p).__name__,
                    "units": getattr(p, "units", None) or "",
                    "default": p.default if hasattr(p, "default") else p.value,
                    "minimum": getattr(p, "minimum", None),
                    "maximum": getattr(p, "maximum", None),
                    "choices": list(getattr(p, "choices", None) or []) or None,
                    "allowed": describe_range(p),
                }
            )
        return rows
